/**
 * The reference lines: OpenSSL's own tools as the native TLS figure (`s_server -WWW` → `s_time`) and
 * `openssl speed` as the single-core AEAD limit. Process wall time.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pki } from '@closenotify/test-pki';
import { repoRoot } from './paths.ts';
import { endProcess, runToCompletion, spawnTracked } from './processes.ts';

export interface Reference {
  name: string;
  command: string;
  value: number;
  unit: string;
  /** Why there is no value. */
  failure?: string;
}

/** Large enough for a stable figure, small enough to write quickly: s_time fetches it repeatedly. */
const FILE_BYTES = 256 * 1024 * 1024;
const S_TIME_SECONDS = 3;
const TIMEOUT_MS = 60_000;

/** A reference that cannot be measured is reported as such; it never costs the bench its results. */
export async function measureReferences(pki: Pki): Promise<Reference[]> {
  const unavailable = (name: string, unit: string) => (error: unknown) => [
    { name, command: 'openssl', value: Number.NaN, unit, failure: String(error) },
  ];
  return [
    ...(await aeadSpeed().catch(unavailable('openssl speed', 'MB/s'))),
    ...(await sTime(pki).catch(unavailable('openssl s_server → s_time', 'MB/s'))),
  ];
}

async function aeadSpeed(): Promise<Reference[]> {
  const references: Reference[] = [];
  for (const direction of ['encrypt', 'decrypt'] as const) {
    const args = [
      'speed',
      '-seconds',
      '1',
      '-bytes',
      '16384',
      ...(direction === 'decrypt' ? ['-decrypt'] : []),
    ];
    args.push('-evp', 'aes-256-gcm');
    const done = await runToCompletion('openssl', args, TIMEOUT_MS);
    // "AES-256-GCM    4193450.67k": thousands of bytes per second.
    const thousands = /^aes-256-gcm\s+([\d.]+)k/im.exec(done.stdout)?.[1];
    references.push({
      name: `AES-256-GCM ${direction}, one core (16 KiB blocks)`,
      command: shown(args),
      value: thousands ? Number(thousands) / 1000 : Number.NaN,
      unit: 'MB/s',
    });
  }
  return references;
}

async function sTime(pki: Pki): Promise<Reference[]> {
  const dir = mkdtempSync(join(tmpdir(), 'closenotify-bench-'));
  const pattern = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
  for (let written = 0; written < FILE_BYTES; written += pattern.byteLength) {
    writeFileSync(join(dir, 'bulk.bin'), pattern, { flag: written === 0 ? 'w' : 'a' });
  }
  const server = spawnTracked(
    'openssl',
    [
      's_server',
      '-accept',
      '127.0.0.1:0',
      '-cert',
      join(pki.dir, 'server.pem'),
      '-key',
      join(pki.dir, 'server-key.pem'),
      '-WWW',
    ],
    'ignore',
    dir,
  );
  try {
    const port = await acceptPort(server);
    const connect = ['-connect', `127.0.0.1:${port}`, '-CAfile', join(pki.dir, 'ca.pem')];
    const bulk = await timed([
      's_time',
      ...connect,
      '-new',
      '-www',
      '/bulk.bin',
      '-time',
      `${S_TIME_SECONDS}`,
    ]);
    const handshakes = await timed(['s_time', ...connect, '-new', '-time', `${S_TIME_SECONDS}`]);
    return [
      {
        name: 'openssl s_server -WWW → s_time -www, 256 MiB per connection',
        command: bulk.command,
        value: (bulk.connections * bulk.bytesPerConnection) / 1e3 / bulk.wallMs,
        unit: 'MB/s',
      },
      {
        name: 'openssl s_time -new: handshakes only (no data, no close_notify)',
        command: handshakes.command,
        value: (handshakes.connections * 1000) / handshakes.wallMs,
        unit: 'handshakes/s',
      },
    ];
  } finally {
    endProcess(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The command as the report shows it: paths relative to the repository. */
function shown(args: string[]): string {
  return `openssl ${args.join(' ')}`
    .replaceAll(`${repoRoot}/`, '')
    .replace(/127\.0\.0\.1:\d+/, '127.0.0.1:<port>');
}

function acceptPort(server: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`s_server did not start: ${output}`)), 10_000);
    server.stdout?.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const port = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(Number(port));
      }
    });
  });
}

/** "33 connections in 3 real seconds, 67108909 bytes read per connection"; the time is ours, not its whole seconds. */
async function timed(args: string[]) {
  const done = await runToCompletion('openssl', args, TIMEOUT_MS);
  const match = /(\d+) connections in [\d.]+ real seconds, (\d+) bytes read/.exec(done.stdout);
  return {
    command: shown(args),
    connections: Number(match?.[1] ?? Number.NaN),
    bytesPerConnection: Number(match?.[2] ?? Number.NaN),
    wallMs: done.wallMs,
  };
}
