import { testConfig } from '@closenotify/vitest-config';

// The quick bench starts a few dozen processes on three runtimes: it needs more than the default limit.
export default testConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
