// The runner inside each real runtime: an uncaught exception or an unhandled rejection during a case
// fails that case (with what escaped in its message) and leaves the next case alone. Runs the built
// runner (`dist/`), as the runtimes' conformance entries do.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const probe = fileURLToPath(new URL('./fixtures/escape-probe.mjs', import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../../node_modules/.bin/${name}`, import.meta.url));
const RUNTIMES: Record<string, string[]> = {
  node: [process.execPath, probe],
  bun: [bin('bun'), 'run', probe],
  deno: [bin('deno'), 'run', probe],
};

describe('errors that escape a case', () => {
  for (const [runtime, [command, ...args]] of Object.entries(RUNTIMES)) {
    it(`fail that case, and only that case, on ${runtime}`, () => {
      const output = execFileSync(command!, args, { encoding: 'utf8' });
      const verdicts = output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(verdicts).toEqual([
        { id: 'probe.quiet', status: 'pass', message: '' },
        {
          id: 'probe.uncaught-exception',
          status: 'fail',
          message: 'uncaught exception: thrown from a timer',
        },
        { id: 'probe.unhandled-rejection', status: 'fail', message: 'unhandled rejection: never handled' },
      ]);
    });
  }
});
