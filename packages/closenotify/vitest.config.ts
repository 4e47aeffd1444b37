import { testConfig } from '@closenotify/vitest-config';

// test/bun and test/deno hold the same example's tests for `bun test` and `deno test`.
export default testConfig({ include: ['test/node/**/*.test.ts'] });
