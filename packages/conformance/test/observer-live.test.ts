import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Direction,
  type ObservedConnection,
  type Relay,
  startRelay,
  summarize,
  type WireEvent,
} from '../peer/observer/index.ts';

let pki: { key: Buffer; cert: Buffer };

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'observer-pki-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-days',
        '2',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    pki = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

type Version = 'TLSv1.2' | 'TLSv1.3';
const VERSIONS: Version[] = ['TLSv1.2', 'TLSv1.3'];

interface Harness {
  relay: Relay;
  /** Keylog lines the server emitted, also fed to the relay unless `holdKeylog`. */
  keylogLines: Buffer[];
  connection(): ObservedConnection;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A Node TLS server behind an observing relay; `onSecure` scripts the server side of each connection. */
async function observedServer(
  { holdKeylog = false, ...options }: tls.TlsOptions & { holdKeylog?: boolean },
  onSecure: (socket: tls.TLSSocket) => void,
): Promise<Harness> {
  const serverSockets = new Set<net.Socket>();
  const server = tls.createServer(
    { key: pki.key, cert: pki.cert, allowHalfOpen: true, ...options },
    onSecure,
  );
  server.on('connection', (socket: net.Socket) => {
    serverSockets.add(socket);
    socket.once('close', () => serverSockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const relay = await startRelay({
    target: { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port },
  });
  const keylogLines: Buffer[] = [];
  server.on('keylog', (line: Buffer) => {
    keylogLines.push(line);
    if (!holdKeylog) relay.keylog(line);
  });
  cleanups.push(async () => {
    await relay.close();
    for (const socket of serverSockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    relay,
    keylogLines,
    connection: () => {
      const [connection, ...others] = relay.connections();
      expect(others).toEqual([]);
      return connection!;
    },
  };
}

/** A TLS client, connected to the relay at `port` or over the given `socket`. */
function connectClient(options: { port: number } | { socket: Duplex }): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', ca: pki.cert, servername: 'localhost', ...options }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
    cleanups.push(async () => {
      socket.destroy();
    });
  });
}

/** All bytes `socket` delivers until its end. */
function readAll(socket: tls.TLSSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    let total = 0;
    socket.on('data', (chunk: Buffer) => {
      total += chunk.length;
    });
    socket.once('end', () => resolve(total));
    socket.once('error', reject);
  });
}

/** Server side of the graceful exchange: read everything, then answer 7 bytes and end. */
function replyAfterEnd(received: (bytes: number) => void) {
  return (socket: tls.TLSSocket): void => {
    readAll(socket).then((bytes) => {
      received(bytes);
      socket.end('goodbye');
    }, received);
  };
}

/** Client side: 5 bytes, 100,000 bytes, end(); returns what the server sent back. */
async function gracefulExchange(client: tls.TLSSocket): Promise<number> {
  const reply = readAll(client);
  client.write(Buffer.alloc(5, 1));
  client.write(Buffer.alloc(100_000, 2));
  client.end();
  return reply;
}

const ofDirection = (events: WireEvent[], dir: Direction): WireEvent[] =>
  events.filter((event) => event.dir === dir);
const handshakeTypes = (events: WireEvent[], dir: Direction): string[] =>
  ofDirection(events, dir).flatMap((event) => (event.kind === 'handshake' ? [event.type] : []));
const recordLayer = (events: WireEvent[], dir: Direction): WireEvent[] =>
  ofDirection(events, dir).filter((event) => event.kind !== 'handshake' && event.kind !== 'ccs');
const dataBytes = (events: WireEvent[]): number =>
  events.reduce((sum, event) => sum + (event.kind === 'data' ? event.bytes : 0), 0);

/** Each direction: data records carrying `bytes`, then close_notify, then FIN, and nothing after. */
function expectDataThenCloseNotifyThenFin(events: WireEvent[], expected: Record<Direction, number>): void {
  const trace = summarize(events, { verbose: true });
  expect(
    events.filter((event) => event.kind === 'undecryptable'),
    trace,
  ).toEqual([]);
  for (const dir of ['c2s', 's2c'] as const) {
    const records = recordLayer(events, dir);
    const data = records.slice(0, -2);
    expect(
      data.every((event) => event.kind === 'data'),
      trace,
    ).toBe(true);
    expect(dataBytes(data), trace).toBe(expected[dir]);
    expect(records.slice(-2), trace).toEqual([
      { dir, at: expect.any(Number), kind: 'alert', level: 'warning', description: 'close_notify', code: 0 },
      { dir, at: expect.any(Number), kind: 'fin' },
    ]);
    expect(ofDirection(events, dir).at(-1)?.kind, trace).toBe('fin');
  }
  const times = events.map((event) => event.at);
  expect(times, 'arrival order').toEqual([...times].sort((a, b) => a - b));
}

const SUITES = [
  {
    version: 'TLSv1.2',
    cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
    standardName: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  },
  {
    version: 'TLSv1.2',
    cipher: 'ECDHE-RSA-AES256-GCM-SHA384',
    standardName: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  },
  {
    version: 'TLSv1.2',
    cipher: 'ECDHE-RSA-CHACHA20-POLY1305',
    standardName: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  },
  { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', standardName: 'TLS_AES_128_GCM_SHA256' },
  { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', standardName: 'TLS_AES_256_GCM_SHA384' },
  {
    version: 'TLSv1.3',
    cipher: 'TLS_CHACHA20_POLY1305_SHA256',
    standardName: 'TLS_CHACHA20_POLY1305_SHA256',
  },
] as const;

const EXPECTED_HANDSHAKES: Record<Version, Record<Direction, string[]>> = {
  'TLSv1.2': {
    c2s: ['ClientHello', 'ClientKeyExchange', 'Finished'],
    s2c: [
      'ServerHello',
      'Certificate',
      'ServerKeyExchange',
      'ServerHelloDone',
      'NewSessionTicket',
      'Finished',
    ],
  },
  'TLSv1.3': {
    c2s: ['ClientHello', 'Finished'],
    s2c: [
      'ServerHello',
      'EncryptedExtensions',
      'Certificate',
      'CertificateVerify',
      'Finished',
      'NewSessionTicket',
      'NewSessionTicket',
    ],
  },
};

describe('graceful close through the relay', () => {
  it.each(SUITES)('$version $cipher: data, close_notify, FIN in both directions', async (suite) => {
    let serverReceived = -1;
    const harness = await observedServer(
      { minVersion: suite.version, maxVersion: suite.version, ciphers: suite.cipher },
      replyAfterEnd((bytes) => {
        serverReceived = bytes;
      }),
    );
    const client = await connectClient({ port: harness.relay.port });
    expect(client.getCipher().standardName).toBe(suite.standardName);
    expect(await gracefulExchange(client)).toBe(7);
    const connection = harness.connection();
    await connection.ended;
    expect(serverReceived).toBe(100_005);

    const events = connection.events();
    expectDataThenCloseNotifyThenFin(events, { c2s: 100_005, s2c: 7 });
    expect(handshakeTypes(events, 'c2s')).toEqual(EXPECTED_HANDSHAKES[suite.version].c2s);
    expect(handshakeTypes(events, 's2c')).toEqual(EXPECTED_HANDSHAKES[suite.version].s2c);
  });

  it('TLSv1.3 with a HelloRetryRequest', async () => {
    // The client sends an X25519 key share; a server that only takes P-384 has to ask again.
    const harness = await observedServer(
      { minVersion: 'TLSv1.3', ecdhCurve: 'P-384' },
      replyAfterEnd(() => {}),
    );
    expect(await gracefulExchange(await connectClient({ port: harness.relay.port }))).toBe(7);
    const connection = harness.connection();
    await connection.ended;
    const events = connection.events();
    expectDataThenCloseNotifyThenFin(events, { c2s: 100_005, s2c: 7 });
    expect(handshakeTypes(events, 'c2s')).toEqual(['ClientHello', 'ClientHello', 'Finished']);
    expect(handshakeTypes(events, 's2c').slice(0, 3)).toEqual([
      'HelloRetryRequest',
      'ServerHello',
      'EncryptedExtensions',
    ]);
  });

  it.each(VERSIONS)('%s: keylog lines fed after the connection ended still decode it', async (version) => {
    const harness = await observedServer(
      { minVersion: version, maxVersion: version, holdKeylog: true },
      replyAfterEnd(() => {}),
    );
    expect(await gracefulExchange(await connectClient({ port: harness.relay.port }))).toBe(7);
    const connection = harness.connection();
    await connection.ended;
    const before = connection.events();
    expect(before.some((event) => event.kind === 'undecryptable')).toBe(true);
    expect(before.some((event) => event.kind === 'data' || event.kind === 'alert')).toBe(false);

    for (const line of harness.keylogLines) harness.relay.keylog(line);
    expectDataThenCloseNotifyThenFin(connection.events(), { c2s: 100_005, s2c: 7 });
  });

  it.each(VERSIONS)('%s: 64 MiB each way at once', async (version) => {
    const size = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 3);
    const writeAll = (socket: tls.TLSSocket): void => {
      for (let written = 0; written < size; written += chunk.length) socket.write(chunk);
    };
    let serverReceived = -1;
    const harness = await observedServer({ minVersion: version, maxVersion: version }, (socket) => {
      writeAll(socket);
      readAll(socket).then((bytes) => {
        serverReceived = bytes;
        socket.end();
      });
    });
    const client = await connectClient({ port: harness.relay.port });
    const received = readAll(client);
    writeAll(client);
    client.end();
    expect(await received).toBe(size);
    const connection = harness.connection();
    await connection.ended;
    expect(serverReceived).toBe(size);
    expectDataThenCloseNotifyThenFin(connection.events(), { c2s: size, s2c: size });
  });
});

/** Server side for the abrupt cases: reads, ends after the client's FIN, tells how its socket closed. */
function abruptServer() {
  let gotBytes!: () => void;
  let closed!: (errorCode: string | undefined) => void;
  const side = {
    gotBytes: new Promise<void>((resolve) => {
      gotBytes = resolve;
    }),
    closed: new Promise<string | undefined>((resolve) => {
      closed = resolve;
    }),
  };
  const onSecure = (socket: tls.TLSSocket): void => {
    let errorCode: string | undefined;
    socket.on('data', () => gotBytes());
    socket.on('end', () => socket.end());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      errorCode = error.code;
    });
    socket.on('close', () => closed(errorCode));
  };
  return { side, onSecure };
}

/** A client transport that passes on only the first bytes of the next record larger than 1000 bytes, then FIN. */
function cuttingTransport(port: number) {
  const raw = net.connect(port, '127.0.0.1');
  let cutAt: number | undefined;
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      if (cutAt !== undefined && chunk.length > 1000) {
        raw.end(chunk.subarray(0, cutAt));
        cutAt = undefined;
      } else if (!raw.writableEnded) {
        raw.write(chunk);
      }
      callback();
    },
  });
  raw.on('data', (chunk: Buffer) => duplex.push(chunk));
  raw.on('end', () => duplex.push(null));
  raw.on('error', (error) => duplex.destroy(error));
  cleanups.push(async () => {
    raw.destroy();
  });
  return {
    duplex,
    cutNextRecordAfter: (bytes: number): void => {
      cutAt = bytes;
    },
  };
}

describe('abrupt closes through the relay', () => {
  it.each(VERSIONS)('%s: a bare FIN shows as fin with no close_notify before it', async (version) => {
    const { side, onSecure } = abruptServer();
    const harness = await observedServer({ minVersion: version, maxVersion: version }, onSecure);
    const raw = net.connect(harness.relay.port, '127.0.0.1');
    const client = await connectClient({ socket: raw });
    client.on('error', () => {});
    client.write('hello');
    await side.gotBytes;
    raw.end();
    const connection = harness.connection();
    await connection.ended;
    const events = connection.events();
    expect(summarize(recordLayer(events, 'c2s')), summarize(events)).toBe('c2s data(5) c2s fin');
    expect(await side.closed).toBeUndefined();
  });

  it.each(VERSIONS)(
    '%s: a RST shows as rst with no close_notify, and reaches the server',
    async (version) => {
      const { side, onSecure } = abruptServer();
      const harness = await observedServer({ minVersion: version, maxVersion: version }, onSecure);
      const raw = net.connect(harness.relay.port, '127.0.0.1');
      const client = await connectClient({ socket: raw });
      client.on('error', () => {});
      client.write('hello');
      await side.gotBytes;
      raw.resetAndDestroy();
      const connection = harness.connection();
      await connection.ended;
      const events = connection.events();
      expect(summarize(recordLayer(events, 'c2s')), summarize(events)).toBe('c2s data(5) c2s rst');
      expect(await side.closed).toBe('ECONNRESET');
    },
  );

  it.each(VERSIONS)(
    '%s: a FIN in the middle of a record shows as partial-record, then fin',
    async (version) => {
      const { side, onSecure } = abruptServer();
      const ciphers = version === 'TLSv1.2' ? 'ECDHE-RSA-AES128-GCM-SHA256' : 'TLS_AES_128_GCM_SHA256';
      const harness = await observedServer({ minVersion: version, maxVersion: version, ciphers }, onSecure);
      const transport = cuttingTransport(harness.relay.port);
      const client = await connectClient({ socket: transport.duplex });
      client.on('error', () => {});
      client.write('hello');
      await side.gotBytes;
      transport.cutNextRecordAfter(100);
      client.write(Buffer.alloc(1000));
      const connection = harness.connection();
      await connection.ended;
      // AES-GCM adds 16 bytes of tag; TLS 1.2 an 8-byte explicit nonce, TLS 1.3 the inner content type.
      const need = version === 'TLSv1.2' ? 5 + 8 + 1000 + 16 : 5 + 1000 + 1 + 16;
      const events = connection.events();
      expect(summarize(recordLayer(events, 'c2s')), summarize(events)).toBe(
        `c2s data(5) c2s partial-record(100/${need}) c2s fin`,
      );
      await side.closed;
    },
  );

  it('plaintext HTTP sent to a TLS server shows as garbage', async () => {
    const harness = await observedServer({}, () => {});
    const raw = net.connect(harness.relay.port, '127.0.0.1');
    raw.on('data', () => {});
    raw.write('GET / HTTP/1.0\r\n\r\n');
    await once(raw, 'close');
    const connection = harness.connection();
    await connection.ended;
    const events = connection.events();
    expect(summarize(recordLayer(events, 'c2s')), summarize(events)).toBe('c2s garbage(18) c2s fin');
  });
});
