import { describe, expect, test } from 'bun:test';
import { capabilities, connect } from '../src/index.ts';
import { checkEveryTest, NodePeer, pki, rejection } from './support.ts';

checkEveryTest();

/** A port nothing listens on: bound by the system, then released. */
function closedPort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

describe('connect()', () => {
  test('reports the negotiated session (connect.session-info, connect.alpn, connect.sni)', async () => {
    const peer = await NodePeer.start({ role: 'server', alpn: ['http/1.1'], onEnd: [{ op: 'end' }] });
    const socket = await connect({
      hostname: '127.0.0.1',
      port: peer.port,
      servername: 'localhost',
      ca: (await pki()).ca,
      alpn: ['h2', 'http/1.1'],
    });
    const session = await socket.opened;
    expect(session).toMatchObject({
      protocol: 'TLSv1.3',
      cipher: { name: expect.any(String), standardName: expect.stringMatching(/^TLS_/) },
      alpnProtocol: 'http/1.1',
      servername: 'localhost',
      authorized: true,
      localAddress: { hostname: '127.0.0.1', port: expect.any(Number) },
      remoteAddress: { hostname: '127.0.0.1', port: peer.port },
    });
    expect(session.peerCertificate).toMatchObject({
      subject: expect.stringContaining('CN=localhost'),
      issuer: expect.stringContaining('CN=closenotify test CA'),
      validFrom: expect.any(String),
      validTo: expect.any(String),
      fingerprint256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
      subjectAltNames: expect.arrayContaining(['DNS:localhost', 'IP Address:127.0.0.1']),
    });
    expect(await peer.event('secure')).toMatchObject({
      protocol: 'TLSv1.3',
      alpn: 'http/1.1',
      servername: 'localhost',
    });
    expect(await socket.close()).toMatchObject({
      initiator: 'local',
      closeNotifySent: true,
      closeNotifyReceived: true,
    });
  });

  test('alpnProtocol is null when the peer agrees on none', async () => {
    const peer = await NodePeer.start({ role: 'server', onEnd: [{ op: 'end' }] });
    const socket = await connect({
      hostname: '127.0.0.1',
      port: peer.port,
      ca: (await pki()).ca,
      alpn: ['h2'],
    });
    expect((await socket.opened).alpnProtocol).toBeNull();
    await socket.close();
  });

  test('a peer that refuses every offered ALPN protocol fails with ERR_TLS_ALERT', async () => {
    const peer = await NodePeer.start({ role: 'server', alpn: ['h2'] });
    const attempt = connect({
      hostname: '127.0.0.1',
      port: peer.port,
      ca: (await pki()).ca,
      alpn: ['http/1.1'],
    });
    expect(await rejection(attempt)).toMatchObject({ code: 'ERR_TLS_ALERT', phase: 'handshake' });
  });

  test('verifies the IP address itself when connecting by address, and sends no SNI for it', async () => {
    const peer = await NodePeer.start({ role: 'server', onEnd: [{ op: 'end' }] });
    const socket = await connect({ hostname: '127.0.0.1', port: peer.port, ca: (await pki()).ca });
    expect(await socket.opened).toMatchObject({ authorized: true, servername: null });
    await socket.close();
  });

  test('maxVersion TLSv1.2 is honoured on the wire', async () => {
    const peer = await NodePeer.start({ role: 'server', onEnd: [{ op: 'end' }] });
    const socket = await connect({
      hostname: '127.0.0.1',
      port: peer.port,
      ca: (await pki()).ca,
      maxVersion: 'TLSv1.2',
    });
    expect((await socket.opened).protocol).toBe('TLSv1.2');
    expect(await peer.event('secure')).toMatchObject({ protocol: 'TLSv1.2' });
    await socket.close();
  });

  test('minVersion TLSv1.3 refuses a TLS 1.2 peer (its protocol_version alert: ERR_TLS_ALERT)', async () => {
    const peer = await NodePeer.start({ role: 'server', maxVersion: 'TLSv1.2' });
    const attempt = connect({
      hostname: '127.0.0.1',
      port: peer.port,
      ca: (await pki()).ca,
      minVersion: 'TLSv1.3',
    });
    expect(await rejection(attempt)).toMatchObject({ code: 'ERR_TLS_ALERT', phase: 'handshake' });
    expect(await peer.event('tlsError')).toMatchObject({ code: 'ERR_SSL_UNSUPPORTED_PROTOCOL' });
  });

  test('presents a client certificate', async () => {
    const { ca, client } = await pki();
    const peer = await NodePeer.start({ role: 'server', requestClientCert: true, onEnd: [{ op: 'end' }] });
    const socket = await connect({ hostname: '127.0.0.1', port: peer.port, ca, ...client });
    expect(await peer.event('secure')).toMatchObject({
      authorized: true,
      peerCommonName: 'closenotify-client',
    });
    await socket.close();
  });

  test('dangerouslyDisableVerification accepts an untrusted certificate and a wrong host', async () => {
    for (const certificate of ['self-signed', 'wrong-host'] as const) {
      const peer = await NodePeer.start({ role: 'server', certificate, onEnd: [{ op: 'end' }] });
      const socket = await connect({
        hostname: 'localhost',
        port: peer.port,
        ca: (await pki()).ca,
        dangerouslyDisableVerification: true,
      });
      expect((await socket.opened).authorized).toBe(false);
      await socket.write('still talking');
      await socket.shutdown('write');
      expect(await peer.event('tlsEnd')).toMatchObject({ bytes: 13 });
      await socket.closed;
    }
  });

  test('without ca the default trust store is used, which does not know the test CA', async () => {
    const peer = await NodePeer.start({ role: 'server' });
    expect(await rejection(connect({ hostname: 'localhost', port: peer.port }))).toMatchObject({
      code: 'ERR_TLS_CERT_UNTRUSTED',
    });
  });

  test('a refused port fails with ERR_CONNECT_REFUSED (connect.refused)', async () => {
    const attempt = connect({ hostname: '127.0.0.1', port: closedPort(), ca: (await pki()).ca });
    expect(await rejection(attempt)).toMatchObject({ code: 'ERR_CONNECT_REFUSED', phase: 'connect' });
  });

  test('a silent server hits the handshake timeout and the socket is freed (connect.handshake-timeout)', async () => {
    const peer = await NodePeer.start({ role: 'server', onAccept: 'silent' });
    const attempt = connect({
      hostname: '127.0.0.1',
      port: peer.port,
      ca: (await pki()).ca,
      handshakeTimeoutMs: 200,
    });
    expect(await rejection(attempt)).toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT', phase: 'handshake' });
    await peer.event('fin');
  });

  test("the caller's signal aborts the handshake and frees the socket (connect.signal-abort)", async () => {
    const peer = await NodePeer.start({ role: 'server', onAccept: 'silent' });
    const controller = new AbortController();
    const attempt = connect({
      hostname: '127.0.0.1',
      port: peer.port,
      ca: (await pki()).ca,
      signal: controller.signal,
    });
    await peer.event('accepted');
    controller.abort(new Error('changed my mind'));
    expect(await rejection(attempt)).toMatchObject({ code: 'ERR_ABORTED' });
    await peer.event('fin');
  });

  test('invalid trust anchors Bun cannot load are refused with ERR_INVALID_OPTION', async () => {
    const peer = await NodePeer.start({ role: 'server' });
    const ca = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    expect(await rejection(connect({ hostname: '127.0.0.1', port: peer.port, ca }))).toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });

  test('capabilities are frozen and declare STARTTLS', () => {
    expect(Object.isFrozen(capabilities)).toBe(true);
    expect(Object.isFrozen(capabilities.sessionInfo)).toBe(true);
    expect(capabilities).toMatchObject({
      halfClose: true,
      truncationDetection: true,
      abortiveReset: true,
      startTls: true,
    });
  });
});
