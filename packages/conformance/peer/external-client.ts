// A third-party TLS client for the server-role STARTTLS interop cases: `openssl s_client -starttls smtp`
// against a listener of the runtime under test, through the wire observer's relay. It runs the SMTP
// dialogue up to STARTTLS itself, verifies the server against the test CA, then sends its stdin over
// TLS. Its keylog file is fed to the relay once it has exited, so the records the server sent, its
// close_notify included, can be read.
//
// gnutls-cli --starttls-proto=smtp is no fit: it has no equivalent of -ign_eof, so the end of its
// input ends the session before the server has answered.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTHORITY_FILES, type Pki } from '@closenotify/test-pki';
import type { ExternalClientResult, ExternalClientSpec } from '../src/peer-client.ts';
import { type Relay, startRelay, summarize } from './observer/index.ts';

/** The name the server's certificate is for, as the client is told to verify it. */
const SERVER_NAME = 'localhost';

function sClientArgs(spec: ExternalClientSpec, port: number, ca: string, keylog: string): string[] {
  const tls = spec.tls ?? 'TLSv1.3';
  return [
    's_client',
    '-connect',
    `127.0.0.1:${port}`,
    '-starttls',
    'smtp',
    '-CAfile',
    ca,
    '-verify_return_error',
    '-verify_hostname',
    SERVER_NAME,
    '-servername',
    SERVER_NAME,
    tls === 'TLSv1.3' ? '-tls1_3' : '-tls1_2',
    // stdin's end is not the end of the session: the server's close is.
    '-ign_eof',
    '-crlf',
    '-keylogfile',
    keylog,
  ];
}

export class ExternalClient {
  readonly id: string;
  readonly #child: ChildProcess;
  readonly #relay: Relay;
  readonly #directory: string;
  readonly #keylog: string;
  readonly #exited: Promise<{ exitCode: number | null; signal: string | null }>;
  #output = '';

  private constructor(id: string, child: ChildProcess, relay: Relay, directory: string, keylog: string) {
    this.id = id;
    this.#child = child;
    this.#relay = relay;
    this.#directory = directory;
    this.#keylog = keylog;
    this.#exited = new Promise((resolve) => {
      child.once('close', (exitCode, signal) => resolve({ exitCode, signal }));
      // A client that could not be started has no 'close' to come; what failed is in its output.
      child.once('error', (error) => {
        this.#output += `\n${error.message}`;
        resolve({ exitCode: null, signal: null });
      });
    });
    const collect = (chunk: Buffer): void => {
      this.#output += chunk.toString('latin1');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  static async start(id: string, spec: ExternalClientSpec, pki: Pki): Promise<ExternalClient> {
    const directory = await mkdtemp(join(tmpdir(), 'closenotify-client-'));
    const keylog = join(directory, 'keylog.txt');
    const relay = await startRelay({
      target: { host: '127.0.0.1', port: spec.port },
      plaintextFirst: true,
    });
    const args = sClientArgs(spec, relay.port, join(pki.dir, AUTHORITY_FILES.ca), keylog);
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // A client that exits before reading all of its input is its own result, not the daemon's error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(spec.input);
    return new ExternalClient(id, child, relay, directory, keylog);
  }

  /** Once the client has exited, or `timeoutMs` ran out (then `exitCode` and `signal` are null). */
  async result(timeoutMs: number): Promise<ExternalClientResult> {
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      this.#exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (exit) {
      const lines = await readFile(this.#keylog, 'latin1').catch(() => '');
      for (const line of lines.split('\n')) if (line.trim() !== '') this.#relay.keylog(line);
    }
    const wire = this.#relay.connections()[0]?.events() ?? [];
    return {
      done: exit !== undefined,
      exitCode: exit?.exitCode ?? null,
      signal: exit?.signal ?? null,
      output: this.#output.slice(-16384),
      wire,
      wireSummary: summarize(wire),
    };
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
    await this.#relay.close();
    await rm(this.#directory, { recursive: true, force: true });
  }
}
