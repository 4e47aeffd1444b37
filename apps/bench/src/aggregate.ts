/** From the runs of every round to one result row per runtime and metric. */
import type { RunOutcome, Side } from './outcomes.ts';
import { METRICS, type MetricName, type RuntimeName, type Target } from './plan.ts';
import { percentile, type Spread, spread } from './stats.ts';

/** One round of one experiment on one runtime: both sides, run back to back. */
export interface PairedRun {
  runtime: RuntimeName;
  experiment: string;
  metrics: MetricName[];
  round: number;
  /** Which side ran first this round. */
  first: Side;
  raw: RunOutcome;
  adapter: RunOutcome;
}

export interface TargetVerdict {
  /** e.g. "≥ 0.95× raw", "≤ raw + 2 KiB/conn". */
  description: string;
  met: boolean;
}

export interface ResultRow {
  runtime: RuntimeName;
  metric: MetricName;
  /** Median, min and max over rounds of the raw API's per-run value. */
  raw: Spread;
  /** Median, min and max over rounds of the adapter's per-run value. */
  adapter: Spread;
  unit: string;
  /** adapter.median / raw.median, or raw.median / adapter.median where lower is better: higher is better. */
  ratio: number;
  /** Median, min and max over rounds of the same ratio taken within each round's pair. */
  median: number;
  min: number;
  max: number;
  /** Difference targets: adapter − raw within each round's pair (median, min, max). */
  differences?: Spread;
  rounds: number;
  /** Close latency: the percentile over every sample of every round (500 connections in a full run). */
  pooled?: { raw: number; adapter: number; samples: { raw: number; adapter: number } };
  target?: TargetVerdict;
  /** Throughput: every run's byte count and pattern check held. */
  verified?: boolean;
  /** Failed cycles, closes or connections, plus runs that produced nothing. */
  errors: number;
  /** Median share of one core used by the client and the server, where the run reports it. */
  cpu?: { raw: { client: number; server: number }; adapter: { client: number; server: number } };
}

const PERCENTILES: Partial<Record<MetricName, number>> = { 'close-latency-p50': 50, 'close-latency-p99': 99 };

export function aggregate(runs: readonly PairedRun[]): ResultRow[] {
  const rows: ResultRow[] = [];
  // Keyed by runtime and metric, in the order the runs came: the report lists them as they ran.
  const groups = new Map<string, { runtime: RuntimeName; metric: MetricName; runs: PairedRun[] }>();
  for (const run of runs) {
    // Every metric of the experiment gets its row, even when a run failed: the failure shows.
    for (const metric of run.metrics) {
      const key = `${run.runtime} ${metric}`;
      const group = groups.get(key) ?? { runtime: run.runtime, metric, runs: [] };
      group.runs.push(run);
      groups.set(key, group);
    }
  }
  for (const { runtime, metric, runs: group } of groups.values()) rows.push(rowFor(runtime, metric, group));
  return rows;
}

function rowFor(runtime: RuntimeName, metric: MetricName, runs: PairedRun[]): ResultRow {
  const spec = METRICS[metric];
  const valuesOf = (side: Side) =>
    runs.map((run) => run[side].values[metric]).filter((value): value is number => value !== undefined);
  const oriented = (raw: number, adapter: number) =>
    spec.better === 'higher' ? adapter / raw : raw / adapter;
  const raw = spread(valuesOf('raw'));
  const adapter = spread(valuesOf('adapter'));
  const perRound = runs.flatMap((run) => {
    const rawValue = run.raw.values[metric];
    const adapterValue = run.adapter.values[metric];
    return rawValue === undefined || adapterValue === undefined ? [] : [oriented(rawValue, adapterValue)];
  });
  const ratios = spread(perRound);
  const row: ResultRow = {
    runtime,
    metric,
    raw,
    adapter,
    unit: spec.unit,
    ratio: oriented(raw.median, adapter.median),
    median: ratios.median,
    min: ratios.min,
    max: ratios.max,
    rounds: perRound.length,
    errors: runs.reduce((sum, run) => sum + run.raw.errors + run.adapter.errors, 0),
  };
  const p = PERCENTILES[metric];
  if (p !== undefined) {
    const samples = (side: Side) => runs.flatMap((run) => run[side].latenciesMs ?? []);
    row.pooled = {
      raw: percentile(samples('raw'), p),
      adapter: percentile(samples('adapter'), p),
      samples: { raw: samples('raw').length, adapter: samples('adapter').length },
    };
  }
  if (runs.some((run) => run.raw.verified !== undefined)) {
    row.verified = runs.every((run) => run.raw.verified === true && run.adapter.verified === true);
  }
  if (runs.some((run) => run.raw.clientCpu !== undefined)) {
    const cpuOf = (side: Side, who: 'clientCpu' | 'serverCpu') =>
      spread(runs.map((run) => run[side][who]).filter((value): value is number => value !== undefined))
        .median;
    row.cpu = {
      raw: { client: cpuOf('raw', 'clientCpu'), server: cpuOf('raw', 'serverCpu') },
      adapter: { client: cpuOf('adapter', 'clientCpu'), server: cpuOf('adapter', 'serverCpu') },
    };
  }
  if (spec.target?.kind === 'difference') {
    row.differences = spread(
      runs.flatMap((run) => {
        const rawValue = run.raw.values[metric];
        const adapterValue = run.adapter.values[metric];
        return rawValue === undefined || adapterValue === undefined ? [] : [adapterValue - rawValue];
      }),
    );
  }
  if (spec.target) row.target = verdict(row, spec.target);
  return row;
}

/**
 * A target is met only when every round's pair meets it: the whole spread of the per-pair ratios
 * (or differences) is on the right side of the line, never just the median.
 */
function verdict(row: ResultRow, target: Target): TargetVerdict {
  if (target.kind === 'ratio') {
    return {
      description: `≥ ${target.atLeast}× raw in every pair`,
      met: row.rounds > 0 && row.min >= target.atLeast,
    };
  }
  return {
    description: `≤ raw + ${target.atMost} ${row.unit} in every pair`,
    met: row.differences !== undefined && row.differences.max <= target.atMost,
  };
}
