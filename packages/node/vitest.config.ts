import { testConfig } from '@closenotify/vitest-config';

// connect.ca-replaces-default-trust needs the extra root in the worker's environment from its start.
export default testConfig({ globalSetup: ['test/default-trust.setup.ts'] });
