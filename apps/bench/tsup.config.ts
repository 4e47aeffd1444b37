import { libraryConfig } from '@closenotify/tsup-config';

// The orchestrator runs on plain Node: the test PKI (TypeScript source) is bundled in, and
// node-forge's CommonJS require() of Node built-ins needs a real require inside the ESM bundle.
export default libraryConfig({
  entry: { cli: 'src/cli.ts' },
  dts: false,
  noExternal: ['@closenotify/test-pki'],
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
});
