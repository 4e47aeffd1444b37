// Third-party TLS servers for the interop cases: `openssl s_server -rev` (echoes each line reversed)
// or `-WWW` (serves one file), `gnutls-serv --echo`, and PostgreSQL (STARTTLS through its SSLRequest),
// started on a free loopback port with the test PKI. They are real
// implementations with their own close behaviour, not scripts: the cases only assert what every
// correct TLS server does.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pki } from '@closenotify/test-pki';
import {
  type CertificateVariant,
  EXTERNAL_STREAM_PATH,
  type ExternalProgram,
  type ExternalSpec,
  type TlsVersion,
} from '../src/peer-client.ts';
import { type Owner, postgresVersion, preparePostgres } from './postgres.ts';

const READY_TIMEOUT_MS = 10_000;
const BIND_ATTEMPTS = 3;

const CERTIFICATE_FILES: Record<CertificateVariant, [string, string]> = {
  valid: ['server.pem', 'server-key.pem'],
  selfSigned: ['self-signed.pem', 'self-signed-key.pem'],
  expired: ['expired.pem', 'expired-key.pem'],
  wrongHost: ['wrong-host.pem', 'wrong-host-key.pem'],
  untrusted: ['untrusted.pem', 'untrusted-key.pem'],
  wrongKeyUsage: ['wrong-key-usage.pem', 'wrong-key-usage-key.pem'],
  defaultTrusted: ['default-trusted.pem', 'default-trusted-key.pem'],
};

/**
 * PostgreSQL's postmaster is no single process: SIGKILL would orphan its backends, and SIGTERM waits
 * for every client to leave. SIGQUIT ends it and its backends at once; SIGINT is its prompt clean stop.
 */
const SIGNALS: Record<ExternalProgram, { stop: NodeJS.Signals; kill: NodeJS.Signals }> = {
  openssl: { stop: 'SIGTERM', kill: 'SIGKILL' },
  gnutls: { stop: 'SIGTERM', kill: 'SIGKILL' },
  postgres: { stop: 'SIGINT', kill: 'SIGQUIT' },
};

const BINARIES: Record<'openssl' | 'gnutls', string> = { openssl: 'openssl', gnutls: 'gnutls-serv' };

/** Which programs are installed, with the version line each prints. */
export function installedPrograms(): Record<ExternalProgram, string | null> {
  const version = (binary: string, args: string[]): string | null => {
    try {
      return execFileSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')[0]!
        .trim();
    } catch {
      return null;
    }
  };
  return {
    openssl: version('openssl', ['version']),
    gnutls: version('gnutls-serv', ['--version']),
    postgres: postgresVersion(),
  };
}

/** How to start a program on a port: what to run, as whom, and the output line that says it listens. */
interface Launch {
  binary: string;
  args: string[];
  ready: RegExp;
  /** Where it runs, removed at stop. */
  directory?: string;
  owner?: Owner;
}

/** What the program needs once, whatever the port: the served file, the PostgreSQL cluster. */
async function prepare(spec: ExternalSpec, pki: Pki): Promise<(port: number) => Launch> {
  const tls = spec.tls ?? 'TLSv1.3';
  const [cert, key] = CERTIFICATE_FILES[spec.certificate ?? 'valid'].map((file) => join(pki.dir, file)) as [
    string,
    string,
  ];
  if (spec.program === 'postgres') {
    const cluster = await preparePostgres(cert, key);
    return (port) => ({
      binary: cluster.binary,
      args: cluster.args(port, tls),
      ready: cluster.ready,
      directory: cluster.directory,
      ...(cluster.owner ? { owner: cluster.owner } : {}),
    });
  }
  const { program } = spec;
  const servesFile = spec.serveBytes !== undefined;
  const directory = servesFile ? await servedDirectory(spec.serveBytes ?? 0) : undefined;
  return (port) => ({
    binary: BINARIES[program],
    ...commandFor(program, port, tls, cert, key, servesFile),
    ...(directory ? { directory } : {}),
  });
}

function commandFor(
  program: 'openssl' | 'gnutls',
  port: number,
  tls: TlsVersion,
  cert: string,
  key: string,
  servesFile: boolean,
) {
  if (program === 'openssl') {
    return {
      args: [
        's_server',
        '-accept',
        `127.0.0.1:${port}`,
        '-cert',
        cert,
        '-key',
        key,
        // -WWW serves files from the working directory, and ends each response with close_notify.
        servesFile ? '-WWW' : '-rev',
        tls === 'TLSv1.3' ? '-tls1_3' : '-tls1_2',
      ],
      ready: /^ACCEPT/m,
    };
  }
  const version = tls === 'TLSv1.3' ? 'TLS1.3' : 'TLS1.2';
  return {
    args: [
      '--port',
      String(port),
      '--x509certfile',
      cert,
      '--x509keyfile',
      key,
      '--echo',
      '--priority',
      `NORMAL:-VERS-ALL:+VERS-${version}`,
    ],
    // gnutls-serv binds IPv4 and IPv6 separately: only the IPv4 line says 127.0.0.1 works.
    ready: /listening on IPv4 .*\.\.\.done/i,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves when 127.0.0.1:port accepts a TCP connection (then closes it at once). */
function probe(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) =>
      reject(new Error(`127.0.0.1:${port} refused the readiness probe: ${error.message}`)),
    );
  });
}

export class ExternalPeer {
  readonly id: string;
  readonly port: number;
  readonly program: ExternalProgram;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  /** The directory of the served file or the cluster, removed at stop. */
  readonly #directory: string | undefined;
  #output = '';

  private constructor(
    id: string,
    program: ExternalProgram,
    port: number,
    child: ChildProcess,
    directory: string | undefined,
  ) {
    this.id = id;
    this.program = program;
    this.port = port;
    this.#child = child;
    this.#directory = directory;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const collect = (chunk: Buffer): void => {
      this.#output += chunk.toString('latin1');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  /**
   * The port is found free, closed, then handed to the program, which cannot take a bound socket:
   * another process can take it in between (an outgoing connection's local port, under load). The
   * program then fails to bind, which is detected (it exits, or 127.0.0.1 refuses a probe), and only
   * then a fresh port is tried.
   */
  static async start(id: string, spec: ExternalSpec, pki: Pki): Promise<ExternalPeer> {
    const launchOn = await prepare(spec, pki);
    let lastError: unknown;
    let directory: string | undefined;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt += 1) {
      const port = await freePort();
      const launch = launchOn(port);
      directory = launch.directory;
      const child = spawn(launch.binary, launch.args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(directory ? { cwd: directory } : {}),
        ...(launch.owner ?? {}),
      });
      const peer = new ExternalPeer(id, spec.program, port, child, directory);
      try {
        await peer.#ready(launch.ready);
        await probe(port);
        return peer;
      } catch (error) {
        lastError = error;
        await peer.#stopProcess();
      }
    }
    if (directory) await rm(directory, { recursive: true, force: true });
    throw lastError;
  }

  async #ready(ready: RegExp): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exited = false;
    void this.#exited.then(() => {
      exited = true;
    });
    while (!ready.test(this.#output)) {
      if (exited || Date.now() > deadline) {
        throw new Error(`${this.program} did not start listening: ${this.#output.slice(-500)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  report(): { id: string; program: ExternalProgram; port: number; output: string } {
    return { id: this.id, program: this.program, port: this.port, output: this.#output.slice(-16384) };
  }

  /** Killed where it stands: no close_notify, the kernel closes its sockets. */
  async kill(): Promise<void> {
    if (this.#running()) this.#child.kill(SIGNALS[this.program].kill);
    await this.#exited;
  }

  async stop(): Promise<void> {
    await this.#stopProcess();
    if (this.#directory) await rm(this.#directory, { recursive: true, force: true });
  }

  async #stopProcess(): Promise<void> {
    if (this.#running()) this.#child.kill(SIGNALS[this.program].stop);
    await this.#exited;
  }

  #running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }
}

/** A fresh directory holding the served file: `bytes` zeros, sparse, so even a large one costs nothing. */
async function servedDirectory(bytes: number): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'closenotify-served-'));
  const file = join(directory, EXTERNAL_STREAM_PATH.slice(1));
  await writeFile(file, '');
  await truncate(file, bytes);
  return directory;
}
