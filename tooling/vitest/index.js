// One vitest preset: Node environment, no retries (flaky is failing), and a hard per-test limit
// so a hung socket fails the run instead of stalling it.
import { defineConfig } from 'vitest/config';

/** @param {import('vitest/config').ViteUserConfig['test']} [test] */
export function testConfig(test = {}) {
  return defineConfig({
    test: {
      environment: 'node',
      include: ['test/**/*.test.ts'],
      retry: 0,
      testTimeout: 20_000,
      hookTimeout: 20_000,
      restoreMocks: true,
      ...test,
    },
  });
}
