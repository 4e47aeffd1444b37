// One scriptable TLS peer: a server that the socket under test connects to, or a client that connects to
// the listener under test; with the wire observer's relay in front unless the spec turns it off. It
// scripts its first connection, records everything it sees, and never lets a socket error escape.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextCheckPhase, setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import type { Pki, PkiCredential } from '@closenotify/test-pki';
import type {
  AcceptBehaviour,
  CertificateVariant,
  Direction,
  PeerReport,
  PeerSpec,
  Step,
  TlsVersion,
} from '../src/peer-client.ts';
import { ByteTally } from './byte-tally.ts';
import { Condition } from './condition.ts';
import { ScriptedConnection } from './connection.ts';
import { type Relay, startRelay, summarize } from './observer/index.ts';
import { RecordCutter } from './record-cutter.ts';
import { runScript, SignalBoard } from './script.ts';

const BAD_REQUEST = Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n');
const ACCEPT_GARBAGE_BYTES = 64;
const LOOPBACK = '127.0.0.1';
const NOTHING = new ByteTally().summary();
const RECORD_POLL_MS = 2;

export class Peer {
  readonly id: string;
  /** Where the socket under test connects (server role). */
  port: number | undefined;
  readonly #spec: PeerSpec;
  readonly #pki: Pki;
  readonly #lifetime = new AbortController();
  readonly #changed = new Condition();
  readonly #signals = new SignalBoard();
  readonly #connections: ScriptedConnection[] = [];
  readonly #log: PeerReport['log'] = [];
  readonly #errors: PeerReport['errors'] = [];
  readonly #recordedErrors = new WeakSet<object>();
  #relay: Relay | undefined;
  #server: net.Server | undefined;
  #handshake: PeerReport['handshake'];
  #scriptStarted = false;
  #scriptDone = false;
  #stopped: Promise<void> | undefined;

  private constructor(id: string, spec: PeerSpec, pki: Pki) {
    this.id = id;
    this.#spec = spec;
    this.#pki = pki;
  }

  static async start(id: string, spec: PeerSpec, pki: Pki): Promise<Peer> {
    const peer = new Peer(id, spec, pki);
    try {
      if (spec.role === 'server') await peer.#listen();
      else await peer.#connect();
    } catch (error) {
      await peer.stop();
      throw error;
    }
    return peer;
  }

  /**
   * The script finished, or the connection closed before it could start (a failed handshake, say).
   * A close during the script ends the script at once: every step's wait is bounded by the connection.
   */
  get done(): boolean {
    return this.#scriptDone || (!this.#scriptStarted && (this.#connections[0]?.closed ?? false));
  }

  report(): PeerReport {
    const connection = this.#connections[0];
    const wire = this.#relay?.connections()[0]?.events() ?? [];
    const received = connection ? connection.received.summary() : NOTHING;
    return {
      id: this.id,
      done: this.done,
      ...(this.port === undefined ? {} : { port: this.port }),
      ...(this.#handshake ? { handshake: this.#handshake } : {}),
      received: received.bytes > 0 ? { ...received, text: connection?.received.head() } : received,
      sent: connection ? connection.sent.summary() : NOTHING,
      ended: connection?.ended ?? false,
      errors: [...this.#errors],
      log: [...this.#log],
      wire,
      wireSummary: summarize(wire),
    };
  }

  /** The report once done, or after `timeoutMs`, or when the peer stops, whichever comes first. */
  async whenDone(timeoutMs: number): Promise<PeerReport> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const deadline = AbortSignal.any([this.#lifetime.signal, timeout.signal]);
    try {
      await this.#changed.until(() => this.done, deadline);
      await this.#ownEndOnRecord(deadline);
    } catch {
      // Timed out or stopped: the report says `done: false`.
    } finally {
      clearTimeout(timer);
    }
    return this.report();
  }

  /**
   * The relay records what it receives before passing it on, so whatever the socket under test has seen
   * is on record; but the peer's own last FIN or RST may still be on its way to the relay when the script
   * ends. The relay has no event for it, so this looks again every few milliseconds, until it is there or
   * the relay has closed both its sockets.
   */
  async #ownEndOnRecord(signal: AbortSignal): Promise<void> {
    const observed = this.#relay?.connections()[0];
    if (!observed || !this.#connections[0]?.writeShut) return;
    let relayFinished = false;
    void observed.ended.then(() => {
      relayFinished = true;
    });
    const own: Direction = this.#spec.role === 'server' ? 's2c' : 'c2s';
    const recorded = () =>
      observed.events().some((event) => event.dir === own && (event.kind === 'fin' || event.kind === 'rst'));
    while (!recorded() && !relayFinished) await sleep(RECORD_POLL_MS, undefined, { signal });
  }

  signal(name: string): void {
    this.#note(`signal ${name} raised`);
    this.#signals.raise(name);
  }

  /** Stops listening and the relay, destroys every socket; resolves once all of them have closed. */
  stop(): Promise<void> {
    this.#stopped ??= this.#teardown();
    return this.#stopped;
  }

  async #teardown(): Promise<void> {
    this.#lifetime.abort(new Error('the peer was stopped'));
    const server = this.#server;
    const serverClosed = server?.listening
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    await Promise.all(this.#connections.map((connection) => connection.dispose()));
    await serverClosed;
    await this.#relay?.close();
  }

  async #listen(): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true }, (raw) => this.#accept(raw));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.#recordError(error));
    const target = { host: LOOPBACK, port: (server.address() as net.AddressInfo).port };
    if (this.#spec.observe ?? true) {
      this.#relay = await startRelay({ target, plaintextFirst: this.#spec.startTls ?? false });
    }
    this.port = this.#relay?.port ?? target.port;
  }

  #accept(raw: net.Socket): void {
    if (this.#lifetime.signal.aborted) {
      raw.on('error', () => {});
      raw.destroy();
      return;
    }
    const connection = this.#track(raw);
    const scripted = this.#connections.length === 1;
    const behaviour = this.#spec.onAccept ?? 'tls';
    if (scripted) this.#note(`accepted a connection (onAccept ${behaviour})`);
    if (this.#spec.startTls) {
      connection.usePlain();
      if (scripted) void this.#runScript(connection);
      return;
    }
    if (behaviour === 'tls') {
      this.#handshakeAsServer(connection, scripted);
      return;
    }
    connection.usePlain();
    void this.#acceptWithoutTls(connection, behaviour, scripted);
  }

  async #acceptWithoutTls(
    connection: ScriptedConnection,
    behaviour: Exclude<AcceptBehaviour, 'tls'>,
    scripted: boolean,
  ): Promise<void> {
    try {
      const outcome = await misbehave(connection, behaviour, this.#lifetime.signal);
      if (scripted) this.#note(outcome);
    } catch (error) {
      this.#note(`onAccept ${behaviour} failed: ${error instanceof Error ? error.message : error}`);
    }
    if (scripted) await this.#runScript(connection);
  }

  #handshakeAsServer(connection: ScriptedConnection, scripted: boolean): void {
    // A TLS server per connection maps its events to this connection without guessing, and releases the
    // socket's errors to us the documented way (tlsClientError before the handshake, 'error' after).
    const engine = tls.createServer(this.#serverOptions());
    engine.on('keylog', (line: Buffer) => {
      this.#relay?.keylog(line);
      connection.cutter?.keylog(line);
    });
    engine.on('tlsClientError', (error) => this.#recordError(error));
    engine.once('secureConnection', (socket: tls.TLSSocket) => {
      connection.useTls(socket);
      if (scripted) this.#secured(connection, socket, this.#spec.requestClientCert ?? false);
    });
    engine.emit('connection', connection.transport);
  }

  async #connect(): Promise<void> {
    const { connect } = this.#spec;
    if (!connect) throw new Error('a client-role peer needs spec.connect');
    const target = { host: connect.host ?? LOOPBACK, port: connect.port };
    if (this.#spec.observe ?? true) {
      this.#relay = await startRelay({ target, plaintextFirst: this.#spec.startTls ?? false });
    }
    const raw = net.connect({
      host: this.#relay ? LOOPBACK : target.host,
      port: this.#relay?.port ?? target.port,
      allowHalfOpen: true,
    });
    const connection = this.#track(raw);
    this.#note(`connecting to ${target.host}:${target.port}${this.#relay ? ' through the relay' : ''}`);
    if (connect.silent || this.#spec.startTls) {
      connection.usePlain();
      raw.once('connect', () => {
        this.#note(connect.silent ? 'connected; staying silent (no ClientHello)' : 'connected in plaintext');
        void this.#runScript(connection);
      });
      return;
    }
    const socket = this.#clientTls(connection);
    connection.useTls(socket);
    socket.once('secureConnect', () => this.#secured(connection, socket, true));
  }

  /** The client side of TLS over the connection's transport (the TCP socket, or the record cutter). */
  #clientTls(connection: ScriptedConnection): tls.TLSSocket {
    const servername = this.#spec.connect?.servername ?? 'localhost';
    const socket = tls.connect({
      socket: connection.transport,
      // SNI carries host names only (RFC 6066 §3).
      ...(net.isIP(servername) ? {} : { servername }),
      ca: this.#pki.ca,
      ...versionRange(this.#spec.tls),
      ...(this.#spec.ciphers ? { ciphers: this.#spec.ciphers } : {}),
      ...(this.#spec.alpn ? { ALPNProtocols: this.#spec.alpn } : {}),
      ...clientCredentialFor(this.#spec, this.#pki),
      // The peer reports a failed verification instead of enforcing it, so cases can assert on it.
      rejectUnauthorized: false,
    });
    socket.on('keylog', (line: Buffer) => {
      this.#relay?.keylog(line);
      connection.cutter?.keylog(line);
    });
    return socket;
  }

  /**
   * The `startTls` step: the peer's side of the handshake over the plaintext connection, as its role.
   * Bytes the peer has not read yet stay in the TCP socket and are TLS's to read.
   */
  async #startTls(connection: ScriptedConnection, signal: AbortSignal): Promise<string> {
    connection.leavePlain();
    let socket: tls.TLSSocket;
    if (this.#spec.role === 'client') {
      socket = this.#clientTls(connection);
      connection.useTls(socket);
      await settled(socket, 'secureConnect', signal);
    } else {
      const engine = tls.createServer(this.#serverOptions());
      engine.on('keylog', (line: Buffer) => this.#relay?.keylog(line));
      engine.on('tlsClientError', (error) => this.#recordError(error));
      let onAbort: (() => void) | undefined;
      const secured = new Promise<tls.TLSSocket>((resolve, reject) => {
        engine.once('secureConnection', resolve);
        engine.once('tlsClientError', reject);
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      engine.emit('connection', connection.raw);
      try {
        socket = await secured;
      } finally {
        signal.removeEventListener('abort', onAbort!);
      }
      connection.useTls(socket);
    }
    const verifiesPeer = this.#spec.role === 'client' || (this.#spec.requestClientCert ?? false);
    this.#recordHandshake(socket, verifiesPeer);
    // As after a direct handshake: the script's next bytes wait for TLS's own first output (#secured).
    connection.holdBytesUntil(nextCheckPhase());
    return `TLS started: ${socket.getProtocol()} ${socket.getCipher()?.name}`;
  }

  #recordHandshake(socket: tls.TLSSocket, verifiesPeer: boolean): void {
    this.#handshake = describeHandshake(socket, verifiesPeer, this.#spec.role);
  }

  /** The handshake of the scripted connection is done: record it and run the script. */
  #secured(connection: ScriptedConnection, socket: tls.TLSSocket, verifiesPeer: boolean): void {
    this.#recordHandshake(socket, verifiesPeer);
    this.#note(`handshake done: ${socket.getProtocol()} ${socket.getCipher()?.name}`);
    // Node reports the handshake from inside OpenSSL's handshake-done callback, and a TLS 1.3 server's
    // OpenSSL writes its NewSessionTicket records only after that callback has returned: bytes written in
    // this turn of the event loop (microtasks and nextTick included) go out before the tickets, which then
    // trail behind the script's data unasked. A socket under test that has read all of that data and then
    // gets a `rst` finds the tickets unread in front of the RST, and libuv reports a read of data with the
    // RST's POLLHUP behind it as a plain end of stream, not ECONNRESET. By the next check phase OpenSSL has
    // queued the tickets, so the script's bytes wait for it; a RST right away still goes out at once.
    connection.holdBytesUntil(nextCheckPhase());
    void this.#runScript(connection);
  }

  #track(raw: net.Socket): ScriptedConnection {
    const number = this.#connections.length + 1;
    const scripted = number === 1;
    const steps = scripted ? (this.#spec.steps ?? []) : [];
    const connection = new ScriptedConnection(raw, {
      cutter: cutterFor(steps, raw, this.#spec.role),
      hooks: {
        error: (error) => this.#recordError(error, scripted ? '' : `connection ${number}: `),
        closed: () => {
          if (scripted) this.#note('connection closed');
          this.#changed.notify();
        },
      },
    });
    this.#connections.push(connection);
    return connection;
  }

  async #runScript(connection: ScriptedConnection): Promise<void> {
    this.#scriptStarted = true;
    const lifetime = AbortSignal.any([this.#lifetime.signal, connection.closedSignal]);
    await runScript(this.#spec.steps ?? [], {
      connection,
      signals: this.#signals,
      lifetime,
      log: (text) => this.#note(text),
      describeEndOfStream: () => this.#describeEndOfStream(),
      startTls: () => this.#startTls(connection, lifetime),
    });
    this.#scriptDone = true;
    this.#changed.notify();
  }

  #serverOptions(): tls.TlsOptions {
    return {
      ...credentialFor(this.#spec.certificate ?? 'valid', this.#pki),
      ca: this.#pki.ca,
      ...versionRange(this.#spec.tls),
      ...(this.#spec.ciphers ? { ciphers: this.#spec.ciphers } : {}),
      ...(this.#spec.alpn ? { ALPNProtocols: this.#spec.alpn } : {}),
      requestCert: this.#spec.requestClientCert ?? false,
      rejectUnauthorized: false,
    };
  }

  #describeEndOfStream(): string {
    const relay = this.#relay;
    if (!relay) return 'the observer is off, so whether a close_notify came first is unknown';
    const underTest: Direction = this.#spec.role === 'server' ? 'c2s' : 's2c';
    const events = (relay.connections()[0]?.events() ?? []).filter((event) => event.dir === underTest);
    if (events.some((event) => event.kind === 'alert' && event.description === 'close_notify')) {
      return 'it came after a close_notify';
    }
    if (events.some((event) => event.kind === 'undecryptable')) {
      return 'records the observer could not decrypt leave open whether a close_notify came first';
    }
    return 'no close_notify came first';
  }

  #note(text: string): void {
    this.#log.push({ at: performance.now(), text });
  }

  #recordError(error: unknown, prefix = ''): void {
    // Errors caused by our own teardown are noise, and one error can reach us through several sockets.
    if (this.#lifetime.signal.aborted) return;
    if (typeof error === 'object' && error !== null) {
      if (this.#recordedErrors.has(error)) return;
      this.#recordedErrors.add(error);
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    this.#errors.push({
      at: performance.now(),
      ...(typeof code === 'string' ? { code } : {}),
      message: prefix + (error instanceof Error ? error.message : String(error)),
    });
    this.#changed.notify();
  }
}

/** Until `socket` emits `event`; rejects on its error or close, or when `signal` aborts. */
function settled(socket: tls.TLSSocket, event: string, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: unknown): void => {
      socket.off(event, onEvent);
      socket.off('error', done);
      socket.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onEvent = (): void => done();
    const onClose = (): void => done(new Error('the connection closed during the handshake'));
    const onAbort = (): void => done(signal.reason);
    socket.once(event, onEvent);
    socket.once('error', done);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a server-role peer does instead of TLS when the socket under test connects; returns what it did. */
async function misbehave(
  connection: ScriptedConnection,
  behaviour: Exclude<AcceptBehaviour, 'tls'>,
  signal: AbortSignal,
): Promise<string> {
  switch (behaviour) {
    case 'plaintext':
      connection.raw.on('data', () => connection.writeNow(BAD_REQUEST));
      return 'answering every chunk with an HTTP 400';
    case 'garbage':
      await connection.garbage(ACCEPT_GARBAGE_BYTES, signal);
      return `${ACCEPT_GARBAGE_BYTES} bytes of garbage sent`;
    case 'fin':
      await connection.fin(signal);
      return 'bare FIN sent';
    case 'rst':
      connection.reset();
      return 'RST sent';
    case 'silent':
      return 'staying silent';
  }
}

/** The cutter, for scripts that work below the TLS layer; set up to follow the peer's keys if they craft records. */
function cutterFor(
  steps: readonly Step[],
  raw: net.Socket,
  role: PeerSpec['role'],
): RecordCutter | undefined {
  const crafts = steps.some((step) => step.op === 'alert' || step.op === 'keyUpdate');
  const needsCutter =
    crafts ||
    steps.some((step) => step.op === 'finMidRecord' || (step.op === 'closeNotify' && step.fin === false));
  if (!needsCutter) return undefined;
  return new RecordCutter(raw, crafts ? { craftingAs: role === 'server' ? 's2c' : 'c2s' } : {});
}

function versionRange(version: TlsVersion | undefined): { minVersion: TlsVersion; maxVersion: TlsVersion } {
  const forced = version ?? 'TLSv1.3';
  return { minVersion: forced, maxVersion: forced };
}

/** What a client-role peer presents when the server asks for a certificate: nothing unless the spec names one. */
function clientCredentialFor(spec: PeerSpec, pki: Pki): PkiCredential | Record<string, never> {
  switch (spec.clientCertificate ?? (spec.requestClientCert ? 'valid' : undefined)) {
    case 'valid':
      return pki.client;
    case 'expired':
      return pki.expiredClient;
    case 'untrusted':
      return pki.untrustedClient;
    case undefined:
      return {};
  }
}

function credentialFor(variant: CertificateVariant, pki: Pki): PkiCredential {
  switch (variant) {
    case 'valid':
      return pki.server;
    case 'selfSigned':
      return pki.selfSigned;
    case 'expired':
      return pki.expired;
    case 'wrongHost':
      return pki.wrongHost;
    case 'untrusted':
      return pki.untrusted;
    case 'wrongKeyUsage':
      return pki.wrongKeyUsage;
    case 'defaultTrusted':
      return pki.defaultTrusted;
  }
}

function describeHandshake(
  socket: tls.TLSSocket,
  verifiesPeer: boolean,
  role: PeerSpec['role'],
): NonNullable<PeerReport['handshake']> {
  return {
    protocol: socket.getProtocol() ?? null,
    cipher: socket.getCipher()?.name ?? null,
    alpn: socket.alpnProtocol || null,
    // A TLS server's `servername` is the SNI it received, or false when the client sent none.
    ...(role === 'server' ? { servername: socket.servername || null } : {}),
    ...(verifiesPeer
      ? {
          authorized: socket.authorized,
          authorizationError: socket.authorizationError ? String(socket.authorizationError) : null,
        }
      : {}),
  };
}
