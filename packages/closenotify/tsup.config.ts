import { libraryConfig } from '@closenotify/tsup-config';

// One entry per export condition, for `closenotify` and `closenotify/sockets`; the runtime-neutral
// Node-stream bridge; and the `closenotify` bin (cli). Every adapter exports the same API, so one
// declaration file per subpath (node's) types them all: package.json's `types` points at it.
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
    // The Node-stream bridge: node:stream only, so one build serves every runtime.
    'node-stream': 'src/node-stream.ts',
    cli: 'src/cli.ts',
  },
  dts: {
    entry: {
      node: 'src/node.ts',
      'sockets-node': 'src/sockets-node.ts',
      'node-stream': 'src/node-stream.ts',
    },
  },
  // Deno resolves Node's built-ins by their node: names only (node:stream, and the bin's imports).
  removeNodeProtocol: false,
});
