import { libraryConfig } from '@closenotify/tsup-config';

// Separate configs, so each entry's declarations stand alone: a shared declaration chunk would
// import a file Deno's type checker cannot find. They run in parallel, so neither cleans dist/.
export default [libraryConfig({ clean: false }), libraryConfig({ entry: ['src/public.ts'], clean: false })];
