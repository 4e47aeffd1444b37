/**
 * What the bench measures: each experiment is one client measure run raw and through the adapter,
 * on one runtime, against one server mode; it yields one or more metrics per run.
 */
import type { ServerMode } from './server.ts';

export type RuntimeName = 'node' | 'bun' | 'deno';
export const RUNTIMES: readonly RuntimeName[] = ['node', 'bun', 'deno'];

/** The client programs' measures (clients/shared/drivers.mjs). */
export type ClientMeasure = 'receive' | 'send' | 'cycles' | 'close' | 'idle';
/**
 * The raw side is the runtime's fastest API ('raw'), a slower one the adapter must beat, or the
 * common path most applications use ('raw-data': Node's 'data' events).
 */
type RawImpl = 'raw' | 'raw-connectTls' | 'raw-data';

export type MetricName =
  | 'throughput-receive'
  | 'throughput-receive-into'
  | 'throughput-receive-vs-data'
  | 'throughput-send'
  | 'cycles-sequential'
  | 'cycles-concurrent-8'
  | 'cycles-sequential-vs-connectTls'
  | 'close-latency-p50'
  | 'close-latency-p99'
  | 'idle-memory-rss'
  | 'idle-memory-heap';

export type Target =
  | { kind: 'ratio'; atLeast: number }
  /** adapter − raw, in the metric's unit. */
  | { kind: 'difference'; atMost: number };

interface MetricSpec {
  unit: string;
  /** Which way is better for the adapter; the ratio is oriented so that higher is better. */
  better: 'higher' | 'lower';
  /** spec §8; informative metrics have none. */
  target?: Target;
  what: string;
}

export const METRICS: Record<MetricName, MetricSpec> = {
  'throughput-receive': {
    unit: 'MB/s',
    better: 'higher',
    target: { kind: 'ratio', atLeast: 0.95 },
    what: '1 GiB from the Node server, first byte → close_notify; the adapter reads with read()',
  },
  'throughput-receive-into': {
    unit: 'MB/s',
    better: 'higher',
    target: { kind: 'ratio', atLeast: 0.95 },
    what: 'the same receive; the adapter reads with read(into) into one reused 64 KiB buffer, as raw does',
  },
  'throughput-receive-vs-data': {
    unit: 'MB/s',
    better: 'higher',
    target: { kind: 'ratio', atLeast: 1.2 },
    what: "Node only: the same receive (adapter read()) against tls.connect read through 'data' events",
  },
  'throughput-send': {
    unit: 'MB/s',
    better: 'higher',
    target: { kind: 'ratio', atLeast: 0.95 },
    what: "1 GiB to the Node sink, first write → the sink's report",
  },
  'cycles-sequential': {
    unit: 'cycles/s',
    better: 'higher',
    target: { kind: 'ratio', atLeast: 0.9 },
    what: 'connect + handshake + 1 KiB echo + both close_notify, one at a time',
  },
  'cycles-concurrent-8': {
    unit: 'cycles/s',
    better: 'higher',
    target: { kind: 'ratio', atLeast: 0.9 },
    what: 'the same cycle, 8 at a time',
  },
  'cycles-sequential-vs-connectTls': {
    unit: 'cycles/s',
    better: 'higher',
    target: { kind: 'ratio', atLeast: 30 },
    what: 'sequential cycles against Deno.connectTls (Nagle stall), time-bounded',
  },
  'close-latency-p50': {
    unit: 'ms',
    better: 'lower',
    target: { kind: 'difference', atMost: 0.2 },
    what: "shutdown('write') → the peer's close_notify, p50",
  },
  'close-latency-p99': {
    unit: 'ms',
    better: 'lower',
    what: "shutdown('write') → the peer's close_notify, p99",
  },
  'idle-memory-rss': {
    unit: 'KiB/conn',
    better: 'lower',
    target: { kind: 'difference', atMost: 2 },
    what: 'client RSS growth per idle connection, after forced GC',
  },
  'idle-memory-heap': {
    unit: 'KiB/conn',
    better: 'lower',
    what: 'client JS heap growth per idle connection, after forced GC',
  },
};

export type Mode = 'full' | 'quick';

export interface Experiment {
  /** Names the experiment in progress lines. */
  name: string;
  /** What each of its runs yields. */
  metrics: MetricName[];
  measure: ClientMeasure;
  rawImpl: RawImpl;
  runtimes: readonly RuntimeName[];
  server: ServerMode;
  /** Bytes the server sends (send mode). */
  serverBytes: number;
  params: Record<string, number>;
  rounds: number;
  /** The orchestrator ends a client that runs longer. */
  timeoutMs: number;
}

const GiB = 1024 ** 3;
/** The caller's buffer for read(into): the size of the raw sides' reused buffer. */
const READ_INTO_BYTES = 64 * 1024;
const MiB = 1024 ** 2;

interface Sizes {
  rounds: number;
  closeRounds: number;
  bulkBytes: number;
  cycles: number;
  cycleTimeLimitMs: number;
  connectTlsTimeLimitMs: number;
  closeSamplesPerRound: number;
  /** Untimed cycles and closes at the start of every run (see drivers.mjs). */
  warmUpCycles: number;
  warmUpCloses: number;
  idleConnections: number;
  idleSettleMs: number;
}

// Full: the figures spec §8 names (1 GiB, 2,000 cycles, 500 closes, 2,000 idle connections);
// quick: the same code on tiny sizes, so `npm test` keeps the bench from rotting.
const SIZES: Record<Mode, Sizes> = {
  full: {
    rounds: 7,
    closeRounds: 4,
    bulkBytes: GiB,
    cycles: 2000,
    cycleTimeLimitMs: 60_000,
    connectTlsTimeLimitMs: 5_000,
    closeSamplesPerRound: 125,
    warmUpCycles: 300,
    warmUpCloses: 50,
    idleConnections: 2000,
    idleSettleMs: 1000,
  },
  quick: {
    rounds: 1,
    closeRounds: 1,
    bulkBytes: 4 * MiB,
    cycles: 50,
    cycleTimeLimitMs: 20_000,
    connectTlsTimeLimitMs: 1_000,
    closeSamplesPerRound: 50,
    warmUpCycles: 5,
    warmUpCloses: 2,
    idleConnections: 200,
    idleSettleMs: 200,
  },
};

/** What a run may change of its mode's plan. */
export interface PlanChoices {
  /** Only these experiments; empty: all. */
  only?: readonly string[];
  idleConnections?: number;
}

export function experiments(mode: Mode, choices: PlanChoices = {}): Experiment[] {
  const chosen = planFor(mode, choices.idleConnections);
  const only = choices.only ?? [];
  const unknown = only.filter((name) => !chosen.some((experiment) => experiment.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown experiment ${unknown.join(', ')}: ${chosen.map((e) => e.name).join(', ')}`);
  }
  return only.length === 0 ? chosen : chosen.filter((experiment) => only.includes(experiment.name));
}

function planFor(mode: Mode, idleConnections: number | undefined): Experiment[] {
  const size = { ...SIZES[mode], idleConnections: idleConnections ?? SIZES[mode].idleConnections };
  const timeoutMs = size.cycleTimeLimitMs + 60_000;
  const cycles = (concurrency: number) => ({
    cycles: size.cycles,
    concurrency,
    timeLimitMs: size.cycleTimeLimitMs,
    warmUp: size.warmUpCycles,
  });
  return [
    {
      name: 'throughput-receive',
      metrics: ['throughput-receive'],
      measure: 'receive',
      rawImpl: 'raw',
      runtimes: RUNTIMES,
      server: 'send',
      serverBytes: size.bulkBytes,
      params: { bytes: size.bulkBytes },
      rounds: size.rounds,
      timeoutMs,
    },
    {
      name: 'throughput-receive-into',
      metrics: ['throughput-receive-into'],
      measure: 'receive',
      rawImpl: 'raw',
      runtimes: RUNTIMES,
      server: 'send',
      serverBytes: size.bulkBytes,
      params: { bytes: size.bulkBytes, intoBytes: READ_INTO_BYTES },
      rounds: size.rounds,
      timeoutMs,
    },
    {
      name: 'throughput-receive-vs-data',
      metrics: ['throughput-receive-vs-data'],
      measure: 'receive',
      rawImpl: 'raw-data',
      runtimes: ['node'],
      server: 'send',
      serverBytes: size.bulkBytes,
      params: { bytes: size.bulkBytes },
      rounds: size.rounds,
      timeoutMs,
    },
    {
      name: 'throughput-send',
      metrics: ['throughput-send'],
      measure: 'send',
      rawImpl: 'raw',
      runtimes: RUNTIMES,
      server: 'sink',
      serverBytes: 0,
      params: { bytes: size.bulkBytes },
      rounds: size.rounds,
      timeoutMs,
    },
    {
      name: 'cycles-sequential',
      metrics: ['cycles-sequential'],
      measure: 'cycles',
      rawImpl: 'raw',
      runtimes: RUNTIMES,
      server: 'echo',
      serverBytes: 0,
      params: cycles(1),
      rounds: size.rounds,
      timeoutMs,
    },
    {
      name: 'cycles-concurrent-8',
      metrics: ['cycles-concurrent-8'],
      measure: 'cycles',
      rawImpl: 'raw',
      runtimes: RUNTIMES,
      server: 'echo',
      serverBytes: 0,
      params: cycles(8),
      rounds: size.rounds,
      timeoutMs,
    },
    {
      name: 'cycles-sequential-vs-connectTls',
      metrics: ['cycles-sequential-vs-connectTls'],
      measure: 'cycles',
      rawImpl: 'raw-connectTls',
      runtimes: ['deno'],
      server: 'echo',
      serverBytes: 0,
      // Naive connectTls takes about 45 ms a cycle: a short warm-up, within the same time bound.
      params: {
        ...cycles(1),
        timeLimitMs: size.connectTlsTimeLimitMs,
        warmUp: Math.min(size.warmUpCycles, 10),
      },
      rounds: size.rounds,
      timeoutMs,
    },
    {
      name: 'close-latency',
      metrics: ['close-latency-p50', 'close-latency-p99'],
      measure: 'close',
      rawImpl: 'raw',
      runtimes: RUNTIMES,
      server: 'echo',
      serverBytes: 0,
      params: {
        samples: size.closeSamplesPerRound,
        idleMs: 10,
        timeLimitMs: size.cycleTimeLimitMs,
        warmUp: size.warmUpCloses,
      },
      rounds: size.closeRounds,
      timeoutMs,
    },
    {
      name: 'idle-memory',
      metrics: ['idle-memory-rss', 'idle-memory-heap'],
      measure: 'idle',
      rawImpl: 'raw',
      runtimes: RUNTIMES,
      server: 'echo',
      serverBytes: 0,
      params: { connections: size.idleConnections, inFlight: 32, settleMs: size.idleSettleMs, warmUp: 20 },
      rounds: size.rounds,
      // 10,000 connections take their handshakes' time: 20 ms each is a wide margin on a busy machine.
      timeoutMs: Math.max(timeoutMs, size.idleConnections * 20),
    },
  ];
}
