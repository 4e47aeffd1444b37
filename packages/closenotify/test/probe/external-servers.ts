/**
 * Real third-party TLS servers on a free loopback port, for the probe's tests: `openssl s_server -WWW`,
 * `gnutls-serv` (its HTTP mode) and nginx. Each runs in its own temporary directory, unprivileged
 * (nginx's workers as nobody when the test runs as root), and is stopped after.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestPki, TestServer } from './http-servers.ts';

export type ExternalServer = 'openssl' | 'gnutls' | 'nginx';

/** The command, and the arguments that make it print its version (and prove it is installed). */
const BINARIES: Record<ExternalServer, [string, string[]]> = {
  openssl: ['openssl', ['version']],
  gnutls: ['gnutls-serv', ['--version']],
  nginx: ['/usr/sbin/nginx', ['-v']],
};

const READY_LIMIT_MS = 10_000;

export function installed(server: ExternalServer): boolean {
  const [binary, versionArgs] = BINARIES[server];
  try {
    execFileSync(binary, versionArgs, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** nginx: answers `/` itself; an idle connection ends after client_header_timeout, a kept-alive one after keepalive_timeout. */
function nginxConfig(directory: string, port: number, idleSeconds: number): string {
  const asRoot = process.getuid?.() === 0;
  return `${asRoot ? 'user nobody nogroup;\n' : ''}worker_processes 1;
daemon off;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${directory}/body;
  proxy_temp_path ${directory}/proxy;
  fastcgi_temp_path ${directory}/fastcgi;
  uwsgi_temp_path ${directory}/uwsgi;
  scgi_temp_path ${directory}/scgi;
  client_header_timeout ${idleSeconds}s;
  keepalive_timeout ${idleSeconds}s;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${directory}/server.pem;
    ssl_certificate_key ${directory}/server-key.pem;
    location / { default_type text/plain; return 200 "hello from nginx\\n"; }
  }
}
`;
}

function commandFor(server: ExternalServer, directory: string, port: number): string[] {
  const [binary] = BINARIES[server];
  const cert = join(directory, 'server.pem');
  const key = join(directory, 'server-key.pem');
  switch (server) {
    case 'openssl':
      // -WWW serves files from the working directory over HTTP/1.0 semantics.
      return [
        binary,
        's_server',
        '-accept',
        `127.0.0.1:${port}`,
        '-cert',
        cert,
        '-key',
        key,
        '-WWW',
        '-quiet',
      ];
    case 'gnutls':
      // Without --echo, gnutls-serv is an HTTP server that describes the session.
      return [binary, '--port', String(port), '--x509certfile', cert, '--x509keyfile', key];
    case 'nginx':
      return [
        binary,
        '-p',
        directory,
        '-c',
        join(directory, 'nginx.conf'),
        '-e',
        join(directory, 'error.log'),
      ];
  }
}

/** Starts `server`; `idleSeconds` configures nginx's timeouts (the other two have none). */
export async function startExternal(
  server: ExternalServer,
  pki: TestPki,
  idleSeconds = 1,
): Promise<TestServer> {
  if (!installed(server)) throw new Error(`${server} is not installed`);
  const directory = await mkdtemp(join(tmpdir(), `closenotify-probe-${server}-`));
  await writeFile(join(directory, 'server.pem'), pki.cert);
  await writeFile(join(directory, 'server-key.pem'), pki.key, { mode: 0o600 });
  await writeFile(join(directory, 'index.html'), 'hello from openssl s_server\n');
  const port = await freePort();
  if (server === 'nginx')
    await writeFile(join(directory, 'nginx.conf'), nginxConfig(directory, port, idleSeconds));
  const [command, ...args] = commandFor(server, directory, port);
  const child: ChildProcess = spawn(command!, args, { cwd: directory, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(directory, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_LIMIT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${server} did not start on port ${port}: ${output.slice(-500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, stop };
}
