/**
 * The fuzz loop inside one runtime: sequence i of a run with seed s is the scenario fast-check
 * generates from seed s + i, so any one of them is replayed with `--seed <s + i> --runs 1`. Sequences
 * run a few at a time (independent connections); after each batch the runtime must hold no socket or
 * server and nothing may have escaped. A failing sequence is shrunk by fast-check, one at a time, and
 * printed as its seed and its minimal command list.
 */
import { describeCommand, type FuzzScenario } from '@closenotify/core';
import fc from 'fast-check';
import type { RuntimeInfo } from '../case.ts';
import { type EscapedErrors, waitForNoLeaks } from '../runner.ts';
import { executeScenario, type FuzzEnvironment } from './execute.ts';
import { alphabetFor, scenarioArbitrary } from './generate.ts';

export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Sequences at once. */
  concurrency: number;
  /** Stop shrinking a failure after this long. */
  shrinkLimitMs: number;
}

export interface FuzzFailure {
  seed: number;
  replay: string;
  problems: string[];
  scenario: FuzzScenario;
  /** The minimal sequence fast-check shrank it to, when shrinking reproduced the failure. */
  shrunk?: { scenario: FuzzScenario; problems: string[]; commands: string[] };
}

export interface FuzzSummary {
  runtime: RuntimeInfo;
  adapter: string;
  seed: number;
  runs: number;
  durationMs: number;
  ratePerSecond: number;
  /** What this runtime's alphabet leaves out, and why. */
  excluded: string[];
  failures: FuzzFailure[];
}

/** What a fuzz run needs besides the adapter and the peer. */
type FuzzRun = FuzzEnvironment & {
  runtime: RuntimeInfo;
  escaped: EscapedErrors;
  /** The runtime's own list of open sockets, listeners and timers (RunOptions.runtimeResources). */
  runtimeResources?: () => string[];
};

export async function runFuzz(
  env: FuzzRun,
  options: FuzzOptions,
  progress: (line: string) => void,
): Promise<FuzzSummary> {
  const arbitrary = scenarioArbitrary(env.adapter.capabilities);
  const started = performance.now();
  const failures: FuzzFailure[] = [];
  let done = 0;
  let lastProgress = started;
  env.escaped.drain();
  const baseline = env.runtimeResources?.() ?? [];
  const afterBatch = (): Promise<string[]> => leftBehind(env, baseline);
  for (let first = 0; first < options.runs; first += options.concurrency) {
    const seeds = Array.from(
      { length: Math.min(options.concurrency, options.runs - first) },
      (_, i) => options.seed + first + i,
    );
    const results = await Promise.all(
      seeds.map(async (seed) => {
        const scenario = scenarioOf(arbitrary, seed);
        return { seed, scenario, result: await executeScenario(env, scenario) };
      }),
    );
    const batchProblems = await afterBatch();
    for (const { seed, scenario, result } of results) {
      const problems = [
        ...result.problems,
        ...(batchProblems.length > 0 && seeds.length === 1 ? batchProblems : []),
      ];
      if (problems.length > 0) failures.push(await shrink(env, arbitrary, seed, scenario, problems, options));
    }
    if (batchProblems.length > 0 && seeds.length > 1) {
      // Leaks and escapes cannot be told apart within a batch: each sequence again, alone.
      for (const { seed, scenario } of results) {
        if (failures.some((failure) => failure.seed === seed)) continue;
        const alone = await executeScenario(env, scenario);
        const problems = [...alone.problems, ...(await afterBatch())];
        if (problems.length > 0)
          failures.push(await shrink(env, arbitrary, seed, scenario, problems, options));
      }
      if (!failures.some((failure) => seeds.includes(failure.seed))) {
        failures.push({
          seed: seeds[0]!,
          replay: replayCommand(env.runtime.name, seeds[0]!, seeds.length),
          problems: [
            `in the batch of seeds ${seeds[0]}..${seeds.at(-1)}: ${batchProblems.join('; ')} (not reproduced alone)`,
          ],
          scenario: results[0]!.scenario,
        });
      }
    }
    done += seeds.length;
    const now = performance.now();
    if (now - lastProgress > 5_000 || done === options.runs) {
      lastProgress = now;
      const rate = done / ((now - started) / 1000);
      progress(
        `[fuzz ${env.runtime.name}] ${done}/${options.runs} sequences, ${rate.toFixed(1)}/s, ${failures.length} failure(s)`,
      );
    }
  }
  const durationMs = performance.now() - started;
  return {
    runtime: env.runtime,
    adapter: env.adapter.name,
    seed: options.seed,
    runs: done,
    durationMs: Math.round(durationMs),
    ratePerSecond: Number((done / (durationMs / 1000)).toFixed(2)),
    excluded: alphabetFor(env.adapter.capabilities).excluded,
    failures,
  };
}

/** Sequence `seed`: the first value fast-check generates from it (what fc.assert with that seed tries first). */
export function scenarioOf(arbitrary: fc.Arbitrary<FuzzScenario>, seed: number): FuzzScenario {
  return fc.sample(arbitrary, { seed, numRuns: 1 })[0]!;
}

export function replayCommand(runtime: string, seed: number, runs = 1): string {
  return `npm run fuzz -- --runtime ${runtime} --seed ${seed} --runs ${runs}`;
}

/**
 * Nothing left open (by core's count and by the runtime's own list, against what it held when the run
 * began) and nothing escaped once a batch is over.
 */
async function leftBehind(env: FuzzRun, baseline: readonly string[]): Promise<string[]> {
  const leak = await waitForNoLeaks(env.runtimeResources, baseline, 'the sequence');
  const problems = env.escaped.drain();
  if (leak) problems.push(leak);
  return problems;
}

async function shrink(
  env: FuzzRun,
  arbitrary: fc.Arbitrary<FuzzScenario>,
  seed: number,
  scenario: FuzzScenario,
  problems: string[],
  options: FuzzOptions,
): Promise<FuzzFailure> {
  const failure: FuzzFailure = { seed, replay: replayCommand(env.runtime.name, seed), problems, scenario };
  if (options.shrinkLimitMs <= 0) return failure;
  let smallest: { scenario: FuzzScenario; problems: string[] } | undefined;
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (candidate) => {
      // Taken per candidate: fast-check's own time limit keeps a timer pending while it shrinks.
      const before = env.runtimeResources?.() ?? [];
      const result = await executeScenario(env, candidate);
      const all = [...result.problems, ...(await leftBehind(env, before))];
      if (all.length > 0) smallest = { scenario: candidate, problems: all };
      return all.length === 0;
    }),
    { seed, numRuns: 1, interruptAfterTimeLimit: options.shrinkLimitMs, markInterruptAsFailure: false },
  );
  if (details.failed && smallest) {
    failure.shrunk = { ...smallest, commands: smallest.scenario.commands.map(describeCommand) };
  }
  return failure;
}

/** The summary in words: one block per failure, with its replay line and its minimal commands. */
export function describeFailures(summary: FuzzSummary): string[] {
  const lines: string[] = [];
  for (const failure of summary.failures) {
    const shown = failure.shrunk ?? { scenario: failure.scenario, problems: failure.problems };
    const { role, tls, allowHalfOpen, truncation } = shown.scenario;
    lines.push(`FAIL seed ${failure.seed}  (replay: ${failure.replay})`);
    lines.push(
      `  ${failure.shrunk ? 'shrunk to' : 'sequence'}: role ${role}, ${tls}, allowHalfOpen ${allowHalfOpen}, truncation ${truncation}`,
    );
    for (const command of shown.scenario.commands) lines.push(`    ${describeCommand(command)}`);
    for (const problem of shown.problems) lines.push(`  ✗ ${problem}`);
    lines.push(`  scenario: ${JSON.stringify(shown.scenario)}`);
  }
  return lines;
}
