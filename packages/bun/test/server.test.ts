import { describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import {
  connect,
  type ListenOptions,
  listen,
  type SecureServer,
  type SecureSocketError,
  type ShutdownableSecureSocket,
} from '../src/index.ts';
import {
  checkEveryTest,
  NodePeer,
  type PeerSpec,
  pki,
  readAll,
  readText,
  rejection,
  sha256,
} from './support.ts';

checkEveryTest();

const MIB = 1024 * 1024;
const TLS13_CLOSE_NOTIFY = { type: 23, length: 19 };

async function serve(options: Partial<ListenOptions> = {}): Promise<SecureServer> {
  return listen({ ...(await pki()).server, ...options });
}

async function accepted(server: SecureServer): Promise<ShutdownableSecureSocket> {
  const next = await server[Symbol.asyncIterator]().next();
  if (next.done) throw new Error('the server closed before a connection arrived');
  return next.value;
}

/** A Node TLS client connected to our server, and our side of that connection. */
async function nodeClient(server: SecureServer, spec: Omit<PeerSpec, 'role' | 'port'> = {}) {
  const client = await NodePeer.start({ role: 'client', port: server.address.port, ...spec });
  return { client, socket: await accepted(server) };
}

describe('listen()', () => {
  test('serves our own connect()', async () => {
    const { ca } = await pki();
    const server = await serve({ allowHalfOpen: true });
    const client = await connect({ hostname: 'localhost', port: server.address.port, ca });
    const socket = await accepted(server);
    expect(await socket.opened).toMatchObject({
      protocol: 'TLSv1.3',
      servername: 'localhost',
      authorized: false,
      peerCertificate: null,
      remoteAddress: { hostname: '127.0.0.1', port: expect.any(Number) },
    });
    await client.write('hello');
    await client.shutdown('write');
    const request = await readText(socket);
    await socket.write(request.toUpperCase());
    await socket.shutdown('write');
    expect(await readText(client)).toBe('HELLO');
    expect(await client.closed).toMatchObject({ initiator: 'local', closeNotifySent: true });
    expect(await socket.closed).toMatchObject({ initiator: 'peer', closeNotifySent: true });
    await server.close();
  });

  test('server.shutdown-write: close_notify then FIN, the client reads everything, then answers', async () => {
    const server = await serve();
    const { client, socket } = await nodeClient(server, { onEnd: [{ op: 'end' }] });
    const response = randomBytes(MIB);
    await socket.write(response);
    await socket.shutdown('write');
    expect(((await client.event('fin')).recordsBeforeFin as unknown[]).at(-1)).toEqual(TLS13_CLOSE_NOTIFY);
    expect(await client.event('tlsEnd')).toMatchObject({ bytes: MIB, sha256: sha256(response) });
    expect(await socket.closed).toMatchObject({ initiator: 'local', closeNotifySent: true });
    await server.close();
  });

  test('server.peer-close.half-open: the client closes first, we still write and it receives all', async () => {
    const server = await serve({ allowHalfOpen: true });
    const { client, socket } = await nodeClient(server, {
      onSecure: [{ op: 'sendText', text: 'request' }, { op: 'end' }],
    });
    expect(await readText(socket)).toBe('request');
    const response = randomBytes(MIB);
    await socket.write(response);
    await socket.shutdown('write');
    expect(await client.event('tlsEnd')).toMatchObject({ bytes: MIB, sha256: sha256(response) });
    expect(await socket.closed).toMatchObject({ initiator: 'peer', closeNotifySent: true });
    await server.close();
  });

  test('server.peer-close.answers: without allowHalfOpen we answer the client close_notify', async () => {
    const server = await serve();
    const { client, socket } = await nodeClient(server, { onSecure: [{ op: 'end' }] });
    expect(await socket.read()).toBeNull();
    expect(((await client.event('fin')).recordsBeforeFin as unknown[]).at(-1)).toEqual(TLS13_CLOSE_NOTIFY);
    expect(await socket.closed).toMatchObject({ initiator: 'peer', closeNotifySent: true });
    await server.close();
  });

  test('server.shutdown-read.discards-and-counts: an inbound 16 MiB stream is drained after shutdown(read)', async () => {
    const server = await serve();
    const { client, socket } = await nodeClient(server, {
      onSecure: [{ op: 'send', bytes: 16 * MIB }, { op: 'end' }],
    });
    await socket.shutdown('read');
    expect(await socket.read()).toBeNull();
    await client.event('sent');
    expect(await socket.closed).toMatchObject({
      bytesDiscarded: 16 * MIB,
      bytesRead: 0,
      closeNotifySent: true,
    });
    await server.close();
  });

  test('server.data.sha256-16mib: 16 MiB each way', async () => {
    const server = await serve({ allowHalfOpen: true });
    const { client, socket } = await nodeClient(server, {
      onSecure: [{ op: 'send', bytes: 16 * MIB }, { op: 'end' }],
    });
    const received = await readAll(socket);
    expect(sha256(received)).toBe((await client.event('sent')).sha256 as string);
    const response = randomBytes(16 * MIB);
    await socket.write(response);
    await socket.shutdown('write');
    expect(await client.event('tlsEnd')).toMatchObject({ bytes: 16 * MIB, sha256: sha256(response) });
    await socket.closed;
    await server.close();
  });

  test('server.abort.rst-on-wire: the client sees ECONNRESET', async () => {
    const server = await serve();
    const { client, socket } = await nodeClient(server);
    await client.event('secure');
    socket.abort();
    expect(await client.event('tcpError')).toMatchObject({ code: 'ECONNRESET' });
    expect(await socket.closed).toMatchObject({ initiator: 'abort' });
    await server.close();
  });

  test('server.close.waits-for-peer: close() resolves once the client answered', async () => {
    const server = await serve();
    const { client, socket } = await nodeClient(server, { onEnd: [{ op: 'end' }] });
    expect(await socket.close()).toMatchObject({ initiator: 'local', closeNotifySent: true });
    await client.event('tlsEnd');
    await server.close();
  });

  test('requestClientCert: a verified client certificate shows in the session', async () => {
    const server = await serve({ requestClientCert: true, ca: (await pki()).ca });
    const { socket } = await nodeClient(server, { clientCert: true, onEnd: [{ op: 'end' }] });
    const session = await socket.opened;
    expect(session.authorized).toBe(true);
    expect(session.peerCertificate?.subject).toContain('CN=closenotify-client');
    await socket.close();
    await server.close();
  });

  test('requestClientCert: a client without a certificate fails its handshake', async () => {
    const failures: SecureSocketError[] = [];
    const reported = Promise.withResolvers<void>();
    const server = await serve({
      requestClientCert: true,
      ca: (await pki()).ca,
      onHandshakeError: (error) => {
        failures.push(error);
        reported.resolve();
      },
    });
    const client = await NodePeer.start({ role: 'client', port: server.address.port });
    await reported.promise;
    expect(failures[0]).toMatchObject({ code: 'ERR_TLS_CERT_MISSING', phase: 'handshake' });
    expect(await client.event('tlsError')).toMatchObject({
      code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
    });
    await server.close();
  });

  test('minVersion TLSv1.3 refuses a TLS 1.2 client', async () => {
    const reported = Promise.withResolvers<SecureSocketError>();
    const server = await serve({ minVersion: 'TLSv1.3', onHandshakeError: reported.resolve });
    const client = await NodePeer.start({ role: 'client', port: server.address.port, maxVersion: 'TLSv1.2' });
    expect(await reported.promise).toMatchObject({ code: 'ERR_TLS_PROTOCOL', phase: 'handshake' });
    expect(await client.event('tlsError')).toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    await server.close();
  });

  test('close() stops accepting while accepted sockets stay usable', async () => {
    const server = await serve();
    const { client, socket } = await nodeClient(server, { onEnd: [{ op: 'end' }] });
    await server.close();
    const refused = connect({
      hostname: 'localhost',
      port: server.address.port,
      ca: (await pki()).ca,
      handshakeTimeoutMs: 1000,
    });
    expect(await rejection(refused)).toMatchObject({ code: 'ERR_CONNECT_REFUSED' });
    await socket.write('after the listener closed');
    await socket.shutdown('write');
    expect((await client.event('tlsEnd')).bytes).toBe(25);
    await socket.closed;
  });

  test('a key that does not match the certificate is refused with ERR_INVALID_OPTION', async () => {
    const { server, client } = await pki();
    expect(await rejection(listen({ cert: server.cert, key: client.key }))).toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });

  test('a port already in use is reported, not thrown', async () => {
    const server = await serve();
    expect(await rejection(serve({ port: server.address.port }))).toMatchObject({
      name: 'SecureSocketError',
    });
    await server.close();
  });
});
