// The measurement loops every client shares, raw or adapter, in every runtime: they own the clock,
// the counts and the bounds; the caller brings one connection's work. Every loop is bounded by a
// count and by time.
import process from 'node:process';
import { PatternCheck } from './stream-pattern.mjs';

/** @typedef {{ user: number, system: number }} CpuUsage */

const now = () => performance.now();
/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Receive throughput: `receive(check, firstByte)` connects, feeds every chunk to `check`, calls
 * `firstByte()` on the first one and resolves at the peer's close_notify.
 */
/**
 * @param {{ bytes: number }} params
 * @param {(check: PatternCheck, firstByte: () => void) => Promise<void>} receive
 */
export async function measureReceive({ bytes }, receive) {
  const check = new PatternCheck();
  /** @type {number | undefined} */
  let startedAt;
  const cpuBefore = process.cpuUsage();
  await receive(check, () => {
    startedAt ??= now();
  });
  const ms = now() - (startedAt ?? Number.NaN);
  return { ...check.result(bytes), ms, mbps: bytes / 1e3 / ms, cpu: cpuShare(cpuBefore, ms) };
}

/**
 * Send throughput: `send(started)` connects, calls `started()` just before its first write, writes
 * `bytes` of the pattern, sends close_notify and resolves with the sink's report, which arrives once
 * the sink has read everything.
 */
/**
 * @param {{ bytes: number }} params
 * @param {(started: () => void) => Promise<{ bytes: number, mismatches: number }>} send
 */
export async function measureSend({ bytes }, send) {
  /** @type {number | undefined} */
  let startedAt;
  const cpuBefore = process.cpuUsage();
  const report = await send(() => {
    startedAt = now();
  });
  const ms = now() - (startedAt ?? Number.NaN);
  const verified = report.bytes === bytes && report.mismatches === 0;
  return { bytes: report.bytes, verified, ms, mbps: bytes / 1e3 / ms, cpu: cpuShare(cpuBefore, ms) };
}

/**
 * Connection cycles, `concurrency` at a time until `cycles` are done or `timeLimitMs` passed, after
 * `warmUp` untimed cycles: a fresh process first measures its JIT compiling the code, which a
 * long-lived one pays once (JSC compiled 180 ms of adapter code against 25 ms of raw code over 2,000
 * cycles). A cycle that fails in the warm-up counts as an error all the same.
 */
/**
 * @param {{ cycles: number, concurrency: number, timeLimitMs: number, warmUp?: number }} params
 * @param {() => Promise<void>} cycle
 */
export async function measureCycles({ cycles, concurrency, timeLimitMs, warmUp = 0 }, cycle) {
  let errors = 0;
  /** @param {number} count */
  const runCycles = async (count) => {
    let started = 0;
    let completed = 0;
    const startedAt = now();
    const worker = async () => {
      while (started < count && now() - startedAt < timeLimitMs) {
        started++;
        try {
          await cycle();
          completed++;
        } catch (error) {
          errors++;
          if (errors === 1) console.error('cycle failed:', error);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return completed;
  };
  await runCycles(warmUp);
  const startedAt = now();
  const cpuBefore = process.cpuUsage();
  const completed = await runCycles(cycles);
  const ms = now() - startedAt;
  return { cycles: completed, errors, ms, perSecond: (completed * 1e3) / ms, cpu: cpuShare(cpuBefore, ms) };
}

/**
 * Graceful-close latency, one connection at a time: `open()` connects, completes a 1-byte echo and
 * resolves with `closeWrite()`, which sends close_notify and resolves at the peer's close_notify, and
 * `release()`, which frees the connection afterwards (untimed). The connection idles `idleMs` first,
 * so the close meets a quiet connection. `warmUp` closes come first, untimed.
 */
/**
 * @param {{ samples: number, idleMs: number, timeLimitMs: number, warmUp?: number }} params
 * @param {() => Promise<{ closeWrite(): Promise<void>, release(): unknown }>} open
 */
export async function measureClose({ samples, idleMs, timeLimitMs, warmUp = 0 }, open) {
  /** @type {number[]} */
  const latenciesMs = [];
  let errors = 0;
  const startedAt = now();
  // Untimed, and without the idle spell: the code paths get compiled before the first sample.
  for (let i = 0; i < warmUp && now() - startedAt < timeLimitMs; i++) {
    try {
      const connection = await open();
      await connection.closeWrite();
      await connection.release();
    } catch (error) {
      errors++;
      if (errors === 1) console.error('close warm-up failed:', error);
    }
  }
  while (latenciesMs.length + errors < samples && now() - startedAt < timeLimitMs) {
    try {
      const connection = await open();
      await sleep(idleMs);
      const closingAt = now();
      await connection.closeWrite();
      latenciesMs.push(now() - closingAt);
      await connection.release();
    } catch (error) {
      errors++;
      if (errors === 1) console.error('close sample failed:', error);
    }
  }
  return { latenciesMs, errors };
}

/**
 * Memory per idle connection: after `warmUp` open-and-closed connections and a forced GC, opens
 * `connections` (at most `inFlight` handshakes at a time), lets them settle, forces a GC again and
 * divides the growth. `open()` resolves with the idle connection, which stays referenced.
 */
/**
 * @template Connection
 * @param {{ connections: number, inFlight: number, settleMs: number, warmUp: number }} params
 * @param {{ open(): Promise<Connection>, close(connection: Connection): unknown, gc(): void }} hooks
 */
export async function measureIdle({ connections, inFlight, settleMs, warmUp }, { open, close, gc }) {
  for (let i = 0; i < warmUp; i++) await close(await open());
  await settle(gc);
  const before = process.memoryUsage();
  /** @type {Connection[]} */
  const held = [];
  let errors = 0;
  let next = 0;
  const opener = async () => {
    while (next < connections) {
      next++;
      try {
        held.push(await open());
      } catch (error) {
        errors++;
        if (errors === 1) console.error('idle connection failed:', error);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, opener));
  await sleep(settleMs);
  await settle(gc);
  const after = process.memoryUsage();
  const count = held.length;
  return {
    connections: count,
    errors,
    rssKiB: (after.rss - before.rss) / 1024 / count,
    heapKiB: (after.heapUsed - before.heapUsed) / 1024 / count,
    rssTotalMiB: after.rss / 1024 / 1024,
  };
}

/**
 * Two collections with a turn of the loop between them, so finalizers and freed handles settle.
 * @param {() => void} gc
 */
async function settle(gc) {
  gc();
  await sleep(50);
  gc();
}

/**
 * @param {CpuUsage} before
 * @param {number} wallMs
 */
function cpuShare(before, wallMs) {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e3 / wallMs;
}
