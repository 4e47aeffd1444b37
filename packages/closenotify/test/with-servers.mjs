// Runs a command (the package's node, bun and deno tests) with real third-party TLS servers up for
// it: Mosquitto (MQTT over TLS) and PostgreSQL (ssl=on), each on 127.0.0.1 and a free port, in a temp
// dir, with the test PKI from .tmp/pki.json, unprivileged (as nobody when run as root). Where they
// run is written to .tmp/servers.json; a server that is not installed is written there with the
// reason, and its tests report "not run" (a failure under CI=true). Both are stopped and their
// dirs removed when the command ends.
//
//   node test/with-servers.mjs '<command line>'
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tmp = new URL('../.tmp/', import.meta.url);
const STARTUP_LIMIT_MS = 60_000;
const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** The uid/gid servers run as: nobody when we are root (postgres refuses root), else ourselves. */
function serverUser() {
  if (process.getuid?.() !== 0) return {};
  const id = (flag) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function ownedDir(prefix, user) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid);
  return dir;
}

function writeOwned(path, text, user, mode = 0o600) {
  writeFileSync(path, text, { mode });
  if (user.uid !== undefined) chownSync(path, user.uid, user.gid);
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Until a TCP connection to the port succeeds, or the process exits, or the limit passes. */
async function untilListening(port, child, what) {
  const deadline = Date.now() + STARTUP_LIMIT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before listening`);
    const up = await new Promise((resolve) => {
      const probe = createConnection({ port, host: '127.0.0.1' });
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${port} within ${STARTUP_LIMIT_MS} ms`);
}

function startProcess(command, args, user, logFile) {
  const child = spawn(command, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk) => {
    log += chunk;
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.logText = () => log + (logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  return child;
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function startMosquitto(pki, user) {
  const binary = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((path) => existsSync(path));
  if (binary === undefined) return { absent: 'mosquitto is not installed (Debian package mosquitto)' };
  const dir = ownedDir('closenotify-mosquitto-', user);
  const port = await freePort();
  const file = (name, text) => {
    writeOwned(join(dir, name), text, user);
    return join(dir, name);
  };
  const config = [
    'per_listener_settings false',
    'allow_anonymous true',
    'persistence false',
    `log_dest file ${join(dir, 'mosquitto.log')}`,
    'log_type all',
    ...(user.uid !== undefined ? ['user nobody'] : []),
    `listener ${port} 127.0.0.1`,
    `cafile ${file('ca.pem', pki.ca)}`,
    `certfile ${file('cert.pem', pki.server.cert)}`,
    `keyfile ${file('key.pem', pki.server.key)}`,
  ].join('\n');
  const configFile = file('mosquitto.conf', `${config}\n`);
  // Mosquitto drops to `user` itself after reading its config; started as root it must be root first.
  const child = startProcess(binary, ['-c', configFile], {}, join(dir, 'mosquitto.log'));
  try {
    await untilListening(port, child, 'mosquitto');
  } catch (error) {
    await stopProcess(child);
    throw new Error(`${error.message}\n${child.logText()}`);
  }
  return {
    info: { hostname: 'localhost', port, log: join(dir, 'mosquitto.log') },
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startPostgres(pki, user) {
  if (!existsSync(join(POSTGRES_BIN, 'postgres'))) {
    return { absent: `PostgreSQL 15 is not installed (${POSTGRES_BIN}; Debian package postgresql-15)` };
  }
  const dir = ownedDir('closenotify-postgres-', user);
  const data = join(dir, 'data');
  execFileSync(
    join(POSTGRES_BIN, 'initdb'),
    ['-D', data, '-U', 'closenotify', '--auth=reject', '-E', 'UTF8'],
    {
      ...user,
      stdio: 'ignore',
    },
  );
  // TLS or nothing: a client that skips the upgrade is refused, so a passing test proves TLS was used.
  writeOwned(join(data, 'pg_hba.conf'), 'hostssl all closenotify 127.0.0.1/32 trust\n', user);
  writeOwned(join(dir, 'server.crt'), pki.server.cert, user);
  writeOwned(join(dir, 'server.key'), pki.server.key, user);
  const port = await freePort();
  const child = startProcess(
    join(POSTGRES_BIN, 'postgres'),
    [
      '-D',
      data,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `port=${port}`,
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${join(dir, 'server.crt')}`,
      '-c',
      `ssl_key_file=${join(dir, 'server.key')}`,
      '-c',
      'fsync=off',
    ],
    user,
  );
  try {
    await untilListening(port, child, 'postgres');
  } catch (error) {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${error.message}\n${child.logText()}`);
  }
  return {
    info: { hostname: 'localhost', port, user: 'closenotify', database: 'postgres' },
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const commandLine = process.argv[2];
if (!commandLine) throw new Error("usage: node test/with-servers.mjs '<command line>'");
const pki = JSON.parse(readFileSync(new URL('pki.json', tmp), 'utf8'));
const user = serverUser();
const started = [];
const servers = {};
let status = 1;
try {
  for (const [name, start] of [
    ['mosquitto', startMosquitto],
    ['postgres', startPostgres],
  ]) {
    const server = await start(pki, user);
    if (server.stop) started.push(server);
    servers[name] = server.info ?? { absent: server.absent };
  }
  writeFileSync(new URL('servers.json', tmp), JSON.stringify(servers, null, 2));
  const child = spawn(commandLine, { shell: true, stdio: 'inherit' });
  status = await new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
} finally {
  for (const server of started) await server.stop();
  rmSync(new URL('servers.json', tmp), { force: true });
}
process.exit(status);
