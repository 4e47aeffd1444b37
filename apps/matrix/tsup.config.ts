import { libraryConfig } from '@closenotify/tsup-config';

export default libraryConfig({ entry: { cli: 'src/cli.ts' }, dts: false });
