import { libraryConfig } from '@closenotify/tsup-config';

// The declaration build only emits: `deno check` type-checks the source against Deno's own types,
// which tsc does not have (tsconfig.build.json: noCheck).
export default libraryConfig({ tsconfig: 'tsconfig.build.json' });
