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
  },
  dts: { entry: { node: 'src/node.ts' } },
  // Deno resolves Node's built-ins by their node: names only, and the bin runs there too.
  removeNodeProtocol: false,
});
