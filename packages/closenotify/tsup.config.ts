import { libraryConfig } from '@closenotify/tsup-config';

// One entry per export condition. Every adapter exports the same API, so one declaration file
// (node's) types them all: package.json's `types` points at it.
export default libraryConfig({
  entry: {
    node: 'src/node.ts',
    bun: 'src/bun.ts',
    deno: 'src/deno.ts',
    unsupported: 'src/unsupported.ts',
  },
  dts: { entry: { node: 'src/node.ts' } },
});
