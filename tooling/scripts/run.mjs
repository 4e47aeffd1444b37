#!/usr/bin/env node
// `npm test` and `npm run demo` on a fresh machine with only Node >= 20 and npm: install every
// dependency (Bun and Deno included, from the npm registry), build, then run.
import { pnpm } from './pnpm.mjs';

const steps = {
  test: [
    ['install', '--frozen-lockfile'],
    ['exec', 'biome', 'ci', '--colors=off', '.'],
    ['exec', 'turbo', 'run', 'build', 'typecheck', 'test', '--output-logs=new-only', '--env-mode=loose'],
  ],
  demo: [
    ['install', '--frozen-lockfile'],
    ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only', '--env-mode=loose'],
    ['--filter', '@closenotify/matrix', '--fail-if-no-match', 'run', 'start'],
  ],
};

const command = process.argv[2];
const plan = steps[command];
if (!plan) {
  console.error(`usage: run.mjs ${Object.keys(steps).join('|')}`);
  process.exit(2);
}
for (const args of plan) {
  const status = pnpm(args);
  if (status !== 0) {
    console.error(`\n${command}: \`pnpm ${args.join(' ')}\` failed with exit code ${status}`);
    process.exit(status);
  }
}
