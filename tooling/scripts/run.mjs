#!/usr/bin/env node
// `npm test`, `npm run demo` and `npm run conformance[:runtime]` on a fresh machine with only
// Node >= 20 and npm: install every dependency (Bun and Deno included, from the npm registry),
// build, then run.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { pinnedPnpm, pnpm } from './pnpm.mjs';

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
  '--env-mode=loose',
];

const plans = {
  test: () => [
    { pnpm: install },
    { pnpm: ['exec', 'biome', 'ci', '--colors=off', '.'] },
    { pnpm: testRun, repeatFailedTasks: true },
    { node: [join(root, 'tooling/scripts/check-root-manifest.mjs')] },
    { node: [join(root, 'tooling/scripts/check-changesets.mjs')] },
    { node: [join(root, 'tooling/scripts/api-reference.mjs')] },
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
  soak: (...args) => [
    { pnpm: install },
    { pnpm: build },
    { node: [join(root, 'apps/soak/soak.mjs'), '--write-doc', ...args] },
  ],
  // `npm run fuzz -- --runtime node --runs 10000 --seed 42`: model-based fuzzing, with a progress line.
  fuzz: (...args) => [
    { pnpm: install },
    { pnpm: build },
    {
      node: [
        join(root, 'packages/conformance/dist/cli.js'),
        'fuzz',
        ...(args.length > 0 ? args : ['--runtime', 'all']),
      ],
    },
  ],
  // `npm run probe -- example.org --starttls smtp`: the `closenotify probe` bin, built from this clone.
  probe: (...args) => [
    { pnpm: install },
    { pnpm: build },
    { node: [join(root, 'packages/closenotify/dist/cli.js'), 'probe', ...args] },
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
  const status = step.repeatFailedTasks
    ? await runRepeatingFailures(step.pnpm)
    : step.pnpm
      ? pnpm(step.pnpm)
      : (spawnSync(process.execPath, step.node, { cwd: root, stdio: 'inherit' }).status ?? 1);
  if (status !== 0) {
    console.error(`\n${command}: \`${(step.pnpm ?? step.node).join(' ')}\` failed with exit code ${status}`);
    process.exit(status);
  }
}

/**
 * Runs turbo with its output passed through as it comes, and once it has failed prints the end of
 * each failed task's output again (turbo names them in its summary, "Failed: pkg#task", after
 * thousands of lines of the other tasks): the failure is the last thing on the screen. Test tasks
 * are not cached, so turbo keeps no log file of them to point at.
 */
function runRepeatingFailures(args) {
  const lines = [];
  let partial = '';
  const keep = (text) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop();
    lines.push(...parts);
  };
  const child = spawn('npx', ['--yes', `pnpm@${pinnedPnpm()}`, ...args], {
    cwd: root,
    stdio: ['inherit', 'pipe', 'pipe'],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
  });
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    keep(chunk.toString());
  });
  child.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    keep(chunk.toString());
  });
  return new Promise((resolve) => {
    child.on('close', (code) => {
      if (code !== 0) repeatFailedTasks([...lines, partial]);
      resolve(code ?? 1);
    });
  });
}

function repeatFailedTasks(lines) {
  // Colours off: turbo colours its summary even when piped.
  const plain = lines.map(stripVTControlCharacters);
  const failed = plain
    .flatMap((line) => /^\s*Failed:\s+(.+)$/.exec(line)?.[1].split(',') ?? [])
    .map((task) => task.trim())
    .filter(Boolean);
  for (const task of failed) {
    const prefix = `${task.replace('#', ':')}: `;
    const output = plain.filter((line) => line.startsWith(prefix));
    console.error(`\n--- ${task} failed; the last ${Math.min(60, output.length)} lines of its output:`);
    console.error(output.slice(-60).join('\n'));
  }
}
