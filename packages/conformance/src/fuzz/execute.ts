/**
 * Runs one generated scenario over real loopback TLS: our socket (through the adapter under test)
 * against the scriptable peer, whose actions wait for a signal each, so they interleave with ours in
 * the generated order. Then it checks every invariant the run can show, and the model's judgement.
 */
import {
  type CloseReport,
  describeCommand,
  FIN_MID_RECORD_BYTES,
  type FuzzScenario,
  finalCloseIndex,
  ILLEGAL,
  judge,
  type Outcome,
  outcomeOf,
  SCENARIO_CLOSE_TIMEOUT_MS,
  type ShutdownableSecureSocket,
  SOCKET_EVENTS,
  type SocketState,
  TRANSITIONS,
} from '@closenotify/core';
import { delay, HANG_GUARD_MS } from '../assert.ts';
import { type AdapterUnderTest, trustOptions } from '../case.ts';
import {
  DEFAULT_SEED,
  type Direction,
  type PeerClient,
  type PeerHandle,
  type PeerPki,
  type PeerReport,
  pseudoRandomBytes,
  type Step,
  sha256Hex,
} from '../peer-client.ts';

/** close() may take its timeout plus the contract's flush margin; this much more is a hang, not lateness. */
const CLOSE_HANG_MARGIN_MS = 2_000;
/** How long a peer action that ends or kills the connection gets to reach our socket before we go on. */
const PEER_ACTION_SETTLE_MS = 150;
const FINAL_SIGNAL = 'final';
const encoder = new TextEncoder();

export interface FuzzEnvironment {
  adapter: AdapterUnderTest;
  peer: PeerClient;
  pki: PeerPki;
}

export interface SequenceResult {
  problems: string[];
  durationMs: number;
  /** How many worlds of the model the judgement looked at. */
  worlds: number;
}

/** The bytes a `write` of `bytes` sends as a string: UTF-8 of two-byte and one-byte characters. */
export function textOf(bytes: number): string {
  return 'é'.repeat(bytes >> 1) + (bytes & 1 ? 'a' : '');
}

/** Waits for `promise` at most `ms`; true when it settled in time. Leaves no timer behind. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Settled {
  settled: 'resolved' | 'rejected';
  value?: unknown;
  error?: unknown;
  at: number;
}

/** A promise of ours under watch: how it settled, and when. */
class Watched {
  result: Settled | undefined;
  readonly done: Promise<void>;
  constructor(promise: Promise<unknown>, onValue?: (value: unknown) => void) {
    this.done = promise.then(
      (value) => {
        this.result = { settled: 'resolved', value, at: performance.now() };
        onValue?.(value);
      },
      (error: unknown) => {
        this.result = { settled: 'rejected', error, at: performance.now() };
      },
    );
  }
}

export async function executeScenario(env: FuzzEnvironment, scenario: FuzzScenario): Promise<SequenceResult> {
  const started = performance.now();
  const problems: string[] = [];
  let peer: PeerHandle | undefined;
  let socket: ShutdownableSecureSocket | undefined;
  let worldCount = 0;
  try {
    const opened = await open(env, scenario);
    peer = opened.peer;
    socket = opened.socket;
    worldCount = await drive(env, scenario, socket, peer, problems);
  } catch (error) {
    problems.push(`the run itself failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    socket?.abort(new Error('fuzz teardown'));
    await peer?.stop().catch((error: unknown) => problems.push(`peer teardown: ${String(error)}`));
  }
  return { problems, durationMs: performance.now() - started, worlds: worldCount };
}

/** The peer's script: each generated action waits for its signal; then it reads to our end and answers it. */
export function peerSteps(scenario: FuzzScenario): Step[] {
  const steps: Step[] = [];
  for (const [index, command] of scenario.commands.entries()) {
    if (command.actor !== 'peer') continue;
    steps.push({ op: 'wait', signal: `c${index}` });
    steps.push(
      command.op === 'send' ? { op: 'send', bytes: command.bytes, seed: index + 1 } : { op: command.op },
    );
  }
  steps.push(
    { op: 'wait', signal: FINAL_SIGNAL },
    { op: 'resumeReading' },
    { op: 'readUntilEnd' },
    { op: 'closeNotify' },
  );
  return steps;
}

async function open(
  env: FuzzEnvironment,
  scenario: FuzzScenario,
): Promise<{ peer: PeerHandle; socket: ShutdownableSecureSocket }> {
  const options = {
    allowHalfOpen: scenario.allowHalfOpen,
    truncation: scenario.truncation,
    closeTimeoutMs: SCENARIO_CLOSE_TIMEOUT_MS,
  };
  const steps = peerSteps(scenario);
  if (scenario.role === 'client') {
    const peer = await env.peer.start({ role: 'server', tls: scenario.tls, steps });
    try {
      const socket = await env.adapter.connect({
        hostname: 'localhost',
        port: peer.port,
        ...trustOptions(env.adapter.capabilities, env.pki.ca),
        ...options,
      });
      return { peer, socket };
    } catch (error) {
      await peer.stop().catch(() => {});
      throw error;
    }
  }
  let handOut: (socket: ShutdownableSecureSocket) => void = () => {};
  const accepted = new Promise<ShutdownableSecureSocket>((resolve) => {
    handOut = resolve;
  });
  const server = await env.adapter.listen({ ...env.pki.server, ...options }, (socket) => handOut(socket));
  try {
    const peer = await env.peer.start({
      role: 'client',
      tls: scenario.tls,
      connect: { port: server.address.port },
      steps,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const socket = await Promise.race([
      accepted,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the peer never connected')), HANG_GUARD_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    return { peer, socket };
  } finally {
    await server.close();
  }
}

async function drive(
  env: FuzzEnvironment,
  scenario: FuzzScenario,
  socket: ShutdownableSecureSocket,
  peer: PeerHandle,
  problems: string[],
): Promise<number> {
  const capabilities = env.adapter.capabilities;
  const watched = new Map<number, Watched>();
  const stateAfter = new Map<number, SocketState>();
  const states: SocketState[] = [socket.state];
  const noteState = (): void => {
    if (states.at(-1) !== socket.state) states.push(socket.state);
  };
  const readChunks: Uint8Array[] = [];
  /** Every settled read(into): what it resolved with, and a copy to tell whether core wrote into it later. */
  const readsInto: ReadInto[] = [];
  const outbound: Uint8Array[] = [];
  let shutdownPromise: Promise<void> | undefined;
  let closePromise: Promise<CloseReport> | undefined;
  const closeBounds: Array<{ index: number; calledAt: number; timeoutMs: number }> = [];
  let reused = new Uint8Array(0);
  let reusedBusy: Promise<void> = Promise.resolve();
  let peerKilled = false;

  for (const [index, command] of scenario.commands.entries()) {
    if (command.actor === 'peer') {
      const before = socket.state;
      await peer.signal(`c${index}`);
      if (command.op === 'rst' || command.op === 'garbage') peerKilled = true;
      if (command.op === 'send' || command.op === 'stopReading' || command.op === 'resumeReading') {
        await delay(5);
      } else {
        const until = performance.now() + PEER_ACTION_SETTLE_MS;
        while (socket.state === before && performance.now() < until) await delay(5);
      }
      noteState();
      continue;
    }
    switch (command.op) {
      case 'write': {
        let data: Uint8Array | string;
        let bytes: Uint8Array;
        if (command.form === 'string') {
          data = textOf(command.bytes);
          bytes = encoder.encode(data);
        } else if (command.form === 'reused') {
          // The same buffer again, once the write that had it resolved (until then it is the socket's).
          await settledWithin(reusedBusy, HANG_GUARD_MS);
          if (reused.byteLength < command.bytes) reused = new Uint8Array(Math.max(command.bytes, 4096));
          bytes = pseudoRandomBytes(command.bytes, 0x5eed + index);
          reused.set(bytes);
          data = reused.subarray(0, command.bytes);
        } else {
          bytes = pseudoRandomBytes(command.bytes, 0xbeef + index);
          data = bytes;
        }
        outbound.push(bytes);
        const promise = socket.write(data);
        stateAfter.set(index, socket.state);
        const buffer = reused;
        const watch = new Watched(promise, () => {
          // The caller's again: overwrite it, and any copy the runtime should have made shows it.
          if (command.form === 'reused') buffer.fill(0xee);
        });
        watched.set(index, watch);
        if (command.form === 'reused') reusedBusy = watch.done;
        await delay(0);
        break;
      }
      case 'read': {
        const into = command.into === undefined ? undefined : new Uint8Array(command.into);
        const read = socket.read(into);
        stateAfter.set(index, socket.state);
        watched.set(
          index,
          new Watched(read, (value) => {
            if (!(value instanceof Uint8Array)) return;
            readChunks.push(value.slice());
            if (into !== undefined) readsInto.push({ index, into, filled: value, copy: value.slice() });
          }),
        );
        await delay(0);
        break;
      }
      case 'shutdown': {
        const promise = socket.shutdown(command.how);
        stateAfter.set(index, socket.state);
        if (command.how !== 'read') {
          if (shutdownPromise && promise !== shutdownPromise) {
            problems.push(
              `#${index} ${describeCommand(command)} returned a new promise, not the first shutdown's`,
            );
          }
          shutdownPromise ??= promise;
        }
        watched.set(index, new Watched(promise));
        break;
      }
      case 'close': {
        const promise = socket.close({ timeoutMs: command.timeoutMs });
        stateAfter.set(index, socket.state);
        if (closePromise && promise !== closePromise) {
          problems.push(
            `#${index} ${describeCommand(command)} returned a new promise, not the first close()'s`,
          );
        }
        if (!closePromise)
          closeBounds.push({ index, calledAt: performance.now(), timeoutMs: command.timeoutMs });
        closePromise ??= promise;
        watched.set(index, new Watched(promise));
        break;
      }
      case 'abort':
        socket.abort(new Error('fuzz abort'));
        stateAfter.set(index, socket.state);
        break;
      case 'idle':
        stateAfter.set(index, socket.state);
        await delay(command.ms);
        break;
    }
    noteState();
  }

  // The end: the peer reads to our end of stream and answers; we close (sharing any earlier close()).
  await peer.signal(FINAL_SIGNAL);
  const finalIndex = finalCloseIndex(scenario);
  const finalClose = socket.close();
  if (closePromise && finalClose !== closePromise)
    problems.push("the final close() returned a new promise, not the first close()'s");
  if (!closePromise)
    closeBounds.push({
      index: finalIndex,
      calledAt: performance.now(),
      timeoutMs: SCENARIO_CLOSE_TIMEOUT_MS,
    });
  watched.set(finalIndex, new Watched(finalClose));

  const closedWatch = new Watched(socket.closed);
  const closedBound = SCENARIO_CLOSE_TIMEOUT_MS + CLOSE_HANG_MARGIN_MS;
  await settledWithin(closedWatch.done, closedBound);
  noteState();
  if (!closedWatch.result) {
    problems.push(
      `closed did not resolve within ${closedBound} ms of the final close() (state ${socket.state})`,
    );
    return 0;
  }
  if (closedWatch.result.settled === 'rejected') {
    problems.push(`closed rejected: ${String(closedWatch.result.error)}`);
    return 0;
  }
  const report = closedWatch.result.value as CloseReport;

  // Every promise of ours settles: pending ones within the hang guard of the close.
  await settledWithin(Promise.all([...watched.values()].map((w) => w.done)), HANG_GUARD_MS);
  for (const [index, watch] of watched) {
    if (!watch.result) {
      const what =
        index === finalIndex
          ? 'the final close()'
          : `#${index} ${describeCommand(scenario.commands[index]!)}`;
      problems.push(`${what} was still pending ${HANG_GUARD_MS} ms after closed resolved`);
    }
  }
  for (const bound of closeBounds) {
    const settledAt = watched.get(bound.index)?.result?.at;
    const limit = bound.timeoutMs + CLOSE_HANG_MARGIN_MS;
    if (settledAt !== undefined && settledAt - bound.calledAt > limit) {
      problems.push(
        `close({ timeoutMs: ${bound.timeoutMs} }) took ${Math.round(settledAt - bound.calledAt)} ms (bound ${limit} ms)`,
      );
    }
  }
  for (const [index, watch] of watched) {
    const value = watch.result?.settled === 'resolved' ? watch.result.value : undefined;
    if (typeof value === 'object' && value !== null && 'initiator' in value && value !== report) {
      problems.push(`#${index} close() resolved with another report than closed`);
    }
    if (watch.result?.settled === 'rejected' && !isSecureSocketErrorLike(watch.result.error)) {
      problems.push(
        `#${index} rejected with something that is not a SecureSocketError: ${String(watch.result.error)}`,
      );
    }
  }

  // Data still queued when the socket ended can be read (a failure keeps it readable).
  for (let drained = 0; drained < 1000; drained++) {
    let last: Uint8Array | null = null;
    const next = socket.read().then(
      (chunk) => {
        last = chunk;
      },
      () => {},
    );
    if (!(await settledWithin(next, HANG_GUARD_MS))) {
      problems.push('read() after closed stayed pending');
      break;
    }
    if (last === null) break;
    readChunks.push((last as Uint8Array).slice());
  }
  if (socket.state !== 'closed') problems.push(`state is ${socket.state} after closed resolved`);

  const peerReport = await peer.whenDone(HANG_GUARD_MS);

  // The model: every outcome and the report must be explained by one legal world.
  const outcomes = new Map<number, Outcome>();
  for (const [index, watch] of watched) if (watch.result) outcomes.set(index, outcomeOf(watch.result));
  const verdict = judge(scenario, capabilities, { outcomes, states: stateAfter, report });
  if (!verdict.legal) {
    problems.push(
      `no legal world explains the run (${verdict.worlds} looked at); nearest [${verdict.choices.join('; ')}]: ${verdict.mismatches.join('; ')}`,
    );
  }
  problems.push(...checkStates(states));
  problems.push(...checkReadsInto(readsInto));
  problems.push(
    ...(await checkData(
      scenario,
      report,
      readChunks,
      outbound,
      watched,
      peerReport,
      capabilities.abortiveReset,
    )),
  );
  problems.push(...checkWire(scenario, capabilities.abortiveReset, report, peerReport, peerKilled));
  if (problems.length > 0) {
    problems.push(
      `(context: report ${JSON.stringify({ ...report, error: report.error && `${report.error.code}: ${report.error.message}`, durationMs: undefined })}; states ${states.join(' → ')}; wire ${peerReport.wireSummary}; peer log ${peerReport.log.map((entry) => entry.text).join(' | ')})`,
    );
  }
  return verdict.worlds;
}

function isSecureSocketErrorLike(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'SecureSocketError' &&
    typeof (error as { code?: unknown }).code === 'string'
  );
}

/** Each state seen must be reachable from the one before through legal transitions of the table. */
interface ReadInto {
  index: number;
  /** The buffer passed to read(into). */
  into: Uint8Array;
  /** What the read resolved with. */
  filled: Uint8Array;
  /** `filled`'s bytes when the read settled. */
  copy: Uint8Array;
}

/**
 * read(into) resolves with a view of the start of the caller's buffer, 1 byte or more, and core
 * never writes into that buffer once the read settled (checked at the end of the run).
 */
export function checkReadsInto(reads: readonly ReadInto[]): string[] {
  const problems: string[] = [];
  for (const { index, into, filled, copy } of reads) {
    if (filled.buffer !== into.buffer || filled.byteOffset !== into.byteOffset) {
      problems.push(
        `#${index} read(into) resolved with a view that is not the start of the buffer passed in`,
      );
    } else if (filled.byteLength < 1 || filled.byteLength > into.byteLength) {
      problems.push(
        `#${index} read(into) resolved with ${filled.byteLength} bytes for a ${into.byteLength}-byte buffer`,
      );
    } else if (
      firstDifference(filled, copy) >= 0 ||
      into.subarray(filled.byteLength).some((byte) => byte !== 0)
    ) {
      problems.push(`#${index} the buffer of a settled read(into) was written to afterwards`);
    }
  }
  return problems;
}

export function checkStates(states: readonly SocketState[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < states.length; i++) {
    if (!reachable(states[i - 1]!, states[i]!)) {
      problems.push(`illegal state change ${states[i - 1]} → ${states[i]} (seen: ${states.join(' → ')})`);
    }
  }
  if (states.at(-1) !== 'closed') problems.push(`the last state seen is ${states.at(-1)}, not closed`);
  return problems;
}

function reachable(from: SocketState, to: SocketState): boolean {
  const seen = new Set<SocketState>([from]);
  const queue = [from];
  while (queue.length > 0) {
    const state = queue.shift()!;
    if (state === to) return true;
    for (const event of SOCKET_EVENTS) {
      const next = TRANSITIONS[state][event];
      if (next !== ILLEGAL && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function checkData(
  scenario: FuzzScenario,
  report: CloseReport,
  readChunks: readonly Uint8Array[],
  outbound: readonly Uint8Array[],
  watched: ReadonlyMap<number, Watched>,
  peerReport: PeerReport,
  abortiveReset: boolean,
): Promise<string[]> {
  const problems: string[] = [];
  // Inbound: what the peer sends is known byte for byte (each send step has its own seed).
  const deliverable: Uint8Array[] = [];
  let cut = false;
  for (const [index, command] of scenario.commands.entries()) {
    if (command.actor !== 'peer') continue;
    if (command.op === 'send') deliverable.push(pseudoRandomBytes(command.bytes, index + 1));
    if (command.op === 'finMidRecord') cut = true;
  }
  const expectedIn = concat(deliverable);
  const peerSent = concat(
    cut ? [...deliverable, pseudoRandomBytes(FIN_MID_RECORD_BYTES, DEFAULT_SEED)] : deliverable,
  );
  const sentBytes = peerReport.sent.bytes;
  if (
    sentBytes > peerSent.byteLength ||
    (await sha256Hex(peerSent.subarray(0, sentBytes))) !== peerReport.sent.sha256
  ) {
    problems.push(`harness: the peer's sent bytes (${sentBytes}) are not the expected stream`);
  }
  const deliverableSent = Math.min(sentBytes, expectedIn.byteLength);
  const read = concat(readChunks);
  if (read.byteLength > deliverableSent) {
    problems.push(
      `read ${read.byteLength} bytes, but the peer sent only ${deliverableSent} deliverable bytes`,
    );
  } else {
    const at = firstDifference(read, expectedIn);
    if (at >= 0) problems.push(`byte ${at} read differs from what the peer sent`);
  }
  if (report.bytesRead !== read.byteLength) {
    problems.push(`report.bytesRead is ${report.bytesRead}, but read() delivered ${read.byteLength} bytes`);
  }
  const received = report.bytesRead + report.bytesDiscarded;
  if (received > deliverableSent) {
    problems.push(
      `bytesRead ${report.bytesRead} + bytesDiscarded ${report.bytesDiscarded} exceed the ${deliverableSent} bytes the peer sent`,
    );
  }
  const peerEndSeen =
    report.closeNotifyReceived === true || report.truncated === true || report.closeNotifyReceived === null;
  // A reset lets the kernels on its way (the relay's, ours) drop what they had not handed on yet.
  const peerReset = scenario.commands.some((command) => command.actor === 'peer' && command.op === 'rst');
  if (peerEndSeen && !cut && !peerReset && received !== deliverableSent) {
    problems.push(
      `the peer's end was seen, but bytesRead ${report.bytesRead} + bytesDiscarded ${report.bytesDiscarded} ≠ the ${deliverableSent} bytes it sent`,
    );
  }

  // Outbound: the accepted writes are a prefix of the calls (a refusal is final), in call order.
  const written = concat(outbound);
  let resolvedBytes = 0;
  for (const [index, watch] of watched) {
    const command = scenario.commands[index];
    if (command?.actor === 'us' && command.op === 'write' && watch.result?.settled === 'resolved') {
      resolvedBytes +=
        command.form === 'string' ? encoder.encode(textOf(command.bytes)).byteLength : command.bytes;
    }
  }
  if (report.bytesWritten > written.byteLength) {
    problems.push(
      `report.bytesWritten ${report.bytesWritten} exceeds the ${written.byteLength} bytes ever passed to write()`,
    );
  }
  if (report.bytesWritten < resolvedBytes) {
    problems.push(
      `report.bytesWritten ${report.bytesWritten} is less than the ${resolvedBytes} bytes of resolved writes`,
    );
  }
  const got = peerReport.received;
  if (got.bytes > report.bytesWritten) {
    problems.push(`the peer received ${got.bytes} bytes, more than the ${report.bytesWritten} written`);
  } else if ((await sha256Hex(written.subarray(0, got.bytes))) !== got.sha256) {
    problems.push(`the ${got.bytes} bytes the peer received differ from what was written (sha256)`);
  }
  const ours: Direction = scenario.role === 'client' ? 'c2s' : 's2c';
  const ourCloseNotifyOnWire = peerReport.wire.some(
    (event) => event.dir === ours && event.kind === 'alert' && event.description === 'close_notify',
  );
  // Only a socket that says its close_notify went out promises that everything before it did: an
  // abort drops what was queued (and without abortiveReset the runtime's background close_notify then
  // follows the dropped bytes). A RST of ours (an abort's, or the kernel's at a release with the peer's
  // bytes unread) also discards what the peer's kernel held unread, close_notify or not.
  if (
    report.closeNotifySent &&
    report.initiator !== 'abort' &&
    !resetByUs(scenario, abortiveReset, report, peerReport) &&
    peerReport.ended &&
    ourCloseNotifyOnWire &&
    got.bytes !== report.bytesWritten
  ) {
    problems.push(
      `our close_notify reached the peer after ${got.bytes} bytes, but ${report.bytesWritten} were accepted (bytes lost)`,
    );
  }
  return problems;
}

/**
 * Our side reset the connection: abort() on a runtime that can, or the kernel when we released a
 * connection whose peer sent bytes we never took (a close() that does not wait for the peer while it
 * keeps sending). Such a RST drops whatever the kernels on its way still held: a close_notify handed
 * over just before, and what the peer's kernel held unread. closeNotifySent says we handed it over, not
 * that it arrived (spec §3, "closeNotifySent").
 */
function resetByUs(
  scenario: FuzzScenario,
  abortiveReset: boolean,
  report: CloseReport,
  peerReport: PeerReport,
): boolean {
  if (report.initiator === 'abort' && abortiveReset) return true;
  const ours: Direction = scenario.role === 'client' ? 'c2s' : 's2c';
  const unreadAtRelease = peerReport.sent.bytes > report.bytesRead + report.bytesDiscarded;
  return unreadAtRelease && peerReport.wire.some((event) => event.dir === ours && event.kind === 'rst');
}

function checkWire(
  scenario: FuzzScenario,
  abortiveReset: boolean,
  report: CloseReport,
  peerReport: PeerReport,
  peerKilled: boolean,
): string[] {
  const problems: string[] = [];
  const ours: Direction = scenario.role === 'client' ? 'c2s' : 's2c';
  const theirs: Direction = ours === 'c2s' ? 's2c' : 'c2s';
  const alert = (dir: Direction): boolean =>
    peerReport.wire.some(
      (event) => event.dir === dir && event.kind === 'alert' && event.description === 'close_notify',
    );
  const ourCloseNotify = alert(ours);
  if (
    report.closeNotifySent &&
    !peerKilled &&
    !resetByUs(scenario, abortiveReset, report, peerReport) &&
    !ourCloseNotify
  ) {
    problems.push('report.closeNotifySent is true, but no close_notify of ours crossed the wire');
  }
  // Without abortiveReset the runtime cannot drop a connection without its close_notify: abort() and
  // the release after a fatal error still send one in the background (spec §6, note 3).
  const backgroundClose = !abortiveReset && (report.initiator === 'abort' || report.error !== undefined);
  // A close_notify handed to the runtime just before an abort, a reset or a close timeout may still
  // reach the wire: only a socket that ended cleanly must know it went out.
  if (!report.closeNotifySent && ourCloseNotify && !backgroundClose && report.error === undefined) {
    problems.push('report.closeNotifySent is false, but our close_notify crossed the wire');
  }
  if (report.closeNotifyReceived === true && !alert(theirs)) {
    problems.push("report.closeNotifyReceived is true, but the peer's close_notify never crossed the wire");
  }
  const ourFin = peerReport.wire.some((event) => event.dir === ours && event.kind === 'fin');
  if (report.initiator === 'abort' && abortiveReset && !peerKilled && !ourFin) {
    const reset = peerReport.wire.some((event) => event.dir === ours && event.kind === 'rst');
    if (!reset) problems.push('abort() on a runtime with abortiveReset put no RST on the wire');
  }
  return problems;
}
