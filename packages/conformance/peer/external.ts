// Third-party TLS servers for the interop cases: `openssl s_server -rev` (echoes each line reversed)
// and `gnutls-serv --echo`, or `openssl s_server` relaying its standard input to the client, started on a free loopback port with the test PKI. They are real
// implementations with their own close behaviour, not scripts: the cases only assert what every
// correct TLS server does.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import type { Pki } from '@closenotify/test-pki';
import type { CertificateVariant, ExternalProgram, ExternalSpec, TlsVersion } from '../src/peer-client.ts';

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

const BINARIES: Record<ExternalProgram, string> = { openssl: 'openssl', gnutls: 'gnutls-serv' };

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
  return { openssl: version('openssl', ['version']), gnutls: version('gnutls-serv', ['--version']) };
}

function commandFor(
  program: ExternalProgram,
  port: number,
  tls: TlsVersion,
  pki: Pki,
  certificate: CertificateVariant,
  mode: 'echo' | 'stdin',
) {
  const [cert, key] = CERTIFICATE_FILES[certificate].map((file) => join(pki.dir, file)) as [string, string];
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
        ...(mode === 'echo' ? ['-rev'] : []),
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
  #output = '';

  private constructor(id: string, program: ExternalProgram, port: number, child: ChildProcess) {
    this.id = id;
    this.program = program;
    this.port = port;
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const collect = (chunk: Buffer): void => {
      this.#output += chunk.toString('latin1');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    // Input still queued when the program exits (killed, or it failed) is dropped with EPIPE: the
    // case judges what the client saw, and the daemon must outlive it.
    child.stdin?.on('error', () => {});
  }

  /**
   * The port is found free, closed, then handed to the program, which cannot take a bound socket:
   * another process can take it in between (an outgoing connection's local port, under load). The
   * program then fails to bind, which is detected (it exits, or 127.0.0.1 refuses a probe), and only
   * then a fresh port is tried.
   */
  static async start(id: string, spec: ExternalSpec, pki: Pki): Promise<ExternalPeer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt += 1) {
      const port = await freePort();
      const tls = spec.tls ?? 'TLSv1.3';
      const { args, ready } = commandFor(
        spec.program,
        port,
        tls,
        pki,
        spec.certificate ?? 'valid',
        spec.mode ?? 'echo',
      );
      const child = spawn(BINARIES[spec.program], args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const peer = new ExternalPeer(id, spec.program, port, child);
      try {
        await peer.#ready(ready);
        await probe(port);
        return peer;
      } catch (error) {
        lastError = error;
        await peer.stop();
      }
    }
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

  /**
   * In mode 'stdin' s_server reads its input while a client is connected and sends it. Lines it reads
   * that begin with a command letter (Q, q, R, ...) are commands, so cases send digits.
   */
  input(text: string): void {
    this.#child.stdin?.write(text, 'latin1');
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    await this.#exited;
  }
}
