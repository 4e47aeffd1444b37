// One vitest preset: Node environment, no retries (flaky is failing), and a hard per-test limit
// so a hung socket fails the run instead of stalling it. The limit bounds a hang, it is no speed
// target: the slowest test (generating a test PKI: about 6 s of CPU alone, 27 s on two cores busy
// with the rest of `npm test`) stays far below it.
import { defineConfig } from 'vitest/config';

/** @param {import('vitest/config').ViteUserConfig['test']} [test] */
export function testConfig(test = {}) {
  return defineConfig({
    test: {
      environment: 'node',
      include: ['test/**/*.test.ts'],
      retry: 0,
      testTimeout: 120_000,
      hookTimeout: 120_000,
      restoreMocks: true,
      ...test,
    },
  });
}
