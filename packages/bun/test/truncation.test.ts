import { describe, expect, test } from 'bun:test';
import { constants } from 'node:crypto';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { Socket } from 'bun';
import { connect, listen, type ShutdownableSecureSocket } from '../src/index.ts';
import { checkEveryTest, pki, readAll, rejection } from './support.ts';

checkEveryTest();

const VERSION_FLAG = { 'TLSv1.2': '-tls1_2', 'TLSv1.3': '-tls1_3' } as const;
type Version = keyof typeof VERSION_FLAG;

/** A port nothing listens on: bound by the system, then released. */
function freePort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

async function waitForLine(stream: ReadableStream<Uint8Array>, marker: string): Promise<void> {
  const reader = stream.getReader();
  let seen = '';
  while (!seen.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the process ended before printing ${marker}: ${seen}`);
    seen += new TextDecoder().decode(value);
  }
  reader.releaseLock();
}

describe('what the exact verdict relies on in Bun 1.4.5 (fails on a Bun that changed it)', () => {
  test('upgradeTLS on a plain socket, client and accepted: the raw half sees ciphertext, keylog gives the secrets', async () => {
    const { server: credential, ca } = await pki();
    const seen = { rawFirstByte: -1, serverHandshake: false, labels: new Set<string>() };
    const { promise: serverFinished, resolve: serverDone } = Promise.withResolvers<void>();
    let upgraded: Socket<undefined> | undefined;
    const listener = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        open(socket) {
          // Newer Bun refuses this on an accepted socket (it wants upgradeDuplexToTLS): listen() needs it.
          [, upgraded] = socket.upgradeTLS({
            tls: { cert: credential.cert, key: credential.key },
            socket: {
              handshake(_socket, success) {
                seen.serverHandshake = success;
                serverDone();
              },
              data() {},
            },
          });
        },
        data() {},
      },
    });
    const { promise: done, resolve } = Promise.withResolvers<void>();
    const tcp = await Bun.connect({
      hostname: '127.0.0.1',
      port: listener.port,
      socket: {
        data(_socket, chunk) {
          if (seen.rawFirstByte < 0) seen.rawFirstByte = chunk[0]!;
        },
      },
    });
    const [, tls] = tcp.upgradeTLS({
      tls: { ca, serverName: 'localhost' },
      socket: {
        data() {},
        keylog(_socket: unknown, line: Uint8Array | string) {
          seen.labels.add(String(line).split(' ')[0]!);
          if (seen.labels.has('SERVER_TRAFFIC_SECRET_0')) resolve();
        },
      } as Parameters<typeof tcp.upgradeTLS>[0]['socket'],
    });
    await Promise.all([done, serverFinished]);
    expect(seen.rawFirstByte).toBe(22);
    expect(seen.serverHandshake).toBe(true);
    expect([...seen.labels]).toEqual(
      expect.arrayContaining([
        'SERVER_HANDSHAKE_TRAFFIC_SECRET',
        'SERVER_TRAFFIC_SECRET_0',
        'CLIENT_TRAFFIC_SECRET_0',
      ]),
    );
    tls.terminate();
    upgraded?.terminate();
    listener.stop(true);
  });
});

/** Whether a chunk of TLS records opens with a ServerHello (record type 22, handshake type 2). */
function opensWithServerHello(chunk: Uint8Array): boolean {
  return chunk[0] === 22 && chunk[5] === 2;
}

describe('why a server that may negotiate TLS 1.2 runs node:tls over a Duplex, and what that works around (fails on a Bun that changed it)', () => {
  test('an accepted socket upgraded to TLS 1.2 shows no ServerHello on its raw half and logs CLIENT_RANDOM only', async () => {
    const { server: credential, ca } = await pki();
    const seen = { rawChunks: 0, serverHello: false, labels: new Set<string>() };
    const { promise: keyLogged, resolve } = Promise.withResolvers<void>();
    let upgraded: Socket<unknown> | undefined;
    const listener = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        open(socket) {
          [, upgraded] = socket.upgradeTLS({
            tls: { cert: credential.cert, key: credential.key, secureOptions: constants.SSL_OP_NO_TLSv1_3 },
            socket: {
              data() {},
              keylog(_socket: unknown, line: Uint8Array | string) {
                seen.labels.add(String(line).split(' ')[0]!);
                resolve();
              },
            } as Parameters<typeof socket.upgradeTLS>[0]['socket'],
          });
        },
        data(_socket, chunk) {
          seen.rawChunks++;
          if (opensWithServerHello(chunk)) seen.serverHello = true;
        },
      },
    });
    const client = await Bun.connect({
      hostname: '127.0.0.1',
      port: listener.port,
      tls: { ca, serverName: 'localhost' },
      socket: { data() {} },
    });
    await keyLogged;
    expect(seen.rawChunks).toBeGreaterThan(0);
    expect(seen.serverHello).toBe(false);
    expect([...seen.labels]).toEqual(['CLIENT_RANDOM']);
    client.terminate();
    upgraded?.terminate();
    listener.stop(true);
  });

  test("node:tls over a Duplex shows the ServerHello but answers the client's close_notify by itself", async () => {
    const { server: credential, ca } = await pki();
    // What the server's TLS engine wrote: the first record type of each chunk; 'FIN' when it ended the Duplex.
    const written: Array<number | 'FIN'> = [];
    const seen = { serverHello: false, errors: [] as Error[] };
    const { promise: answered, resolve } = Promise.withResolvers<void>();
    let tlsSocket: TLSSocket | undefined;
    const listener = Bun.listen<Duplex>({
      hostname: '127.0.0.1',
      port: 0,
      allowHalfOpen: true,
      socket: {
        open(raw) {
          raw.data = new Duplex({
            allowHalfOpen: true,
            read() {},
            write(chunk: Uint8Array, _encoding, callback) {
              if (opensWithServerHello(chunk)) seen.serverHello = true;
              written.push(chunk[0]!);
              raw.write(chunk);
              callback();
            },
            final(callback) {
              written.push('FIN');
              raw.shutdown();
              callback();
              resolve();
            },
          });
          const socket = new TLSSocket(raw.data, {
            isServer: true,
            cert: credential.cert,
            key: credential.key,
            maxVersion: 'TLSv1.2',
          } as ConstructorParameters<typeof TLSSocket>[1]);
          tlsSocket = socket;
          socket.on('error', (error) => seen.errors.push(error));
          // The one thing the application does: a byte that tells the client to close.
          socket.on('secure', () => socket.write('x'));
        },
        data(raw, chunk) {
          raw.data.push(chunk);
        },
      },
    });
    const client = await Bun.connect({
      hostname: '127.0.0.1',
      port: listener.port,
      allowHalfOpen: true,
      tls: { ca, serverName: 'localhost' },
      socket: {
        // Bun's end() sends close_notify and holds the FIN.
        data(socket) {
          socket.end();
        },
        error(_socket, error) {
          seen.errors.push(error);
        },
      },
    });
    // The server application never ends its side: a Bun that leaves the answer to it lets this bound run out.
    const bound = setTimeout(resolve, 5000);
    await answered;
    clearTimeout(bound);
    expect(seen.serverHello).toBe(true);
    // Its own close_notify (an alert record on TLS 1.2, and no error on either side), then the FIN:
    // nobody asked for either.
    expect(written.slice(-2)).toEqual([21, 'FIN']);
    expect(seen.errors).toEqual([]);
    client.terminate();
    tlsSocket!.destroy();
    listener.stop(true);
  });
});

describe.each(['TLSv1.2', 'TLSv1.3'] as const)('against OpenSSL (%s)', (version: Version) => {
  test('s_server killed with SIGKILL mid-stream is ERR_TLS_TRUNCATED', async () => {
    const { dir, ca } = await pki();
    const port = freePort();
    const server = Bun.spawn(
      [
        'openssl',
        's_server',
        '-accept',
        `127.0.0.1:${port}`,
        '-naccept',
        '1',
        '-cert',
        `${dir}/server.pem`,
        '-key',
        `${dir}/server-key.pem`,
        VERSION_FLAG[version],
      ],
      { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' },
    );
    try {
      await waitForLine(server.stdout, 'ACCEPT');
      const socket = await connect({ hostname: '127.0.0.1', servername: 'localhost', port, ca });
      server.stdin.write('partial\n');
      server.stdin.flush();
      expect(new TextDecoder().decode((await socket.read())!)).toBe('partial\n');
      server.kill('SIGKILL');
      expect(await rejection(socket.read())).toMatchObject({ code: 'ERR_TLS_TRUNCATED' });
      expect(await socket.closed).toMatchObject({ truncated: true, closeNotifyReceived: false });
    } finally {
      server.kill('SIGKILL');
    }
  });

  test(`s_client's close_notify on an accepted socket${version === 'TLSv1.3' ? ', after two KeyUpdates,' : ''} is clean`, async () => {
    const { server: credential } = await pki();
    const { promise: accepted, resolve } = Promise.withResolvers<ShutdownableSecureSocket>();
    const server = await listen({ hostname: '127.0.0.1', port: 0, ...credential }, (socket) => {
      resolve(socket);
    });
    // -msg prints each message s_client sends: the next line waits until its KeyUpdate is out, since
    // s_client takes a read of stdin that starts with "k" as the command alone and drops the rest.
    const client = Bun.spawn(
      ['openssl', 's_client', '-msg', '-connect', `127.0.0.1:${server.address.port}`, VERSION_FLAG[version]],
      { stdin: 'pipe', stdout: 'pipe', stderr: 'ignore' },
    );
    const output = client.stdout.getReader();
    let printed = '';
    const keyUpdatesSent = async (count: number): Promise<void> => {
      while ((printed.match(/>>> .*KeyUpdate/g) ?? []).length < count) {
        const { value, done } = await output.read();
        if (done) throw new Error('s_client ended before its KeyUpdate');
        printed += new TextDecoder().decode(value);
      }
    };
    try {
      const socket = await accepted;
      const line = async (text: string, expected: string): Promise<void> => {
        client.stdin.write(text);
        client.stdin.flush();
        expect(new TextDecoder().decode((await socket.read())!)).toBe(expected);
      };
      await line('hello\n', 'hello\n');
      if (version === 'TLSv1.3') {
        // "k" sends a KeyUpdate, "K" one that asks for ours: each next line travels under new keys.
        client.stdin.write('k\n');
        client.stdin.flush();
        await keyUpdatesSent(1);
        await line('one\n', 'one\n');
        client.stdin.write('K\n');
        client.stdin.flush();
        await keyUpdatesSent(2);
        await line('two\n', 'two\n');
      }
      client.stdin.end();
      expect(await readAll(socket)).toHaveLength(0);
      expect(await socket.close()).toMatchObject({ closeNotifyReceived: true });
    } finally {
      output.releaseLock();
      client.kill('SIGKILL');
      await server.close();
    }
  });
});
