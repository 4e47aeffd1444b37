/** Turns one client program's JSON line into metric values. */
import type { ClientMeasure, Experiment, MetricName } from './plan.ts';
import { percentile } from './stats.ts';

export type Side = 'raw' | 'adapter';

export interface RunOutcome {
  values: Partial<Record<MetricName, number>>;
  /** Throughput: the byte count and the pattern check both held. */
  verified?: boolean;
  errors: number;
  /** Close latency samples (ms), pooled across rounds for the percentiles. */
  latenciesMs?: number[];
  /** The timed interval the client reported (ms): the server's CPU share is taken over it. */
  activeMs?: number;
  /** Share of one core the client and the server used during the timed interval. */
  clientCpu?: number;
  serverCpu?: number;
  /** Why the run produced nothing. */
  failure?: string;
}

interface ThroughputLine {
  bytes: number;
  verified: boolean;
  ms: number;
  mbps: number;
  cpu: number;
}
interface CyclesLine {
  cycles: number;
  errors: number;
  ms: number;
  perSecond: number;
  cpu: number;
}
interface CloseLine {
  latenciesMs: number[];
  errors: number;
}
interface IdleLine {
  connections: number;
  errors: number;
  rssKiB: number;
  heapKiB: number;
}

const readers: Record<ClientMeasure, (line: unknown, experiment: Experiment) => RunOutcome> = {
  receive: (line, experiment) => throughput(experiment.metrics[0]!, line as ThroughputLine),
  send: (line) => throughput('throughput-send', line as ThroughputLine),
  cycles: (line, experiment) => {
    const { perSecond, errors, ms, cpu } = line as CyclesLine;
    return { values: { [experiment.metrics[0]!]: perSecond }, errors, activeMs: ms, clientCpu: cpu };
  },
  close: (line) => {
    const { latenciesMs, errors } = line as CloseLine;
    return {
      values: {
        'close-latency-p50': percentile(latenciesMs, 50),
        'close-latency-p99': percentile(latenciesMs, 99),
      },
      errors,
      latenciesMs,
    };
  },
  idle: (line) => {
    const { rssKiB, heapKiB, errors } = line as IdleLine;
    return { values: { 'idle-memory-rss': rssKiB, 'idle-memory-heap': heapKiB }, errors };
  },
};

function throughput(metric: MetricName, line: ThroughputLine): RunOutcome {
  return {
    values: { [metric]: line.mbps },
    verified: line.verified,
    errors: 0,
    activeMs: line.ms,
    clientCpu: line.cpu,
  };
}

export function readOutcome(experiment: Experiment, stdout: string): RunOutcome {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return readers[experiment.measure](JSON.parse(last), experiment);
}
