import { afterEach, beforeAll, beforeEach, expect } from 'bun:test';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { liveResources } from '@closenotify/core';
import { ensurePki, type Pki } from '@closenotify/test-pki';
import type { ShutdownableSecureSocket } from '../src/index.ts';

const PEER_SCRIPT = fileURLToPath(new URL('./fixtures/node-peer.mjs', import.meta.url));

export type PeerCommand =
  | { op: 'send'; bytes: number; seed?: number }
  | { op: 'sendText'; text: string }
  | { op: 'end' }
  | { op: 'rst' }
  | { op: 'garbage' }
  | { op: 'resume' };

export interface PeerSpec {
  role: 'server' | 'client';
  /** Server role: the certificate's file name in the PKI directory. Default 'server'. */
  certificate?: 'server' | 'self-signed' | 'expired' | 'wrong-host' | 'untrusted';
  /** Server role: what the TCP front does instead of TLS. */
  onAccept?: 'plaintext' | 'garbage' | 'fin' | 'rst' | 'silent';
  /** Client role: the port of the listener under test. */
  port?: number;
  clientCert?: boolean;
  requestClientCert?: boolean;
  alpn?: string[];
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Stop reading the socket under test (at the TCP level) once this many bytes came from it; 'resume' reads on. */
  pauseAfterBytes?: number;
  onSecure?: PeerCommand[];
  /** Run once the socket under test sent close_notify and its TCP FIN arrived (client role: its close_notify). */
  onEnd?: PeerCommand[];
}

export interface PeerEvent {
  ev: string;
  [field: string]: unknown;
}

const peers = new Set<NodePeer>();

/** A Node TLS peer in its own process (fixtures/node-peer.mjs), driven through stdin and stdout. */
export class NodePeer {
  readonly #process: Bun.Subprocess<'pipe', 'pipe', 'pipe'>;
  readonly #events: PeerEvent[] = [];
  readonly #waiters = new Set<() => void>();
  /** Settles with the exit code and stderr once every line of stdout was read. */
  readonly #ended: Promise<string>;

  private constructor(process: Bun.Subprocess<'pipe', 'pipe', 'pipe'>) {
    this.#process = process;
    this.#ended = this.#collect().then(
      async () => `exit ${await process.exited}: ${await new Response(process.stderr).text()}`,
    );
  }

  static async start(spec: PeerSpec): Promise<NodePeer> {
    const process = Bun.spawn(['node', PEER_SCRIPT, JSON.stringify({ ...spec, pkiDir: (await pki()).dir })], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const peer = new NodePeer(process);
    peers.add(peer);
    await peer.event('ready');
    return peer;
  }

  /** Server role: where the socket under test connects. */
  get port(): number {
    return this.#events.find((event) => event.ev === 'ready')!.port as number;
  }

  /** The first event of that name, whether it already happened or happens later. */
  async event(name: string): Promise<PeerEvent> {
    for (;;) {
      const found = this.#events.find((event) => event.ev === name);
      if (found) return found;
      const woken = new Promise<void>((resolve) => this.#waiters.add(resolve));
      const ended = await Promise.race([woken.then(() => undefined), this.#ended]);
      if (ended !== undefined && !this.#events.some((event) => event.ev === name)) {
        throw new Error(
          `the peer ended before '${name}' (${ended}); events: ${JSON.stringify(this.#events)}`,
        );
      }
    }
  }

  has(name: string): boolean {
    return this.#events.some((event) => event.ev === name);
  }

  command(command: PeerCommand): void {
    this.#process.stdin.write(`${JSON.stringify(command)}\n`);
    this.#process.stdin.flush();
  }

  stop(): void {
    this.#process.kill();
  }

  async #collect(): Promise<void> {
    let buffered = '';
    for await (const text of this.#process.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += text;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        this.#events.push(JSON.parse(buffered.slice(0, newline)) as PeerEvent);
        buffered = buffered.slice(newline + 1);
      }
      for (const waiter of this.#waiters) waiter();
      this.#waiters.clear();
    }
  }
}

let cachedPki: Promise<Pki> | undefined;
export function pki(): Promise<Pki> {
  cachedPki ??= ensurePki();
  return cachedPki;
}

/**
 * Every test file calls this: peers are stopped, an unhandled rejection fails the test that caused
 * it, and no socket or server may outlive its test (contract invariants 4 and 5). The live count is
 * compared with the test's own start, so a socket an earlier failing test left behind fails that test
 * only, never every test after it.
 */
export function checkEveryTest(): void {
  const unhandled: unknown[] = [];
  process.on('unhandledRejection', (reason) => unhandled.push(reason));
  // On a fresh clone the first caller generates the test PKI (RSA keys) while every other package's
  // tests compete for the same cores: a CPU budget (the package's `--timeout` bounds hangs, not speed).
  beforeAll(async () => {
    await pki();
  });
  let atStart = liveResources();
  beforeEach(() => {
    atStart = liveResources();
  });
  afterEach(() => {
    for (const peer of peers) peer.stop();
    peers.clear();
    const now = liveResources();
    expect(unhandled.splice(0)).toEqual([]);
    expect({
      sockets: Math.max(0, now.sockets - atStart.sockets),
      servers: Math.max(0, now.servers - atStart.servers),
    }).toEqual({ sockets: 0, servers: 0 });
  });
}

/**
 * What `promise` rejects with; throws if it resolves. Every test uses `expect(await rejection(p))`, never
 * `expect(p).rejects` or `.resolves`: Bun 1.4.5's bun:test settles those by running the event loop
 * re-entrantly, and when the awaiting test code is a continuation of an I/O handler (Bun drains
 * microtasks after each one), the nested tick's epoll_wait overwrites the batch of ready polls the
 * outer tick is still dispatching. A NodePeer's stdout is a one-shot poll the kernel disarmed when it
 * reported it, so a line that arrived in that batch is never read, nor is anything after it: the
 * peer's events stop and `event()` waits until the test times out (oven-sh/bun#40030).
 */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, it resolved');
}

export async function readAll(socket: ShutdownableSecureSocket): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let chunk = await socket.read(); chunk !== null; chunk = await socket.read()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function readText(socket: ShutdownableSecureSocket): Promise<string> {
  return new TextDecoder().decode(await readAll(socket));
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
