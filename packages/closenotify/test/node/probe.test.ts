/**
 * `closenotify probe`, run as its built bin against servers whose connection endings are known:
 * closenotify's own listen() ending cleanly or with a reset, a raw node:tls server ending with a bare
 * FIN, openssl s_server, gnutls-serv and nginx; once each under Bun and Deno too. The findings must
 * match what each server is known to do.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nodeAdapter from '@closenotify/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/probe/main.ts';
import { type ExternalServer, installed, startExternal } from '../probe/external-servers.ts';
import { type ServerEnding, startHttpServer, type TestPki, type TestServer } from '../probe/http-servers.ts';
import { CLI, outline, probeJson, runCli } from '../probe/run-cli.ts';

/** The command in this process (argument handling needs no child process), on the Node adapter. */
async function runMain(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const exitCode = await main(
    argv,
    { runtime: 'node', ...nodeAdapter },
    {
      stdout: {
        write: (text) => {
          stdout += text;
        },
        isTTY: false,
      },
      stderr: {
        write: (text) => {
          stderr += text;
        },
        isTTY: false,
      },
      env: {},
    },
  );
  return { exitCode, stdout, stderr };
}

/** The test servers end an idle connection after this; the probe waits 10x as long at most. */
const SERVER_IDLE_MS = 500;
const PROBE_IDLE_MAX = '5s';
const CI = process.env.CI === 'true';

let pki: TestPki;
let caFile: string;
let directory: string;

beforeAll(async () => {
  const written = JSON.parse(await readFile(new URL('../../.tmp/pki.json', import.meta.url), 'utf8')) as {
    ca: string;
    server: { cert: string; key: string };
  };
  pki = { ca: written.ca, ...written.server };
  directory = await mkdtemp(join(tmpdir(), 'closenotify-probe-test-'));
  caFile = join(directory, 'ca.pem');
  await writeFile(caFile, pki.ca);
});

afterAll(async () => {
  if (directory) await rm(directory, { recursive: true, force: true });
});

const target = (server: TestServer, ...extra: string[]) => [
  `127.0.0.1:${server.port}`,
  '--servername',
  'localhost',
  '--ca',
  caFile,
  '--idle-max',
  PROBE_IDLE_MAX,
  ...extra,
];

async function withServer<T>(
  start: () => Promise<TestServer>,
  use: (server: TestServer) => Promise<T>,
): Promise<T> {
  const server = await start();
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}

/** finding id -> [verdict, ending] */
type Outline = Record<string, [string, unknown]>;

const TLS_FINDINGS: Outline = {
  verification: ['ok', null],
  certificate: ['ok', null],
  versions: ['ok', null],
  session: ['ok', null],
};

describe('closenotify probe against closenotify servers with known endings', () => {
  const expected: Record<ServerEnding, { exitCode: number; findings: Outline }> = {
    close_notify: {
      exitCode: 0,
      findings: {
        ...TLS_FINDINGS,
        serverClose: ['ok', 'close_notify'],
        halfClose: ['ok', 'close_notify'],
        afterCloseNotify: ['ok', 'close_notify'],
        idleTimeout: ['ok', 'close_notify'],
      },
    },
    fin: {
      exitCode: 1,
      findings: {
        ...TLS_FINDINGS,
        serverClose: ['risky', 'fin'],
        halfClose: ['risky', 'fin'],
        afterCloseNotify: ['risky', 'fin'],
        idleTimeout: ['risky', 'fin'],
      },
    },
    // Resets instead of replying (see http-servers.ts): no reply to measure after our close_notify.
    reset: {
      exitCode: 1,
      findings: {
        ...TLS_FINDINGS,
        serverClose: ['broken', 'reset'],
        halfClose: ['broken', 'reset'],
        afterCloseNotify: ['skipped', null],
        idleTimeout: ['broken', 'reset'],
      },
    },
  };

  it.each(Object.keys(expected) as ServerEnding[])('a server ending with %s', async (ending) => {
    await withServer(
      () => startHttpServer(ending, pki, SERVER_IDLE_MS),
      async (server) => {
        const { exitCode, report } = await probeJson(target(server));
        expect(outline(report)).toEqual(expected[ending].findings);
        expect(exitCode).toBe(expected[ending].exitCode);
        expect(report.exitCode).toBe(expected[ending].exitCode);
        const idle = report.findings.find((finding) => finding.id === 'idleTimeout')!;
        expect(idle.evidence.endedMs).toBeGreaterThanOrEqual(SERVER_IDLE_MS - 50);
        const halfClose = report.findings.find((finding) => finding.id === 'halfClose')!;
        if (ending === 'close_notify') expect(halfClose.evidence.replied).toBe(true);
      },
    );
  });
});

describe('closenotify probe against real TLS servers', () => {
  // Checked by hand first: openssl s_server -WWW and gnutls-serv answer, then end with close_notify,
  // answer our close_notify with theirs, and never end an idle connection.
  const NEVER_IDLE: Outline = {
    ...TLS_FINDINGS,
    serverClose: ['ok', 'close_notify'],
    halfClose: ['ok', 'close_notify'],
    afterCloseNotify: ['ok', 'close_notify'],
    idleTimeout: ['ok', 'open'],
  };
  // nginx ends a connection it chose to end (Connection: close, client_header_timeout) with
  // close_notify, but answers our close_notify with a bare FIN: once it has read a close_notify it
  // skips sending its own (no_send_shutdown in its SSL layer).
  const NGINX: Outline = {
    ...TLS_FINDINGS,
    serverClose: ['ok', 'close_notify'],
    halfClose: ['risky', 'fin'],
    afterCloseNotify: ['risky', 'fin'],
    idleTimeout: ['ok', 'close_notify'],
  };
  const servers: [ExternalServer, Outline, number][] = [
    ['openssl', NEVER_IDLE, 0],
    ['gnutls', NEVER_IDLE, 0],
    ['nginx', NGINX, 1],
  ];

  it.each(servers)('%s', async (name, findings, exitCode) => {
    if (!installed(name)) {
      if (CI) throw new Error(`${name} is not installed (CI=true: .ci/run installs it)`);
      console.warn(`not run: ${name} is not installed`);
      return;
    }
    await withServer(
      () => startExternal(name, pki),
      async (server) => {
        const idleMax = name === 'nginx' ? PROBE_IDLE_MAX : '1s';
        const { exitCode: code, report } = await probeJson([...target(server), '--idle-max', idleMax]);
        expect(outline(report)).toEqual(findings);
        expect(code).toBe(exitCode);
      },
    );
  });
});

describe('closenotify probe under Bun and Deno', () => {
  it.each(['bun', 'deno'] as const)('%s probes openssl s_server with its own adapter', async (runtime) => {
    if (!installed('openssl')) {
      if (CI) throw new Error('openssl is not installed');
      console.warn('not run: openssl is not installed');
      return;
    }
    await withServer(
      () => startExternal('openssl', pki),
      async (server) => {
        const { exitCode, report } = await probeJson([...target(server), '--idle-max', '1s'], runtime);
        expect(report.runtime).toBe(runtime);
        const seen = outline(report);
        expect(seen.serverClose).toEqual(['ok', 'close_notify']);
        expect(seen.halfClose).toEqual(['ok', 'close_notify']);
        expect(seen.afterCloseNotify).toEqual(['ok', 'close_notify']);
        expect(seen.idleTimeout).toEqual(['ok', 'open']);
        expect(exitCode).toBe(0);
      },
    );
  });
});

describe('closenotify probe over STARTTLS', () => {
  it('speaks SMTP to a closenotify STARTTLS server', async () => {
    const { startSmtpServer } = await import('../probe/smtp-server.ts');
    await withServer(
      () => startSmtpServer(pki, SERVER_IDLE_MS),
      async (server) => {
        const { exitCode, report } = await probeJson(target(server, '--starttls', 'smtp'));
        expect(report.target.starttls).toBe('smtp');
        expect(outline(report)).toEqual({
          ...TLS_FINDINGS,
          serverClose: ['ok', 'close_notify'],
          halfClose: ['ok', 'close_notify'],
          afterCloseNotify: ['ok', 'close_notify'],
          idleTimeout: ['ok', 'close_notify'],
        });
        expect(exitCode).toBe(0);
      },
    );
  });
});

describe('closenotify probe when STARTTLS fails', () => {
  it('reports the dialogue it did not get (exit 3)', async () => {
    await withServer(
      () => startHttpServer('close_notify', pki, 10_000),
      async (server) => {
        // An HTTPS server never sends an SMTP greeting: the dialogue times out, bounded by --timeout.
        const { exitCode, report } = await probeJson(target(server, '--starttls', 'smtp', '--timeout', '1s'));
        expect(report.error?.code).toBe('PROBE_STARTTLS_FAILED');
        expect(exitCode).toBe(3);
      },
    );
  });
});

describe('the closenotify bin', () => {
  it('is the package bin, with a shebang', async () => {
    const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(manifest.bin).toEqual({ closenotify: './dist/cli.js' });
    expect((await readFile(CLI, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('prints its usage with --help (exit 0)', async () => {
    const result = await runMain(['probe', '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Usage: closenotify probe <host>[:port]');
  });

  it.each([
    [[], 'missing command'],
    [['probe'], 'missing <host>[:port]'],
    [['probe', 'example.org:0'], 'is not a port'],
    [['probe', 'example.org', '--starttls', 'ftp'], 'is not one of smtp, imap, pop3, postgres'],
    [['probe', 'example.org', '--idle-max', 'soon'], 'is not a duration'],
    [['probe', 'example.org', '--timeout', '0s'], 'must be more than 0'],
    [['probe', 'example.org', '--bogus'], 'unknown option --bogus'],
    [['probe', 'example.org', '--ca', '/nonexistent/ca.pem'], '--ca: cannot read'],
    [['probe', 'a.example', 'b.example'], 'one target only'],
  ])('refuses %j with a clear message (exit 2)', async (args, message) => {
    const result = await runMain(args);
    expect(result.stderr).toContain(message);
    expect(result.exitCode).toBe(2);
  });

  it('exits 2 from the bin too', async () => {
    const result = await runCli(['probe']);
    expect(result.stderr).toContain('missing <host>[:port]');
    expect(result.exitCode).toBe(2);
  });

  it('says it could not connect (exit 3)', async () => {
    const port = await withServer(
      () => startHttpServer('close_notify', pki, SERVER_IDLE_MS),
      async (server) => server.port,
    );
    const { exitCode, report } = await probeJson([`127.0.0.1:${port}`, '--timeout', '5s']);
    expect(report.error?.code).toBe('ERR_CONNECT_REFUSED');
    expect(report.findings).toEqual([]);
    expect(exitCode).toBe(3);
  });

  it('prints a table, in colour when asked', async () => {
    await withServer(
      () => startHttpServer('fin', pki, SERVER_IDLE_MS),
      async (server) => {
        const plain = await runCli(['probe', ...target(server)]);
        expect(plain.stdout).toMatch(
          /server ends\s+risky\s+after GET with Connection: close: \d+ bytes, then a bare FIN/,
        );
        expect(plain.stdout).not.toContain('\u001b[');
        expect(plain.exitCode).toBe(1);
        const coloured = await runCli(['probe', ...target(server), '--color']);
        expect(coloured.stdout).toContain('\u001b[33mrisky');
      },
    );
  });
});
