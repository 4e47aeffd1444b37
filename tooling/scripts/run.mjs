#!/usr/bin/env node
// `npm test`, `npm run demo` and `npm run conformance[:runtime]` on a fresh machine with only
// Node >= 20 and npm: install every dependency (Bun and Deno included, from the npm registry),
// build, then run.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const install = ['install', '--frozen-lockfile'];
const build = ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only', '--env-mode=loose'];

const plans = {
  test: () => [
    { pnpm: install },
    { pnpm: ['exec', 'biome', 'ci', '--colors=off', '.'] },
    {
      pnpm: [
        'exec',
        'turbo',
        'run',
        'build',
        'typecheck',
        'test',
        '--output-logs=new-only',
        '--env-mode=loose',
      ],
    },
    { node: [join(root, 'tooling/scripts/check-root-manifest.mjs')] },
    { node: [join(root, 'tooling/scripts/check-changesets.mjs')] },
  ],
  demo: () => [
    { pnpm: install },
    { pnpm: build },
    { pnpm: ['--filter', '@closenotify/matrix', '--fail-if-no-match', 'run', 'start'] },
  ],
  bench: (...args) => [
    { pnpm: install },
    { pnpm: build },
    { node: [join(root, 'apps/bench/dist/cli.js'), ...args] },
  ],
  conformance: (runtime = 'all') => [
    { pnpm: install },
    { pnpm: build },
    { node: [join(root, 'packages/conformance/dist/cli.js'), '--runtime', runtime] },
  ],
};

const [command, ...rest] = process.argv.slice(2);
const plan = plans[command];
if (!plan) {
  console.error(`usage: run.mjs ${Object.keys(plans).join('|')} [runtime]`);
  process.exit(2);
}
for (const step of plan(...rest)) {
  const status = step.pnpm
    ? pnpm(step.pnpm)
    : (spawnSync(process.execPath, step.node, { cwd: root, stdio: 'inherit' }).status ?? 1);
  if (status !== 0) {
    console.error(`\n${command}: \`${(step.pnpm ?? step.node).join(' ')}\` failed with exit code ${status}`);
    process.exit(status);
  }
}
