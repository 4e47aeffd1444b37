// A real PostgreSQL server for the STARTTLS interop cases (PostgreSQL's SSLRequest is a STARTTLS
// upgrade): a fresh cluster in a temporary directory, TLS on with the test PKI's certificate, reachable
// only over TCP on 127.0.0.1 and only with TLS (hostssl, trust for one test user). PostgreSQL refuses to
// run as root, so when the daemon is root the cluster belongs to, and the server runs as, `nobody`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POSTGRES_LOGIN, type TlsVersion } from '../src/peer-client.ts';

const INSTALL_ROOT = '/usr/lib/postgresql';

/** The bin directory of the newest PostgreSQL installed the Debian way, or null. */
function binDirectory(): string | null {
  if (!existsSync(INSTALL_ROOT)) return null;
  const versions = readdirSync(INSTALL_ROOT)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(INSTALL_ROOT, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(INSTALL_ROOT, versions[0], 'bin');
}

/** `postgres --version`, or null when PostgreSQL is not installed. */
export function postgresVersion(): string | null {
  const bin = binDirectory();
  if (!bin) return null;
  try {
    return execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

export interface Owner {
  uid: number;
  gid: number;
}

/** Who the server runs as: `nobody` when the daemon is root, else the daemon's own user (undefined). */
function unprivilegedOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export interface PostgresCluster {
  /** The temporary directory holding the cluster, the credentials and the unix socket; removed at stop. */
  directory: string;
  owner: Owner | undefined;
  binary: string;
  /** The server's arguments for a port and a forced TLS version. */
  args(port: number, tls: TlsVersion): string[];
  ready: RegExp;
}

/** initdb into a fresh temporary directory, with the given certificate and key as the server's. */
export async function preparePostgres(certFile: string, keyFile: string): Promise<PostgresCluster> {
  const bin = binDirectory();
  if (!bin) throw new Error(`PostgreSQL is not installed under ${INSTALL_ROOT}`);
  const owner = unprivilegedOwner();
  const directory = await mkdtemp(join(tmpdir(), 'closenotify-postgres-'));
  try {
    return await initCluster(bin, directory, certFile, keyFile, owner);
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

async function initCluster(
  bin: string,
  directory: string,
  certFile: string,
  keyFile: string,
  owner: Owner | undefined,
): Promise<PostgresCluster> {
  const data = join(directory, 'data');
  const cert = join(directory, 'server.pem');
  const key = join(directory, 'server-key.pem');
  await copyFile(certFile, cert);
  await copyFile(keyFile, key);
  // PostgreSQL refuses a key that others can read, or that is not its own user's.
  await chmod(key, 0o600);
  if (owner) for (const path of [directory, cert, key]) await chown(path, owner.uid, owner.gid);
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', POSTGRES_LOGIN.user, '--auth=trust', '--no-sync', '--no-locale', '-E', 'UTF8'],
    { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) },
  );
  // TLS or nothing: no `local` or plain `host` line, so a connection that skips the upgrade is refused.
  await writeFile(join(data, 'pg_hba.conf'), `hostssl all ${POSTGRES_LOGIN.user} 127.0.0.1/32 trust\n`);
  return {
    directory,
    owner,
    binary: join(bin, 'postgres'),
    args: (port, tls) =>
      [
        ['-D', data, '-p', String(port)],
        ...Object.entries({
          listen_addresses: '127.0.0.1',
          unix_socket_directories: directory,
          ssl: 'on',
          ssl_cert_file: cert,
          ssl_key_file: key,
          ssl_min_protocol_version: tls,
          ssl_max_protocol_version: tls,
          // A throwaway cluster: nothing to make durable, and as small as it goes.
          fsync: 'off',
          shared_buffers: '16MB',
          max_connections: '10',
        }).map(([name, value]) => ['-c', `${name}=${value}`]),
      ].flat(),
    ready: /database system is ready to accept connections/,
  };
}
