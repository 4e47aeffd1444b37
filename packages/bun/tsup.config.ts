import { libraryConfig } from '@closenotify/tsup-config';

export default libraryConfig();
