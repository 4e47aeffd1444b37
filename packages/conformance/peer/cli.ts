/**
 * `node packages/conformance/dist/cli.js --runtime node|bun|deno|all [--filter <text>]...`
 * `node packages/conformance/dist/cli.js fuzz --runtime node|bun|deno|all [--runs n] [--seed s] [--concurrency c]`
 *
 * The second form runs model-based fuzzing (src/fuzz) inside each runtime instead of the catalogue,
 * with a progress line, and fails on any failing sequence (printed with its seed and its shrunk commands).
 *
 * Starts the peer daemon, runs each runtime's conformance entry inside that runtime, writes
 * reports/conformance-<runtime>.json, and judges it against expectations/<runtime>.json: any
 * unexpected result, better or worse, fails. A runtime process that does not exit by itself
 * after its report left a handle or a timer open, and fails too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AUTHORITY_FILES } from '@closenotify/test-pki';
import { UNRESOLVABLE_HOST } from '../src/case.ts';
import { PeerClient } from '../src/peer-client.ts';
import { type ConformanceReport, judge, resultKey, summaryLine } from '../src/report.ts';
import { loadExpectations, repoRoot, spawnPeerDaemon, writeFuzzSummary, writeReport } from './node.ts';

interface RuntimeCommand {
  binary: string;
  args: string[];
}

const bin = (name: string): string => join(repoRoot, 'node_modules', '.bin', name);

/** `entry`: 'conformance' (the catalogue) or 'fuzz' (model-based fuzzing). */
const RUNTIMES: Record<string, (entry: string) => RuntimeCommand> = {
  node: (entry) => ({
    binary: process.execPath,
    args: [join(repoRoot, `packages/node/test/${entry}.entry.mjs`)],
  }),
  bun: (entry) => ({
    binary: bin('bun'),
    args: ['run', join(repoRoot, `packages/bun/test/${entry}.entry.ts`)],
  }),
  // The narrowest Deno permission that works: loopback networking, and the one name that cannot resolve.
  deno: (entry) => ({
    binary: bin('deno'),
    args: [
      'run',
      `--allow-net=127.0.0.1,localhost,${UNRESOLVABLE_HOST}`,
      join(repoRoot, `packages/deno/test/${entry}.entry.ts`),
    ],
  }),
};

/**
 * The PKI's default-trust CA as an extra root of every runtime's default trust, the way an
 * administrator installs a private root: what connect.ca-replaces-default-trust needs a `ca` to shut
 * out. Each runtime reads its variable when it starts, hence here, at the spawn.
 */
function defaultTrustEnvironment(pkiDir: string): Record<string, string> {
  const file = join(pkiDir, AUTHORITY_FILES.defaultTrustCa);
  return { NODE_EXTRA_CA_CERTS: file, DENO_CERT: file };
}

const EXIT_GRACE_MS = 5_000;

function isCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}
const RUN_LIMIT_MS = 20 * 60_000;

async function main(): Promise<number> {
  if (process.argv[2] === 'fuzz') return fuzzMain(process.argv.slice(3));
  const args = process.argv.slice(2);
  const wanted = args[args.indexOf('--runtime') + 1] ?? 'all';
  const names = wanted === 'all' ? Object.keys(RUNTIMES) : [wanted];
  const unknown = names.filter((name) => !RUNTIMES[name]);
  if (args.indexOf('--runtime') < 0 || unknown.length > 0) {
    console.error(`usage: cli.js --runtime ${Object.keys(RUNTIMES).join('|')}|all [--filter <text>]...`);
    return 2;
  }
  const filters = args.flatMap((arg, i) => (args[i - 1] === '--filter' ? ['--filter', arg] : []));
  const daemon = await spawnPeerDaemon();
  let failed = false;
  try {
    const trust = defaultTrustEnvironment((await new PeerClient(daemon.controlUrl).pki()).dir);
    for (const name of names) {
      const ok = await runRuntime(name, RUNTIMES[name]!('conformance'), daemon.controlUrl, filters, trust);
      failed ||= !ok;
    }
  } finally {
    await daemon.stop();
  }
  return failed ? 1 : 0;
}

async function runRuntime(
  name: string,
  command: RuntimeCommand,
  control: string,
  filters: string[],
  trust: Record<string, string>,
): Promise<boolean> {
  if (!existsSync(command.binary)) {
    const message = `conformance ${name}: the runtime binary ${command.binary} is missing (run the install first)`;
    console.error(message);
    // A missing runtime is a failure in CI and a visible "not run" elsewhere, never a silent pass.
    if (isCi()) return false;
    console.error(`${name}: not run`);
    return true;
  }
  const child = spawn(command.binary, [...command.args, '--control', control, ...filters], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NO_COLOR: '1', ...trust },
  });
  const { stdout, exit } = await collect(child);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let report: ConformanceReport;
  try {
    report = JSON.parse(line) as ConformanceReport;
  } catch {
    console.error(`conformance ${name}: no report (exit ${exit}); last output: ${line.slice(0, 500)}`);
    return false;
  }
  const path = writeReport(report);
  const verdict = judge(report, loadExpectations(name), { partial: filters.length > 0, notRunFails: isCi() });
  for (const item of verdict.unexpected) {
    console.error(
      `  UNEXPECTED ${item.key}: expected ${item.expected}, got ${item.actual}${item.message ? ` — ${item.message}` : ''}`,
    );
  }
  for (const key of verdict.stale) console.error(`  STALE expectation ${key}: no such case in the catalogue`);
  if (exit !== 'exited 0') console.error(`  the ${name} process ${exit}`);
  const notRunFor = report.results.filter((r) => r.status === 'unsupported').map(resultKey);
  console.error(`conformance ${name} (${report.runtime.version}, ${report.runtime.tls}): report in ${path}`);
  if (notRunFor.length > 0) console.error(`  unsupported here: ${notRunFor.join(', ')}`);
  console.log(`conformance-${name}: ${summaryLine(verdict)}`);
  return verdict.unexpected.length === 0 && verdict.stale.length === 0 && exit === 'exited 0';
}

/** Gathers stdout and waits for the exit, allowing EXIT_GRACE_MS after the report for a clean exit. */
function collect(child: ChildProcess, limitMs = RUN_LIMIT_MS): Promise<{ stdout: string; exit: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    let graceTimer: NodeJS.Timeout | undefined;
    const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      stdout += text;
      if (!graceTimer && (stdout.includes('"results"') || stdout.includes('"failures"'))) {
        graceTimer = setTimeout(() => {
          console.error(
            `  the process did not exit within ${EXIT_GRACE_MS} ms of its report: a handle or timer is still open`,
          );
          child.kill('SIGKILL');
        }, EXIT_GRACE_MS);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      clearTimeout(graceTimer);
      resolve({ stdout, exit: signal ? `was killed (${signal})` : `exited ${code}` });
    });
  });
}

const FUZZ_FLAGS = ['--runs', '--seed', '--concurrency', '--shrink-ms'];
/** A long run (tens of thousands of sequences) takes hours, not the catalogue's minutes. */
const FUZZ_RUN_LIMIT_MS = 6 * 60 * 60_000;

async function fuzzMain(args: string[]): Promise<number> {
  const wanted = args[args.indexOf('--runtime') + 1] ?? 'all';
  const names = wanted === 'all' ? Object.keys(RUNTIMES) : [wanted];
  if (args.indexOf('--runtime') < 0 || names.some((name) => !RUNTIMES[name])) {
    console.error(
      `usage: cli.js fuzz --runtime ${Object.keys(RUNTIMES).join('|')}|all [--runs n] [--seed s] [--concurrency c] [--shrink-ms t]`,
    );
    return 2;
  }
  const passed = args.flatMap((arg, i) =>
    FUZZ_FLAGS.includes(args[i - 1] ?? '') ? [args[i - 1]!, arg] : [],
  );
  const daemon = await spawnPeerDaemon();
  let failed = false;
  try {
    const trust = defaultTrustEnvironment((await new PeerClient(daemon.controlUrl).pki()).dir);
    for (const name of names) {
      const command = RUNTIMES[name]!('fuzz');
      if (!existsSync(command.binary)) {
        console.error(
          `fuzz ${name}: the runtime binary ${command.binary} is missing (run the install first)`,
        );
        failed ||= isCi();
        continue;
      }
      const child = spawn(command.binary, [...command.args, '--control', daemon.controlUrl, ...passed], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NO_COLOR: '1', ...trust },
      });
      const { stdout, exit } = await collect(child, FUZZ_RUN_LIMIT_MS);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      let summary: { runs: number; seed: number; ratePerSecond: number; failures: unknown[] };
      try {
        summary = JSON.parse(line);
      } catch {
        console.error(`fuzz ${name}: no summary (exit ${exit}); last output: ${line.slice(0, 500)}`);
        failed = true;
        continue;
      }
      const path = writeFuzzSummary(name, summary);
      if (exit !== 'exited 0') console.error(`  the ${name} process ${exit}`);
      console.log(
        `fuzz-${name}: ${summary.runs} sequences from seed ${summary.seed}, ${summary.ratePerSecond}/s, ${summary.failures.length} failing (summary in ${path})`,
      );
      failed ||= summary.failures.length > 0 || exit !== 'exited 0';
    }
  } finally {
    await daemon.stop();
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
