// The conformance cases' handle on the scriptable TLS peer daemon (peer/daemon.ts). It runs inside every
// runtime under test (Node, Bun, Deno), so it uses web-standard APIs only: fetch, TextEncoder, crypto.subtle.
// The types below are the one definition of the daemon's control API; the daemon imports them from here.

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export type CertificateVariant =
  | 'valid'
  | 'selfSigned'
  | 'expired'
  | 'wrongHost'
  | 'untrusted'
  /** Signed by the test CA for the loopback names, but for client authentication only. */
  | 'wrongKeyUsage'
  /** Issued by `defaultTrustCa`, which the suite adds to the runtime's default trust. */
  | 'defaultTrusted';

/** The certificate a client-role peer presents: the PKI's `client`, `expiredClient` or `untrustedClient`. */
export type ClientCertificateVariant = 'valid' | 'expired' | 'untrusted';

/**
 * What a server-role peer does when the socket under test connects. `'plaintext'` answers
 * "HTTP/1.1 400 Bad Request\r\n\r\n" to every chunk it receives; `'garbage'` writes bytes that are no TLS
 * record; `'fin'` and `'rst'` end the TCP connection at once; `'silent'` never answers the ClientHello.
 */
export type AcceptBehaviour = 'tls' | 'plaintext' | 'garbage' | 'fin' | 'rst' | 'silent';

export interface PeerSpec {
  role: 'server' | 'client';
  /** Forced on the peer (minimum = maximum). Default TLSv1.3. */
  tls?: TlsVersion;
  /** Server role: the certificate presented. Default `'valid'` (the PKI's `server` certificate). */
  certificate?: CertificateVariant;
  /** Server role: the protocols it accepts. Client role: the protocols it offers. */
  alpn?: string[];
  /** Server role: ask for a client certificate (never required). Client role: present the PKI's client certificate. */
  requestClientCert?: boolean;
  /** Client role only: present this client certificate (`requestClientCert: true` is `'valid'`). */
  clientCertificate?: ClientCertificateVariant;
  /** OpenSSL cipher list and/or TLS 1.3 ciphersuite names. */
  ciphers?: string;
  /** Server role only. Default `'tls'`. */
  onAccept?: AcceptBehaviour;
  /**
   * Client role only: where the listener under test is. `host` defaults to 127.0.0.1, `servername` to
   * localhost. `silent`: connect at TCP and never send a ClientHello; the steps run once TCP is up.
   */
  connect?: { port: number; servername?: string; host?: string; silent?: boolean };
  /** Put the wire observer (a recording TCP relay) between the peer and the socket under test. Default true. */
  observe?: boolean;
  /**
   * STARTTLS: the connection starts in plaintext (the steps read and write TCP payload) and a
   * `startTls` step runs the peer's side of the handshake, as the spec's role. The wire observer then
   * reports each direction's bytes before its first TLS record as `plaintext`.
   */
  startTls?: boolean;
  /**
   * Run one after the other once the handshake is done (or once accepted, when `onAccept` is not
   * `'tls'`, or once connected, with `connect.silent`).
   */
  steps?: Step[];
}

export type Step =
  /** `bytes` of pseudoRandomBytes(bytes, seed ?? 1), written in `chunk`-byte writes (default 65536) with backpressure. */
  | { op: 'send'; bytes: number; seed?: number; chunk?: number }
  | { op: 'sendText'; text: string }
  /** Until `bytes` more bytes have arrived than earlier `read` steps consumed. */
  | { op: 'read'; bytes: number }
  /** Until the end of the stream from the socket under test; the log says whether a close_notify came first. */
  | { op: 'readUntilEnd' }
  /** Returns every byte that arrives from now on, until the end of the stream. */
  | { op: 'echo' }
  /** close_notify, then TCP FIN (none with `fin: false`: a later `fin` step sends it); reading goes on. */
  | { op: 'closeNotify'; fin?: boolean }
  /**
   * An alert record the peer seals itself (Node's TLS sends no alert on request): `description` is the
   * alert code (90 user_canceled, 0 close_notify, ...), `level` defaults to warning. No FIN; after it the
   * peer writes no more data, only further crafted records and its `fin`.
   */
  | { op: 'alert'; description: number; level?: 'warning' | 'fatal' }
  /** TLS 1.3: a KeyUpdate (update_not_requested) the peer seals itself; later `alert` steps use the next keys. */
  | { op: 'keyUpdate' }
  /** A bare TCP FIN, no close_notify (or the FIN held back by `closeNotify` with `fin: false`). */
  | { op: 'fin' }
  /** `bytes` (default 1022) of application data, of whose record only the first 100 bytes reach the wire; then a bare FIN. */
  | { op: 'finMidRecord'; bytes?: number }
  /** A TCP RST. */
  | { op: 'rst' }
  /** `bytes` (default 64) that are no TLS record, straight onto the TCP stream. */
  | { op: 'garbage'; bytes?: number }
  /** Stop reading: the kernel buffers fill and the writer under test stalls. */
  | { op: 'stopReading' }
  | { op: 'resumeReading' }
  /** Write the seed-1 pseudo-random stream until the connection closes or `maxBytes` are sent. */
  | { op: 'streamUntilClosed'; chunk?: number; maxBytes?: number }
  /** Until `PeerHandle.signal(signal)`; a signal raised earlier counts, once. */
  | { op: 'wait'; signal: string }
  | { op: 'sleep'; ms: number }
  /** Until both directions have ended (our EOF arrived and the peer shut its side), or the connection closed. */
  | { op: 'waitEnd' }
  /** Destroy the TLS socket: no close_notify. */
  | { op: 'destroy' }
  /**
   * With `spec.startTls`: the peer's side of the TLS handshake over the plaintext connection, done when
   * the handshake is (a client sends its ClientHello at once). Later steps speak TLS.
   */
  | { op: 'startTls' };

export type StepOp = Step['op'];

/** c2s: from whoever connected to the relay (the socket under test when the peer is a server). */
export type Direction = 'c2s' | 's2c';

export type WireEvent = { dir: Direction; at: number } & (
  | { kind: 'handshake'; type: string }
  | { kind: 'ccs' }
  | { kind: 'data'; bytes: number }
  | { kind: 'alert'; level: 'warning' | 'fatal'; description: string; code: number }
  | { kind: 'undecryptable'; contentType: number; length: number }
  | { kind: 'garbage'; bytes: number }
  /** STARTTLS: bytes before the first TLS handshake record of the direction. */
  | { kind: 'plaintext'; bytes: number }
  | { kind: 'partial-record'; have: number; need: number }
  | { kind: 'fin' }
  | { kind: 'rst' }
);

export interface ByteSummary {
  bytes: number;
  sha256: string;
}

export interface PeerReport {
  id: string;
  /** The script finished, or the scripted connection closed. */
  done: boolean;
  /** Server role: where the socket under test connects. */
  port?: number;
  handshake?: {
    protocol: string | null;
    cipher: string | null;
    alpn: string | null;
    /** Client role, or server role with `requestClientCert`: whether the other side's certificate verified. */
    authorized?: boolean;
    authorizationError?: string | null;
    /** Server role: the SNI server name the socket under test sent, null when it sent none. */
    servername?: string | null;
  };
  /** Application data from the socket under test (TCP payload when `onAccept` is not `'tls'`). */
  received: ByteSummary & { /** The first 4 KiB as latin1. */ text?: string };
  /** Application data the peer wrote (TCP payload when `onAccept` is not `'tls'`); `garbage` steps are logged only. */
  sent: ByteSummary;
  /** The end of stream from the socket under test reached the peer. */
  ended: boolean;
  /** Every socket and TLS error the peer saw; none is ever thrown. */
  errors: Array<{ at: number; code?: string; message: string }>;
  /** Step progress, for failure messages. */
  log: Array<{ at: number; text: string }>;
  /** What the wire observer saw on the scripted connection (empty without `observe`). */
  wire: WireEvent[];
  wireSummary: string;
}

export interface PeerPkiCredential {
  cert: string;
  key: string;
}

/** The test PKI, PEM encoded; see @closenotify/test-pki. */
export interface PeerPki {
  dir: string;
  ca: string;
  /** The second CA, which signed `untrusted`: nobody trusts it. */
  otherCa: string;
  /** A third CA, which the suite's runtimes get as an extra default root (NODE_EXTRA_CA_CERTS, DENO_CERT). */
  defaultTrustCa: string;
  server: PeerPkiCredential;
  wrongHost: PeerPkiCredential;
  selfSigned: PeerPkiCredential;
  expired: PeerPkiCredential;
  untrusted: PeerPkiCredential;
  client: PeerPkiCredential;
  expiredClient: PeerPkiCredential;
  untrustedClient: PeerPkiCredential;
  wrongKeyUsage: PeerPkiCredential;
  defaultTrusted: PeerPkiCredential;
}

export interface PeerHandle {
  readonly id: string;
  /** Where the socket under test connects; 0 for a client-role peer, which listens on nothing. */
  readonly port: number;
  report(): Promise<PeerReport>;
  /** The report once `done`, or when `timeoutMs` (default 10000) ran out, whichever comes first. */
  whenDone(timeoutMs?: number): Promise<PeerReport>;
  signal(name: string): Promise<void>;
  /** Stops the peer and its relay, and destroys its sockets. */
  stop(): Promise<void>;
}

/**
 * A third-party TLS server for interop cases: `openssl s_server -rev`, `gnutls-serv --echo`, or a
 * PostgreSQL cluster (TLS after its SSLRequest) that lets POSTGRES_LOGIN in over TLS only.
 */
export type ExternalProgram = 'openssl' | 'gnutls' | 'postgres';

/** Who may log in to the `postgres` external server, and to which database (trust, no password). */
export const POSTGRES_LOGIN = { user: 'closenotify', database: 'postgres' } as const;

/** Where an OpenSSL server started with `serveBytes` serves its file. */
export const EXTERNAL_STREAM_PATH = '/stream.bin';

export interface ExternalSpec {
  program: ExternalProgram;
  /** Forced on the server. Default TLSv1.3. */
  tls?: TlsVersion;
  certificate?: CertificateVariant;
  /**
   * OpenSSL only: instead of echoing, serve a file of this many zero bytes at `EXTERNAL_STREAM_PATH`
   * (`s_server -WWW`: an HTTP/1.0 response to a GET, then close_notify).
   */
  serveBytes?: number;
}

export interface ExternalHandle {
  readonly id: string;
  readonly port: number;
  readonly program: ExternalProgram;
  /** What the program printed (its own view of the connection: DONE, ERROR, ...). */
  output(): Promise<string>;
  /** SIGKILL, resolved once it exited: its TLS stops wherever it was, the kernel closes its sockets (a FIN). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A third-party TLS client against a server of the runtime under test, through the wire observer:
 * `openssl s_client -starttls smtp`, verifying `localhost` against the test CA.
 */
export interface ExternalClientSpec {
  program: 'openssl';
  /** The listener under test. */
  port: number;
  /** Forced on the client. Default TLSv1.3. */
  tls?: TlsVersion;
  /** Its stdin, which it sends over TLS once the handshake is done (lines, LF turned into CRLF). */
  input: string;
}

export interface ExternalClientResult {
  /** It exited; otherwise the wait ran out and the rest is what it had done so far. */
  done: boolean;
  exitCode: number | null;
  signal: string | null;
  /** What it printed, stdout and stderr together. */
  output: string;
  /** c2s is the client's direction. */
  wire: WireEvent[];
  wireSummary: string;
}

export interface ExternalClientHandle {
  readonly id: string;
  /** Once it exited, or after `timeoutMs` (default 10000). */
  result(timeoutMs?: number): Promise<ExternalClientResult>;
  stop(): Promise<void>;
}

/** Which TCP socket of which process to inspect: the runtime's pid and the socket's two ports. */
export interface SocketOptionsQuery {
  pid: number;
  localPort: number;
  remotePort: number;
}

/** What the kernel says is set on a socket (getsockopt), whatever the runtime's API claims. */
export interface KernelSocketOptions {
  /** SO_KEEPALIVE. */
  keepAlive: boolean;
  /** TCP_KEEPIDLE: seconds of silence before the first probe (the kernel keeps it even with keepAlive off). */
  keepIdleSeconds: number;
  /** TCP_NODELAY: Nagle's algorithm is off. */
  noDelay: boolean;
}

export class PeerClient {
  readonly #controlUrl: string;

  constructor(controlUrl: string) {
    this.#controlUrl = controlUrl;
  }

  pki(): Promise<PeerPki> {
    return this.request('GET', '/pki');
  }

  async start(spec: PeerSpec): Promise<PeerHandle> {
    const started = await this.request<{ id: string; port?: number }>('POST', '/peers', spec);
    return new RemotePeer(this, started.id, started.port ?? 0);
  }

  /** The third-party servers installed next to the daemon, with their version lines (null: absent). */
  programs(): Promise<Record<ExternalProgram, string | null>> {
    return this.request('GET', '/external');
  }

  async startExternal(spec: ExternalSpec): Promise<ExternalHandle> {
    const { id, port } = await this.request<{ id: string; port: number }>('POST', '/external', spec);
    return {
      id,
      port,
      program: spec.program,
      output: async () => (await this.request<{ output: string }>('GET', `/external/${id}`)).output,
      kill: async () => {
        await this.request('POST', `/external/${id}/kill`);
      },
      stop: async () => {
        await this.request('DELETE', `/external/${id}`);
      },
    };
  }

  async startExternalClient(spec: ExternalClientSpec): Promise<ExternalClientHandle> {
    const { id } = await this.request<{ id: string }>('POST', '/external-clients', spec);
    return {
      id,
      result: (timeoutMs = 10_000) => this.request('GET', `/external-clients/${id}?timeoutMs=${timeoutMs}`),
      stop: async () => {
        await this.request('DELETE', `/external-clients/${id}`);
      },
    };
  }

  /**
   * The kernel's view of a socket in the runtime under test, or null where the daemon cannot look
   * (python3, which the probe runs, is not installed).
   */
  async kernelSocketOptions(query: SocketOptionsQuery): Promise<KernelSocketOptions | null> {
    const answer = await this.request<{ options: KernelSocketOptions | null }>(
      'POST',
      '/socket-options',
      query,
    );
    return answer.options;
  }

  async shutdown(): Promise<void> {
    await this.request('POST', '/shutdown');
  }

  /** One control call; a non-2xx answer throws with the daemon's message. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(new URL(path, this.#controlUrl), {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const payload: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const message = (payload as { error?: string } | undefined)?.error ?? text;
      throw new Error(`peer daemon: ${method} ${path} answered ${response.status}: ${message}`);
    }
    return payload as T;
  }
}

class RemotePeer implements PeerHandle {
  readonly id: string;
  readonly port: number;
  readonly #client: PeerClient;

  constructor(client: PeerClient, id: string, port: number) {
    this.#client = client;
    this.id = id;
    this.port = port;
  }

  report(): Promise<PeerReport> {
    return this.#client.request('GET', `/peers/${this.id}`);
  }

  whenDone(timeoutMs = 10_000): Promise<PeerReport> {
    return this.#client.request('GET', `/peers/${this.id}?wait=done&timeoutMs=${timeoutMs}`);
  }

  async signal(name: string): Promise<void> {
    await this.#client.request('POST', `/peers/${this.id}/signal`, { name });
  }

  async stop(): Promise<void> {
    await this.#client.request('DELETE', `/peers/${this.id}`);
  }
}

/** The seed `send` uses when its step names none, and the seed of `streamUntilClosed`. */
export const DEFAULT_SEED = 1;

/**
 * The peer's deterministic test data, as a stream: xorshift32 (shifts 13, 17, 5) starting from
 * `seed >>> 0` (a zero seed becomes 0x9E3779B9, since xorshift32 needs a non-zero state); every step
 * yields one byte, the low 8 bits of the new state. Each call continues where the previous one stopped.
 */
export function pseudoRandomStream(seed: number): (length: number) => Uint8Array {
  let state = seed >>> 0 || 0x9e3779b9;
  return (length) => {
    const bytes = new Uint8Array(length);
    for (let index = 0; index < length; index++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      bytes[index] = state & 0xff;
    }
    return bytes;
  };
}

/** The first `length` bytes of pseudoRandomStream(seed): exactly what a `send` step with that seed writes. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  return pseudoRandomStream(seed)(length);
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  // Web Crypto takes no views of shared memory; copy those.
  const input = data.buffer instanceof ArrayBuffer ? (data as Uint8Array<ArrayBuffer>) : new Uint8Array(data);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
