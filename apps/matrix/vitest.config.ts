import { testConfig } from '@closenotify/vitest-config';

export default testConfig();
