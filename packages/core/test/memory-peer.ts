/**
 * An in-memory transport with a scripted peer, for unit tests of core only (adapters and the
 * conformance suite use real sockets). It logs what core put "on the wire" in order, applies
 * backpressure both ways, and lets a test play the peer's side of every close path.
 */
import {
  type Capabilities,
  type ConnectOptions,
  connectWith,
  type OpenContext,
  SecureSocketError,
  type SessionInfo,
  type ShutdownableSecureSocket,
  type Transport,
  type TransportSink,
} from '../src/index.ts';

export type WireEntry =
  | { kind: 'data'; bytes: number }
  | { kind: 'close_notify' }
  | { kind: 'fin' }
  | { kind: 'rst' };

export const FULL_CAPABILITIES: Capabilities = {
  halfClose: true,
  shutdownRead: true,
  truncationDetection: true,
  abortiveReset: true,
  sessionInfo: {
    protocol: true,
    cipher: true,
    alpnProtocol: true,
    servername: true,
    peerCertificate: true,
    authorized: true,
    localAddress: true,
    remoteAddress: true,
  },
  keepAlive: true,
  keepAliveInitialDelay: true,
  serverNoDelay: true,
  serverKeepAlive: true,
  clientCertificateSocketOptions: true,
  idleTimeout: true,
  startTls: false,
  server: true,
  clientCertificates: true,
  disableVerification: true,
  versionBounds: true,
  requestClientCertificates: true,
  dropDuringHandshake: true,
  exclusiveCa: true,
  tls12ServerCloseNotify: true,
};

export const SESSION: SessionInfo = {
  protocol: 'TLSv1.3',
  cipher: { name: 'TLS_AES_128_GCM_SHA256', standardName: 'TLS_AES_128_GCM_SHA256' },
  alpnProtocol: null,
  servername: 'localhost',
  peerCertificate: null,
  authorized: true,
  localAddress: { hostname: '127.0.0.1', port: 50000 },
  remoteAddress: { hostname: '127.0.0.1', port: 443 },
};

export class MemoryPeer {
  /** What our socket sent, in order. */
  readonly wire: WireEntry[] = [];
  /** Plaintext bytes our socket sent. */
  received = 0;
  released = 0;
  /** True while core has paused delivery; what the peer sends meanwhile waits, as in TCP. */
  paused = false;
  /** What the peer sent while core had paused delivery, in TCP order: the peer is blocked meanwhile. */
  backlog: Array<() => void> = [];
  /** When set, write() pushes back until releaseBackpressure(). */
  pushBack = false;
  /** When set, shutdownWrite() settles only when settleShutdown() is called. */
  slowShutdown = false;
  #pendingWrites: Array<() => void> = [];
  #pendingShutdown: (() => void) | undefined;
  sink!: TransportSink;

  transport: Transport = {
    write: (chunk) => {
      this.wire.push({ kind: 'data', bytes: chunk.byteLength });
      this.received += chunk.byteLength;
      if (!this.pushBack) return undefined;
      return new Promise<void>((resolve) => this.#pendingWrites.push(resolve));
    },
    shutdownWrite: () => {
      this.wire.push({ kind: 'close_notify' }, { kind: 'fin' });
      if (!this.slowShutdown) return undefined;
      return new Promise<void>((resolve) => {
        this.#pendingShutdown = resolve;
      });
    },
    pause: () => {
      this.paused = true;
    },
    resume: () => {
      this.paused = false;
      while (!this.paused && this.backlog.length > 0) this.backlog.shift()!();
    },
    reset: () => {
      this.wire.push({ kind: 'rst' });
      this.released += 1;
    },
    release: () => {
      this.released += 1;
    },
  };

  send(data: Uint8Array | string): void {
    const chunk = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.#inOrder(() => this.sink.data(chunk));
  }

  /** Delivers `chunk` as a view of a buffer reused at once, then scribbles over it, as a reusing runtime would. */
  sendBorrowed(chunk: Uint8Array): void {
    this.#inOrder(() => {
      const reused = new Uint8Array(chunk);
      this.sink.borrowedData(reused);
      reused.fill(0xee);
    });
  }

  closeNotify(): void {
    this.#inOrder(() => this.sink.end(true));
  }

  eofWithoutCloseNotify(): void {
    this.#inOrder(() => this.sink.end(false));
  }

  /** Nothing overtakes data that is still waiting for the reader to resume, as on a TCP stream. */
  #inOrder(deliver: () => void): void {
    if (this.paused || this.backlog.length > 0) this.backlog.push(deliver);
    else deliver();
  }

  reset(): void {
    this.sink.error(
      new SecureSocketError('ERR_CONNECTION_RESET', 'The peer reset the connection', { phase: 'read' }),
    );
  }

  releaseBackpressure(): void {
    this.pushBack = false;
    for (const resolve of this.#pendingWrites.splice(0)) resolve();
  }

  settleShutdown(): void {
    this.#pendingShutdown?.();
  }

  kinds(): string[] {
    return this.wire.map((entry) => entry.kind);
  }
}

export interface Opened {
  socket: ShutdownableSecureSocket;
  peer: MemoryPeer;
}

/** A connected socket over a MemoryPeer. */
export async function openSocket(options: Partial<ConnectOptions> = {}): Promise<Opened> {
  const peer = new MemoryPeer();
  const socket = await connectWith(
    { hostname: 'localhost', port: 443, ...options },
    FULL_CAPABILITIES,
    async (context: OpenContext) => {
      peer.sink = context.sink;
      context.connected();
      return { transport: peer.transport, session: SESSION };
    },
  );
  return { socket, peer };
}

export function bytes(length: number, fill = 7): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

export async function readAll(socket: ShutdownableSecureSocket): Promise<number> {
  let total = 0;
  for (;;) {
    const chunk = await socket.read();
    if (chunk === null) return total;
    total += chunk.byteLength;
  }
}
