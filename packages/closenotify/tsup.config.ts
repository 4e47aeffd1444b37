import { libraryConfig } from '@closenotify/tsup-config';

// One entry per export condition, and the `closenotify` bin (cli). Every adapter exports the same API, so one declaration file
// (node's) types them all: package.json's `types` points at it.
export default libraryConfig({
  entry: {
    node: 'src/node.ts',
    bun: 'src/bun.ts',
    deno: 'src/deno.ts',
    unsupported: 'src/unsupported.ts',
    cli: 'src/cli.ts',
    // The Node-stream bridge: runtime-neutral (node:stream only), so one build serves every runtime.
    'node-stream': 'src/node-stream.ts',
  },
  dts: { entry: { node: 'src/node.ts', 'node-stream': 'src/node-stream.ts' } },
  // Deno resolves Node's built-ins by their node: names only (node:stream, and the bin's imports).
  removeNodeProtocol: false,
});
