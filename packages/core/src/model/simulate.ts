/**
 * The reference model of the contract (spec §3 and §4) for one generated sequence: a small
 * simulation of what a socket may do, with the real world's races made explicit as choices. The
 * peer acts on its own clock, so each peer action reaches our socket at some point after it was
 * issued; a peer that stopped reading may or may not hold up our close_notify; a close() timer may
 * fire while it waits. `worlds()` enumerates every combination of those choices, and each one
 * yields a world: the outcomes each of our calls may have and the close report it must end with.
 * A run is legal when at least one world explains everything that was observed.
 *
 * Runtime-free and pure: no timers, no sockets, no I/O.
 */
import type { ErrorCode } from '../errors.ts';
import { nextState, type SocketEvent } from '../state.ts';
import type { CloseInitiator, SocketState } from '../types.ts';
import {
  type FuzzCommand,
  type FuzzScenario,
  type ModelCapabilities,
  type PeerCommand,
  SCENARIO_CLOSE_TIMEOUT_MS,
} from './commands.ts';

/** How a peer's reset may reach us through the wire observer's relay (the model's choices, in order). */
const RESET_ARRIVALS = [
  'the reset reached us',
  'the reset reached us as a FIN',
  'the reset reached us as a FIN, then itself',
];

/**
 * What one of our calls ended with: `'ok'` (resolved), `'data'` (read() gave bytes), `'null'`
 * (read() gave the end of stream), `'report'` (close() resolved with the close report), or the
 * code it rejected with.
 */
export type Outcome = 'ok' | 'data' | 'null' | 'report' | ErrorCode;

export interface PredictedReport {
  initiator: CloseInitiator;
  closeNotifySent: boolean;
  closeNotifyReceived: boolean | null;
  truncated: boolean | null;
  /** The report's `error.code`, null without an error. */
  errorCode: ErrorCode | null;
}

export interface World {
  /** The outcomes each of our commands may have, by its index in the scenario's commands. */
  outcomes: Map<number, ReadonlySet<Outcome>>;
  /** The state right after each of our calls returned (before anything else could run). */
  states: Map<number, SocketState>;
  report: PredictedReport;
  /** The choices that led here, in words, for a failure message. */
  choices: string[];
}

/** The index the scenario's final close() gets: one past its last command. */
export function finalCloseIndex(scenario: FuzzScenario): number {
  return scenario.commands.length;
}

type Choose = (count: number, what: (choice: number) => string) => number;

/** How many worlds a judgement looks at, at most; a generated sequence stays far below it. */
export const MAX_WORLDS = 50_000;

/**
 * Every world the scenario can end in, by re-running the simulation with each combination of
 * choices (depth first: the last choice point that still has an untried branch moves on).
 */
export function* worlds(scenario: FuzzScenario, capabilities: ModelCapabilities): Generator<World> {
  let prefix: number[] = [];
  for (let count = 0; count < MAX_WORLDS; count++) {
    const arities: number[] = [];
    const made: number[] = [];
    const choices: string[] = [];
    const choose: Choose = (options, what) => {
      const choice = made.length < prefix.length ? prefix[made.length]! : 0;
      arities.push(options);
      made.push(choice);
      if (options > 1) choices.push(what(choice));
      return choice;
    };
    const world = new Simulation(scenario, capabilities, choose).run();
    yield { ...world, choices };
    let last = made.length - 1;
    while (last >= 0 && made[last]! + 1 >= arities[last]!) last--;
    if (last < 0) return;
    prefix = [...made.slice(0, last), made[last]! + 1];
  }
}

class Simulation {
  readonly #scenario: FuzzScenario;
  readonly #capabilities: ModelCapabilities;
  /** A reset passed on as a FIN whose own arrival, as a reset, is still to come. */
  #resetBehindEnd = false;
  readonly #choose: Choose;

  #state: SocketState = 'open';
  // Read side.
  #readDone = false;
  #readShutLocally = false;
  #readError: ErrorCode | undefined;
  /** What a read pending when reading ended got: its error, or the end of stream. */
  #readEnd: Outcome | undefined;
  // Write side.
  #writeShut = false;
  #closeNotifySent = false;
  #bytesAccepted = 0;
  /** Our shutdown('write'/'both') calls: they share one promise, settled once. */
  #shutdownCalls: number[] = [];
  #shutdownOutcome: Outcome | undefined;
  // The peer and the close.
  #peerEnded = false;
  #closeNotifyReceived: boolean | null = false;
  #truncated: boolean | null = false;
  #firstToShut: 'local' | 'peer' | undefined;
  #initiator: CloseInitiator | undefined;
  #error: ErrorCode | undefined;
  #closeCalled = false;
  #closeWaitsForPeer = true;
  #closeTimerArmed = false;
  #peerStopped = false;
  /** Issued peer actions our socket has not seen yet, in order. */
  #inFlight: PeerCommand[] = [];
  /** The peer can still send (it has not ended, reset, or spoken garbage). */
  #peerCanSend = true;

  readonly #outcomes = new Map<number, ReadonlySet<Outcome>>();
  readonly #states = new Map<number, SocketState>();
  /** Outcomes only known at the end: accepted writes, and reads that may have waited. */
  readonly #acceptedWrites: Array<{ index: number; couldStall: boolean }> = [];
  readonly #waitingReads: number[] = [];

  constructor(scenario: FuzzScenario, capabilities: ModelCapabilities, choose: Choose) {
    this.#scenario = scenario;
    this.#capabilities = capabilities;
    this.#choose = choose;
  }

  run(): Omit<World, 'choices'> {
    for (const [index, command] of this.#scenario.commands.entries()) {
      if (command.actor === 'peer') {
        this.#issuePeer(command);
        continue;
      }
      this.#tick();
      this.#ours(command, index);
      this.#states.set(index, this.#state);
    }
    this.#finale();
    return { outcomes: this.#settleOutcomes(), states: this.#states, report: this.#report() };
  }

  // ---- time passing --------------------------------------------------------------------------

  /** Between two of our calls: some of the peer's actions arrive, a held flush completes, a timer fires. */
  #tick(): void {
    const waiting = this.#inFlight.length;
    if (waiting > 0) {
      const arrived = this.#choose(waiting + 1, (n) => `${n} of ${waiting} peer action(s) arrived`);
      for (let i = 0; i < arrived; i++) this.#observe(this.#inFlight.shift()!);
    }
    if (
      this.#resetBehindEnd &&
      this.#choose(2, (c) => (c ? 'the reset behind it arrived' : 'the reset behind it not yet')) === 1
    ) {
      this.#resetArrived();
    }
    this.#maybeFlush();
    this.#maybeCloseTimer();
  }

  #finale(): void {
    this.#tick();
    this.#close(SCENARIO_CLOSE_TIMEOUT_MS, finalCloseIndex(this.#scenario));
    while (this.#inFlight.length > 0) {
      this.#observe(this.#inFlight.shift()!);
      this.#flush();
      this.#maybeCloseTimer();
    }
    if (this.#resetBehindEnd) this.#resetArrived();
    // The peer's last steps: it reads again, reads to our end of stream, then sends its close_notify.
    this.#peerStopped = false;
    this.#answerBeforeHandOver();
    this.#flush();
    if (this.#peerCanSend && this.#state !== 'closed') this.#peerEnd(this.#closeNotifyVerdict());
    if (this.#state !== 'closed' && this.#closeTimerArmed) this.#closeTimedOut();
  }

  #resetArrived(): void {
    this.#resetBehindEnd = false;
    this.#fail('ERR_CONNECTION_RESET');
  }

  /**
   * Our close_notify is on the wire before the runtime reports it handed over (Node learns it when
   * the FIN's write completes): a peer that reads it at once can answer before the release that a
   * close() not waiting for the peer does at that report.
   */
  #answerBeforeHandOver(): void {
    if (!this.#writeShut || this.#closeNotifySent || this.#state !== 'closing' || !this.#peerCanSend) return;
    if (
      this.#choose(2, (c) =>
        c ? "the peer's answer came before the hand-over was reported" : 'hand-over reported first',
      ) === 0
    ) {
      return;
    }
    this.#closeNotifySent = true;
    this.#shutdownOutcome ??= 'ok';
    this.#peerEnd(this.#closeNotifyVerdict());
    this.#releaseWhenDone();
  }

  #issuePeer(command: PeerCommand): void {
    if (command.op === 'send' || command.op === 'stopReading' || command.op === 'resumeReading') {
      this.#inFlight.push(command);
      return;
    }
    this.#peerCanSend = false;
    this.#inFlight.push(command);
  }

  #observe(command: PeerCommand): void {
    switch (command.op) {
      case 'stopReading':
        this.#peerStopped = true;
        return;
      case 'resumeReading':
        this.#peerStopped = false;
        return;
      case 'send':
        return;
      case 'closeNotify':
      case 'fin':
      case 'finMidRecord':
        // A reset right behind the end (both already on their way) can overtake it: the receiving
        // kernel reports the reset, and the end is never read.
        if (
          this.#inFlight[0]?.op === 'rst' &&
          this.#choose(2, (c) =>
            c ? 'the reset swallowed the end before it' : 'the end came before the reset',
          ) === 1
        ) {
          return;
        }
        if (command.op === 'closeNotify') this.#peerEnd(this.#closeNotifyVerdict());
        else this.#peerEnd(this.#capabilities.truncationDetection ? false : null);
        return;
      case 'rst':
        // The wire observer's relay passes a reset on as a reset only while it can still probe the
        // peer's socket; once a FIN crossed it (or with data right in front of the reset) it may pass
        // on a FIN instead. The suite's reset cases pin the reset itself down. A FIN passed on can
        // still be followed by the reset itself (read as the end, then the error).
        switch (this.#choose(3, (c) => RESET_ARRIVALS[c]!)) {
          case 0:
            this.#fail('ERR_CONNECTION_RESET');
            return;
          case 1:
            this.#peerEnd(this.#capabilities.truncationDetection ? false : null);
            return;
          default:
            this.#peerEnd(this.#capabilities.truncationDetection ? false : null);
            this.#resetBehindEnd = true;
            return;
        }
      case 'garbage':
        this.#fail('ERR_TLS_PROTOCOL');
        return;
    }
  }

  /** What the adapter can say when the peer's close_notify ended its stream. */
  #closeNotifyVerdict(): boolean | null {
    const { truncationDetection, tls12ServerCloseNotify } = this.#capabilities;
    if (!truncationDetection) return null;
    const blind =
      this.#scenario.role === 'server' && this.#scenario.tls === 'TLSv1.2' && !tls12ServerCloseNotify;
    return blind ? null : true;
  }

  // ---- our calls -----------------------------------------------------------------------------

  #ours(command: FuzzCommand & { actor: 'us' }, index: number): void {
    switch (command.op) {
      case 'write':
        this.#write(command.bytes, index);
        return;
      case 'read':
        this.#read(index);
        return;
      case 'shutdown':
        this.#outcomes.set(index, new Set(['ok']));
        if (command.how !== 'write') this.#shutdownRead();
        if (command.how !== 'read') this.#shutdownWrite(index);
        return;
      case 'close':
        this.#close(command.timeoutMs, index);
        return;
      case 'abort':
        this.#abort();
        return;
      case 'idle':
        return;
    }
  }

  #write(bytes: number, index: number): void {
    const refusal =
      this.#error ??
      (this.#writeShut
        ? 'ERR_WRITE_AFTER_SHUTDOWN'
        : this.#state === 'closed'
          ? 'ERR_SOCKET_CLOSED'
          : undefined);
    if (refusal) {
      this.#outcomes.set(index, new Set([refusal]));
      return;
    }
    if (bytes === 0) {
      this.#outcomes.set(index, new Set(['ok']));
      return;
    }
    this.#bytesAccepted += bytes;
    this.#acceptedWrites.push({ index, couldStall: this.#peerStopped });
  }

  #read(index: number): void {
    if (!this.#readDone) {
      this.#waitingReads.push(index);
      return;
    }
    // Data that arrived before the end (or before a fatal error) is still readable, except after our
    // own shutdown('read') or abort(), which discard it.
    const queuedData = !this.#readShutLocally && this.#initiator !== 'abort';
    const end: Outcome = this.#readError ?? 'null';
    this.#outcomes.set(index, new Set(queuedData ? ['data', end] : [end]));
  }

  #shutdownRead(): void {
    if (this.#readShutLocally || this.#state === 'closed') return;
    this.#readShutLocally = true;
    this.#firstToShut ??= 'local';
    this.#apply('readShutdown');
    this.#finishReading();
    this.#releaseWhenDone();
  }

  #shutdownWrite(index?: number): void {
    if (index !== undefined) this.#shutdownCalls.push(index);
    if (this.#writeShut) return;
    this.#writeShut = true;
    if (this.#state === 'closed') {
      this.#shutdownOutcome = this.#closeNotifySent ? 'ok' : (this.#error ?? 'ERR_SOCKET_CLOSED');
      return;
    }
    this.#firstToShut ??= 'local';
    this.#apply('writeShutdown');
    this.#maybeFlush();
  }

  /**
   * Handing close_notify over may take the runtime a few turns of its loop: a call made meanwhile
   * still finds it queued. It is handed over by the finale at the latest.
   */
  #maybeFlush(): void {
    if (!this.#writeShut || this.#closeNotifySent || this.#state === 'closed') return;
    if (this.#choose(2, (c) => (c ? 'close_notify not handed over yet' : 'close_notify handed over')) === 0) {
      this.#flush();
    }
  }

  /** Our close_notify goes out once everything accepted is flushed; a peer that stopped reading may hold that up. */
  #flush(): void {
    if (!this.#writeShut || this.#closeNotifySent || this.#state === 'closed') return;
    if (this.#peerStopped && this.#bytesAccepted > 0) {
      const held = this.#choose(2, (c) =>
        c ? 'the stalled peer held our close_notify' : 'flushed despite the stalled peer',
      );
      if (held) return;
    }
    this.#closeNotifySent = true;
    this.#shutdownOutcome ??= 'ok';
    this.#releaseWhenDone();
  }

  #close(timeoutMs: number, index: number): void {
    this.#outcomes.set(index, new Set(['report']));
    if (this.#closeCalled) return;
    this.#closeCalled = true;
    if (this.#state === 'closed') return;
    this.#firstToShut ??= 'local';
    this.#apply('closeStarted');
    this.#closeWaitsForPeer = timeoutMs > 0;
    this.#closeTimerArmed = true;
    this.#shutdownRead();
    this.#shutdownWrite();
    this.#releaseWhenDone();
  }

  /** close()'s timer can only matter while the close still waits: for our flush, or for the peer. */
  #maybeCloseTimer(): void {
    if (!this.#closeTimerArmed || this.#state === 'closed') return;
    const waiting = this.#writesPending() || (this.#closeWaitsForPeer && !this.#peerEnded);
    if (!waiting) return;
    if (this.#choose(2, (c) => (c ? "close()'s timer fired" : "close()'s timer had not fired yet"))) {
      this.#closeTimedOut();
    }
  }

  #closeTimedOut(): void {
    this.#closeTimerArmed = false;
    this.#initiator ??= 'timeout';
    if (!this.#writesPending()) {
      this.#release();
      return;
    }
    // The runtime may not have reported our close_notify handed over although it was on the wire (Node
    // learns it when the FIN's write completes), so the peer's answer can be in before the timer fires.
    if (
      this.#peerCanSend &&
      !this.#peerEnded &&
      this.#choose(2, (c) =>
        c ? "the peer's answer came before the timer" : 'no answer before the timer',
      ) === 1
    ) {
      this.#peerEnded = true;
      this.#closeNotifyReceived = this.#closeNotifyVerdict();
      this.#truncated = this.#closeNotifyReceived === null ? null : false;
    }
    this.#error ??= 'ERR_CLOSE_TIMEOUT';
    this.#apply('failed');
    this.#rejectWrites(this.#error);
  }

  #abort(): void {
    if (this.#state === 'closed') return;
    this.#error = 'ERR_ABORTED';
    this.#initiator = 'abort';
    this.#readError = 'ERR_ABORTED';
    this.#apply('aborted');
    this.#finishReading();
    this.#rejectWrites('ERR_ABORTED');
  }

  // ---- the peer's end and failures -----------------------------------------------------------

  #peerEnd(closeNotify: boolean | null): void {
    if (this.#state === 'closed' || this.#peerEnded) return;
    this.#peerEnded = true;
    this.#firstToShut ??= 'peer';
    this.#closeNotifyReceived = closeNotify;
    this.#truncated = closeNotify === null ? null : !closeNotify;
    if (closeNotify === false && this.#scenario.truncation === 'error' && !this.#readDone) {
      this.#fail('ERR_TLS_TRUNCATED');
      return;
    }
    this.#apply('peerEnded');
    this.#finishReading();
    if (!this.#scenario.allowHalfOpen) this.#shutdownWrite();
    this.#releaseWhenDone();
  }

  #fail(code: ErrorCode): void {
    if (this.#state === 'closed') return;
    this.#error = code;
    this.#initiator ??= 'error';
    this.#apply('failed');
    if (!this.#readDone) {
      this.#readError = code;
      this.#finishReading();
    }
    this.#rejectWrites(code);
  }

  #releaseWhenDone(): void {
    if (this.#state !== 'closing') return;
    if (this.#closeNotifySent && (this.#peerEnded || !this.#closeWaitsForPeer)) this.#release();
  }

  #release(): void {
    if (this.#state === 'closed') return;
    this.#apply('released');
    if (this.#writesPending()) this.#rejectWrites(this.#error ?? 'ERR_SOCKET_CLOSED');
  }

  #writesPending(): boolean {
    return this.#writeShut && !this.#closeNotifySent;
  }

  #rejectWrites(code: ErrorCode): void {
    if (this.#writeShut && !this.#closeNotifySent) this.#shutdownOutcome ??= code;
  }

  #finishReading(): void {
    this.#readDone = true;
    this.#readEnd ??= this.#readError ?? 'null';
  }

  #apply(event: SocketEvent): void {
    this.#state = nextState(this.#state, event);
  }

  // ---- the end -------------------------------------------------------------------------------

  #settleOutcomes(): Map<number, ReadonlySet<Outcome>> {
    const outcomes = new Map(this.#outcomes);
    const shutdown = this.#shutdownOutcome ?? this.#error ?? 'ERR_SOCKET_CLOSED';
    for (const index of this.#shutdownCalls) outcomes.set(index, new Set([shutdown]));
    for (const { index, couldStall } of this.#acceptedWrites) {
      // An accepted write resolves once the runtime took it; it fails only if the socket died first.
      const allowed = new Set<Outcome>(['ok']);
      if (this.#error) allowed.add(this.#error);
      if (couldStall) allowed.add('ERR_SOCKET_CLOSED');
      outcomes.set(index, allowed);
    }
    const end = this.#readEnd ?? 'null';
    for (const index of this.#waitingReads) outcomes.set(index, new Set(['data', end]));
    return outcomes;
  }

  #report(): PredictedReport {
    return {
      initiator: this.#initiator ?? this.#firstToShut ?? 'local',
      closeNotifySent: this.#closeNotifySent,
      closeNotifyReceived: this.#closeNotifyReceived,
      truncated: this.#truncated,
      errorCode: this.#error ?? null,
    };
  }
}
