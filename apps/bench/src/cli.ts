/**
 * `npm run bench` → `node apps/bench/dist/cli.js [--quick] [--runtime <name>]...`
 *
 * Measures each adapter against its runtime's fastest raw TLS API on loopback: every experiment
 * runs raw and adapter back to back in each round, alternating which goes first, each side in a
 * fresh client process against a fresh Node server process. Writes reports/bench.json and
 * reports/bench.md; a full run over every runtime also rewrites the tables in docs/BENCHMARKS.md.
 */
import { join } from 'node:path';
import { ensurePki, type Pki } from '@closenotify/test-pki';
import { aggregate, type PairedRun } from './aggregate.ts';
import { updateDocs } from './docs.ts';
import { describeMachine } from './machine.ts';
import { renderMarkdown } from './markdown.ts';
import { type Options, parseOptions } from './options.ts';
import type { RunOutcome, Side } from './outcomes.ts';
import { docsPath } from './paths.ts';
import { experiments } from './plan.ts';
import { pinProcesses } from './processes.ts';
import { progressLine } from './progress.ts';
import { measureReferences } from './references.ts';
import { type BenchReport, writeFileCreatingDir } from './report.ts';
import { runSide } from './runner.ts';

async function runRounds(options: Options, pki: Pki): Promise<PairedRun[]> {
  const plan = experiments(options.mode, options);
  const rounds = Math.max(...plan.map((experiment) => experiment.rounds));
  const runs: PairedRun[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const runtime of options.runtimes) {
      for (const [index, experiment] of plan.entries()) {
        if (round >= experiment.rounds || !experiment.runtimes.includes(runtime)) continue;
        // Alternating per round and per experiment: neither side always runs on a warmer machine.
        const first: Side = (round + index) % 2 === 0 ? 'raw' : 'adapter';
        const order: Side[] = first === 'raw' ? ['raw', 'adapter'] : ['adapter', 'raw'];
        const outcomes: Partial<Record<Side, RunOutcome>> = {};
        for (const side of order) outcomes[side] = await runSide(runtime, experiment, side, pki);
        const run: PairedRun = {
          runtime,
          experiment: experiment.name,
          metrics: experiment.metrics,
          round,
          first,
          raw: outcomes.raw!,
          adapter: outcomes.adapter!,
        };
        runs.push(run);
        console.log(progressLine(run, rounds));
      }
    }
  }
  return runs;
}

function failed(runs: readonly PairedRun[]): boolean {
  return runs.some((run) =>
    [run.raw, run.adapter].some((outcome) => outcome.failure !== undefined || outcome.verified === false),
  );
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
    experiments(options.mode, options);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const startedAt = new Date();
  const clock = performance.now();
  const pki = await ensurePki();
  const machine = describeMachine();
  console.log(
    `bench (${options.mode}): ${options.runtimes.join(', ')} on ${machine.cpu}, ${machine.cores} cores`,
  );
  const pinned = options.pin && pinProcesses();
  console.log(pinned ? 'server pinned to core 0, client to core 1' : 'processes not pinned');
  const runs = await runRounds(options, pki);
  const references = options.mode === 'full' && options.only.length === 0 ? await measureReferences(pki) : [];
  const report: BenchReport = {
    machine,
    results: aggregate(runs),
    mode: options.mode,
    runtimes: options.runtimes,
    startedAt: startedAt.toISOString(),
    wallTimeSeconds: (performance.now() - clock) / 1000,
    pairs: Math.max(...experiments(options.mode, options).map((experiment) => experiment.rounds)),
    pinned,
    references,
    runs,
  };
  const markdown = renderMarkdown(report);
  const jsonPath = join(options.outDir, 'bench.json');
  writeFileCreatingDir(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileCreatingDir(join(options.outDir, 'bench.md'), markdown);
  console.log(`\n${markdown}\nwrote ${jsonPath} and bench.md (${Math.round(report.wallTimeSeconds)} s)`);
  if (options.updateDocs) {
    console.log(
      updateDocs(docsPath, markdown)
        ? `updated ${docsPath}`
        : `${docsPath} has no table markers: not updated`,
    );
  }
  return failed(runs) ? 1 : 0;
}

process.exitCode = await main();
