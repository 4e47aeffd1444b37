#!/usr/bin/env node
// `npm run soak` (10,000 connections per runtime) and the short soak of `npm test` (300): runs
// workload.mjs inside Node, Bun and Deno, one runtime after the other, each in its own process, and
// fails unless every connection checked out, nothing escaped, nothing is left live (core and the
// runtime's own view) and RSS came back within RSS_MARGIN of its warmed-up level.
// `--write-doc` puts the figures into docs/RELIABILITY.md (section "Soak").
// Usage: node soak.mjs [--connections N] [--runtime node|bun|deno]... [--write-doc]
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PeerClient } from '@closenotify/conformance';
import { spawnPeerDaemon } from '@closenotify/conformance/node';
import { CONCURRENCY, concurrencyStep, SHUTDOWN_PATHS, TLS_VERSIONS, warmUpCount } from './workload.mjs';

/** RSS after the run and a GC may exceed the warmed-up level by this much, whichever is larger. */
const RSS_MARGIN = { bytes: 32 * 1048576, share: 0.25 };
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const bin = (name) => here(`../../node_modules/.bin/${name}`);
const RUNTIMES = {
  node: () => ({
    command: process.execPath,
    args: ['--expose-gc', here('./runtimes/node.mjs')],
    version: process.versions.node,
  }),
  bun: () => ({ command: bin('bun'), args: ['run', here('./runtimes/bun.mjs')] }),
  deno: () => ({
    command: bin('deno'),
    args: ['run', '--allow-net=127.0.0.1,localhost', '--v8-flags=--expose-gc', here('./runtimes/deno.mjs')],
  }),
};

const args = process.argv.slice(2);
const flag = (name) => args.flatMap((arg, i) => (args[i - 1] === name ? [arg] : []));
const connections = Number(flag('--connections')[0] ?? 10_000);
const runtimes = flag('--runtime').length > 0 ? flag('--runtime') : Object.keys(RUNTIMES);
const writeDoc = args.includes('--write-doc');
if (!Number.isInteger(connections) || connections < 20 || runtimes.some((name) => !RUNTIMES[name])) {
  console.error('usage: soak.mjs [--connections N ≥ 20] [--runtime node|bun|deno]... [--write-doc]');
  process.exit(2);
}

const daemon = await spawnPeerDaemon();
let pki;
try {
  const { ca, server } = await new PeerClient(daemon.controlUrl).pki();
  pki = { ca, server: { cert: server.cert, key: server.key } };
} finally {
  await daemon.stop();
}

const results = [];
for (const name of runtimes) {
  const { command, args: runtimeArgs } = RUNTIMES[name]();
  const version = await runtimeVersion(name, command);
  console.error(`soak: ${name} ${version}, ${connections} connections`);
  const outcome = await run(
    command,
    [...runtimeArgs, JSON.stringify({ connections, pki })],
    timeLimitMs(connections),
  );
  const problems = judge(outcome);
  results.push({ name, version, outcome, problems });
  console.error(
    problems.length === 0
      ? `soak: ${name} ok — ${summary(outcome.figures)}`
      : `soak: ${name} FAILED — ${problems.join('; ')}`,
  );
}
if (writeDoc) updateDoc(results);
process.exit(results.every((result) => result.problems.length === 0) ? 0 : 1);

/** Bounds the whole run: two minutes plus 50 ms a connection, far beyond the measured pace. */
function timeLimitMs(count) {
  return 120_000 + count * 50;
}

function judge({ figures, exit, stderr }) {
  if (!figures) return [`no figures (${exit}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`];
  const problems = [];
  if (figures.failureCount > 0) {
    problems.push(
      `${figures.failureCount} connection(s) failed: ${figures.failures.slice(0, 5).join(' | ')}`,
    );
  }
  if (figures.escaped.length > 0) problems.push(`escaped: ${figures.escaped.join(' | ')}`);
  if (figures.leaks.length > 0) problems.push(`left live: ${figures.leaks.join(', ')}`);
  const allowed = figures.warmRss + rssMargin(figures.warmRss);
  if (figures.afterRss > allowed) {
    problems.push(
      `RSS after ${mib(figures.afterRss)} MiB, more than ${mib(allowed)} MiB (warmed up ${mib(figures.warmRss)} MiB + margin)`,
    );
  }
  return problems;
}

function rssMargin(warm) {
  return Math.max(RSS_MARGIN.bytes, warm * RSS_MARGIN.share);
}

function summary(figures) {
  return `${figures.connections} connections in ${(figures.durationMs / 1000).toFixed(1)} s (${figures.connectionsPerSecond}/s), peak RSS ${mib(figures.peakRss)} MiB, RSS after ${mib(figures.afterRss)} MiB vs ${mib(figures.warmRss)} MiB warmed up, leaks ${figures.leaks.length}`;
}

/** Runs one runtime's soak to its end, or ends it by pid after `limitMs`. */
function run(command, runArgs, limitMs) {
  const child = spawn(command, runArgs, {
    cwd: here('.'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text) => {
    stderr += text;
    process.stderr.write(text);
  });
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const exit = timedOut
        ? `timed out after ${limitMs} ms`
        : signal
          ? `killed by ${signal}`
          : `exited ${code}`;
      const last = stdout.trim().split('\n').at(-1);
      let figures;
      try {
        figures = code === 0 && last ? JSON.parse(last) : undefined;
      } catch {
        figures = undefined;
      }
      resolve({ figures, exit, stderr });
    });
  });
}

async function runtimeVersion(name, command) {
  if (name === 'node') return process.versions.node;
  const { stdout } = await new Promise((resolve) => {
    const child = spawn(command, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text) => {
      out += text;
    });
    child.once('close', () => resolve({ stdout: out }));
  });
  return stdout
    .trim()
    .split('\n')[0]
    .replace(/^deno /, '')
    .replace(/ \(.*$/, '');
}

function versionsCell(figures) {
  const counts = Object.entries(figures.negotiated)
    .map(([version, count]) => `${version}: ${count}`)
    .join(', ');
  return figures.versionsPinned ? counts : `${counts} (not pinnable)`;
}

function mib(bytes) {
  return (bytes / 1048576).toFixed(1);
}

/** Replaces the "## Soak" section of docs/RELIABILITY.md, leaving every other section alone. */
function updateDoc(runs) {
  const path = here('../../docs/RELIABILITY.md');
  const doc = readFileSync(path, 'utf8');
  const start = doc.indexOf('## Soak\n');
  if (start < 0) throw new Error(`${path} has no "## Soak" section`);
  const end = doc.indexOf('\n## ', start + 1);
  const machine = `${process.platform} ${process.arch}, ${availableParallelism()} cores (shared with other work while it ran)`;
  const rows = runs.map(({ name, version, outcome: { figures }, problems }) =>
    figures
      ? `| ${name} ${version} | ${figures.connections} | ${(figures.durationMs / 1000).toFixed(1)} s | ${figures.connectionsPerSecond} (${figures.connectionsPerSecondAfterWarmUp} after warm-up) | ${mib(figures.peakRss)} MiB | ${mib(figures.afterRss)} MiB vs ${mib(figures.warmRss)} MiB | ${figures.leaks.length} | ${figures.failureCount} | ${versionsCell(figures)} | ${problems.length === 0 ? 'pass' : 'FAIL'} |`
      : `| ${name} ${version} | — | — | — | — | — | — | — | — | FAIL: ${problems.join('; ')} |`,
  );
  const section = `## Soak

\`npm run soak\` (\`node apps/soak/soak.mjs --write-doc\`) runs ${connections.toLocaleString('en')} connections per runtime through
the adapter's \`listen()\` and \`connect()\` in one process, each runtime on its own, and writes this
section. \`npm test\` runs the same soak with 300 connections per runtime. Figures of the last run
(${new Date().toISOString().slice(0, 10)}; ${machine}):

| runtime | connections | duration | connections/s | peak RSS | RSS after vs warmed up | leaks | failed connections | TLS versions negotiated | verdict |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

- **Concurrency**: 8 to 64 connections in flight, the limit changing every ${concurrencyStep(connections)} connections (${CONCURRENCY.join(', ')}).
- **Shutdown paths**, in turn (each a sixth of the connections): ${SHUTDOWN_PATHS.map((path) => `\`${path}\``).join(', ')}.
  The client sends a 4-byte index and 1 byte to 64 KiB, the server answers with 1 byte to 64 KiB; both
  payloads are derived from the index and checked by SHA-256 on the receiving side. Then: the client
  \`close()\`s; the client \`shutdown('write')\`s and reads to the end; the server \`close()\`s first; the
  server \`shutdown('write')\`s first and the client reads to its end, then closes; the client \`abort()\`s;
  the client \`close({ timeoutMs: 0 })\`s.
- **TLS versions**: ${TLS_VERSIONS.join(' and ')} (minVersion = maxVersion on the client), alternating every round of
  paths, so each path meets both. An adapter without \`capabilities.versionBounds\` (Deno: neither
  \`Deno.connectTls\`/\`startTls\` nor \`listenTls\` take a version) cannot ask for one: there the runtime
  negotiates, and the table says what it chose (Deno's adapter does not report the version either:
  \`sessionInfo.protocol\` is false there).
- **Warm-up**: the first ${warmUpCount(connections)} connections (one turn through every in-flight limit); then a GC and the warmed-up RSS. After the run: the
  server closed, a GC, then RSS again (Node \`--expose-gc\`, \`Bun.gc(true)\`, Deno \`--v8-flags=--expose-gc\`).
  It must be at most the warmed-up RSS plus ${mib(RSS_MARGIN.bytes)} MiB or ${RSS_MARGIN.share * 100}% of it, whichever is larger.
- **Leaks**: zero sockets and servers live in core (\`liveResources()\`) and nothing beyond the starting
  point in the runtime's own list of sockets, listeners and timers (see "Leak accounting"), within 5 s of the end.
- **Every promise settled**: each connection is bounded at 30 s, the whole runtime at 2 min + 50 ms a
  connection; an unhandled rejection or uncaught exception fails the soak.
`;
  writeFileSync(path, `${doc.slice(0, start)}${section}${end < 0 ? '' : doc.slice(end)}`);
  console.error(`soak: figures written to ${path}`);
}
