import { libraryConfig } from '@closenotify/tsup-config';

// The daemon and the CLI run on plain Node: the test PKI (TypeScript source) is bundled in, and
// node-forge's CommonJS require() of Node built-ins needs a real require inside the ESM bundle.
const nodeOnly = {
  noExternal: ['@closenotify/test-pki'],
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
};

// tsup runs these configs in parallel: none may clean dist/, or it could delete another's output.
export default [
  libraryConfig({ clean: false }),
  libraryConfig({ entry: { node: 'peer/node.ts' }, clean: false, tsconfig: 'peer/tsconfig.json' }),
  libraryConfig({
    entry: { 'peer/daemon': 'peer/daemon.ts', cli: 'peer/cli.ts' },
    dts: false,
    clean: false,
    ...nodeOnly,
  }),
];
