import { libraryConfig } from '@closenotify/tsup-config';

// One entry per export condition, for `closenotify` and `closenotify/sockets`. Every adapter exports
// the same API, so one declaration file per subpath (node's) types them all: package.json's `types`
// points at it.
export default libraryConfig({
  entry: {
    node: 'src/node.ts',
    bun: 'src/bun.ts',
    deno: 'src/deno.ts',
    unsupported: 'src/unsupported.ts',
    'sockets-node': 'src/sockets-node.ts',
    'sockets-bun': 'src/sockets-bun.ts',
    'sockets-deno': 'src/sockets-deno.ts',
    'sockets-unsupported': 'src/sockets-unsupported.ts',
  },
  dts: { entry: { node: 'src/node.ts', 'sockets-node': 'src/sockets-node.ts' } },
});
