// Runs a peer's steps one after the other. A step that cannot complete (the connection closed under it,
// the peer was stopped) ends the script with a log line; nothing here ever throws to the caller.
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_SEED, type Step } from '../src/peer-client.ts';
import { Condition } from './condition.ts';
import type { ScriptedConnection } from './connection.ts';

const DEFAULT_CHUNK = 65_536;
const DEFAULT_FIN_MID_RECORD_BYTES = 1022;
const DEFAULT_GARBAGE_BYTES = 64;
/** AlertLevel (RFC 5246 §7.2). */
const ALERT_LEVELS = { warning: 1, fatal: 2 } as const;

/** Named signals raised through the control API; each raise releases one `wait`, before or after it starts. */
export class SignalBoard {
  readonly #raised = new Map<string, number>();
  readonly #consumed = new Map<string, number>();
  readonly #changed = new Condition();

  raise(name: string): void {
    this.#raised.set(name, (this.#raised.get(name) ?? 0) + 1);
    this.#changed.notify();
  }

  async wait(name: string, signal: AbortSignal): Promise<void> {
    const consumed = this.#consumed.get(name) ?? 0;
    await this.#changed.until(() => (this.#raised.get(name) ?? 0) > consumed, signal);
    this.#consumed.set(name, consumed + 1);
  }
}

export interface ScriptContext {
  connection: ScriptedConnection;
  signals: SignalBoard;
  /** Aborted when the peer stops or the connection closes. */
  lifetime: AbortSignal;
  log(text: string): void;
  /** Whether the end of stream from the socket under test followed a close_notify, as far as the wire tells. */
  describeEndOfStream(): string;
  /** STARTTLS: runs the peer's side of the handshake over the connection; returns what happened. */
  startTls(): Promise<string>;
}

export async function runScript(steps: readonly Step[], context: ScriptContext): Promise<void> {
  for (const [index, step] of steps.entries()) {
    try {
      const outcome = await runStep(step, context);
      context.log(`step ${index} ${step.op}: ${outcome}`);
    } catch (error) {
      // Node's abortable timers throw a generic AbortError; the lifetime's reason says why it ended.
      const cause = error instanceof Error && error.name === 'AbortError' ? context.lifetime.reason : error;
      context.log(
        `step ${index} ${step.op} failed, script stopped: ${cause instanceof Error ? cause.message : cause}`,
      );
      return;
    }
  }
  context.log('script finished');
}

async function runStep(step: Step, context: ScriptContext): Promise<string> {
  const { connection, lifetime } = context;
  switch (step.op) {
    case 'send': {
      const seed = step.seed ?? DEFAULT_SEED;
      const sha256 = await connection.send(step.bytes, seed, step.chunk ?? DEFAULT_CHUNK, lifetime);
      return `${step.bytes} bytes sent (seed ${seed}, sha256 ${sha256})`;
    }
    case 'sendText':
      await connection.write(Buffer.from(step.text), lifetime);
      return `${Buffer.byteLength(step.text)} bytes of text sent`;
    case 'read':
      await connection.read(step.bytes, lifetime);
      return `${step.bytes} bytes read (${connection.received.bytes} received in all)`;
    case 'readUntilEnd':
      await connection.readUntilEnd(lifetime);
      return `end of stream after ${connection.received.bytes} bytes; ${context.describeEndOfStream()}`;
    case 'echo':
      await connection.echoUntilEnd(lifetime);
      return `echoed until the end of stream; ${context.describeEndOfStream()}`;
    case 'closeNotify': {
      const fin = step.fin ?? true;
      await connection.closeNotify(lifetime, { fin });
      return fin ? 'close_notify and FIN sent' : 'close_notify sent, FIN held back';
    }
    case 'alert': {
      const level = step.level ?? 'warning';
      const record = { kind: 'alert', level: ALERT_LEVELS[level], description: step.description } as const;
      await connection.craft([record], lifetime);
      return `crafted ${level} alert ${step.description} sent`;
    }
    case 'keyUpdate':
      await connection.craft([{ kind: 'keyUpdate' }], lifetime);
      return 'crafted KeyUpdate sent; later crafted records use the next keys';
    case 'fin':
      await connection.fin(lifetime);
      return 'bare FIN sent';
    case 'finMidRecord': {
      const bytes = step.bytes ?? DEFAULT_FIN_MID_RECORD_BYTES;
      const cut = await connection.finMidRecord(bytes, lifetime);
      return `${bytes} bytes written; ${cut.kept} of the record's ${cut.total} ciphertext bytes sent, then a bare FIN`;
    }
    case 'rst':
      connection.reset();
      return 'RST sent';
    case 'garbage': {
      const bytes = step.bytes ?? DEFAULT_GARBAGE_BYTES;
      await connection.garbage(bytes, lifetime);
      return `${bytes} bytes of garbage sent`;
    }
    case 'stopReading':
      connection.stopReading();
      return 'reading stopped';
    case 'resumeReading':
      connection.resumeReading();
      return 'reading resumed';
    case 'streamUntilClosed':
      return connection.streamUntilClosed(step.chunk ?? DEFAULT_CHUNK, step.maxBytes, lifetime);
    case 'wait':
      await context.signals.wait(step.signal, lifetime);
      return `signal ${step.signal} received`;
    case 'sleep':
      await sleep(step.ms, undefined, { signal: lifetime });
      return `slept ${step.ms} ms`;
    case 'waitEnd':
      await connection.waitEnd(lifetime);
      return connection.closed ? 'the connection closed' : 'both directions ended';
    case 'destroy':
      connection.destroy();
      return 'socket destroyed';
    case 'startTls':
      return context.startTls();
  }
}
