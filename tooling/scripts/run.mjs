#!/usr/bin/env node
// `npm test`, `npm run demo` and `npm run conformance[:runtime]` on a fresh machine with only
// Node >= 20 and npm: install every dependency (Bun and Deno included, from the npm registry),
// build, then run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const install = ['install', '--frozen-lockfile'];
const build = ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only', '--env-mode=loose'];
/**
 * The test tasks run real sockets against real peers and measure timeouts: more of them at once than
 * the machine has cores only makes each one late. `--continue` lets every task finish, so the summary
 * names only the tasks that really failed (without it turbo kills the others, which then print
 * ELIFECYCLE too), and grouped logs keep each task's output in one block.
 */
const testRun = [
  'exec',
  'turbo',
  'run',
  'build',
  'typecheck',
  'test',
  '--output-logs=new-only',
  '--log-order=grouped',
  `--concurrency=${availableParallelism()}`,
  '--continue',
  '--summarize',
  '--env-mode=loose',
];

const plans = {
  test: () => [
    { pnpm: install },
    { pnpm: ['exec', 'biome', 'ci', '--colors=off', '.'] },
    { pnpm: testRun, onFailure: pointAtFailedTasks },
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
    step.onFailure?.();
    process.exit(status);
  }
}

/**
 * After turbo's own summary ("Failed: pkg#task") has scrolled by: the end of each failed task's log
 * again, read from the run summary that `--summarize` wrote, so the failure is the last thing printed.
 */
function pointAtFailedTasks() {
  const runs = join(root, '.turbo', 'runs');
  if (!existsSync(runs)) return;
  const newest = readdirSync(runs)
    .filter((name) => name.endsWith('.json'))
    .map((name) => join(runs, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) return;
  const summary = JSON.parse(readFileSync(newest, 'utf8'));
  for (const task of summary.tasks ?? []) {
    if (!task.execution || task.execution.exitCode === 0) continue;
    const log = join(root, task.logFile ?? '');
    const lines = existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n') : [];
    console.error(`\n--- ${task.taskId} failed (exit ${task.execution.exitCode}); last lines of ${log}:`);
    console.error(lines.slice(-40).join('\n'));
  }
}
