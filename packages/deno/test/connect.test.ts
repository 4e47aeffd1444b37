/**
 * connect(): the handshake, what Deno can tell about the session, and every way it can fail.
 * Run with: deno test --allow-net=127.0.0.1,localhost --allow-run=openssl,node --allow-write=.tmp --allow-read=.tmp
 */
import { connect, listen } from '../src/index.ts';
import { assertEquals, assertHas, assertRejects } from './fixtures/assert.ts';
import {
  nodePeer,
  rawPeer,
  readClientHello,
  readExactly,
  readText,
  readToEnd,
  tlsPeer,
  writeText,
} from './fixtures/peers.ts';
import { testPki } from './fixtures/pki.ts';

const pki = await testPki();

/** A peer that completes (or fails) its side of the handshake and then waits for our close. */
function waitForClose(conn: Deno.TlsConn): Promise<void> {
  return readToEnd(conn).then(
    () => {},
    () => {},
  );
}

/** A port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 });
  listener.close();
  return listener.addr.port;
}

Deno.test('connect resolves after the handshake with the session info Deno has (connect.session-info, connect.alpn)', async () => {
  const peer = tlsPeer(
    pki.server,
    async (conn) => {
      assertEquals(await conn.handshake(), { alpnProtocol: 'http/1.1' });
      await waitForClose(conn);
    },
    { alpnProtocols: ['h2', 'http/1.1'] },
  );
  const socket = await connect({
    hostname: 'localhost',
    port: peer.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
    alpn: ['http/1.1'],
  });
  assertEquals(socket.state, 'open');
  const session = await socket.opened;
  assertEquals(
    { ...session, localAddress: { ...session.localAddress, port: 0 } },
    {
      protocol: null,
      cipher: null,
      alpnProtocol: 'http/1.1',
      servername: 'localhost',
      peerCertificate: null,
      authorized: true,
      localAddress: { hostname: '127.0.0.1', port: 0 },
      remoteAddress: { hostname: '127.0.0.1', port: peer.port },
    },
  );
  const report = await socket.close();
  assertEquals(
    [report.initiator, report.closeNotifySent, report.closeNotifyReceived, report.truncated],
    ['local', true, true, false],
  );
  await peer.finished;
});

Deno.test('servername is the name verified, hostname is where to connect (connect.sni)', async () => {
  const peer = tlsPeer(pki.server, waitForClose);
  const socket = await connect({
    hostname: '127.0.0.1',
    servername: 'localhost',
    port: peer.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
  });
  assertEquals((await socket.opened).servername, 'localhost');
  await socket.close();
  await peer.finished;

  const misnamed = tlsPeer(pki.server, waitForClose);
  await assertRejects(
    connect({
      hostname: '127.0.0.1',
      servername: 'wrong.example',
      port: misnamed.port,
      ca: pki.ca,
      caAddsToDefaultTrust: true,
    }),
    {
      code: 'ERR_TLS_HOSTNAME_MISMATCH',
    },
  );
  await misnamed.finished;
});

for (const [id, credential, code] of [
  ['bad-peer.self-signed', pki.selfSigned, 'ERR_TLS_CERT_UNTRUSTED'],
  ['bad-peer.self-signed, marked as a CA', pki.selfSignedCa, 'ERR_TLS_CERT_UNTRUSTED'],
  ['bad-peer.unknown-ca', pki.unknownCa, 'ERR_TLS_CERT_UNTRUSTED'],
  ['bad-peer.wrong-host', pki.wrongHost, 'ERR_TLS_HOSTNAME_MISMATCH'],
  ['bad-peer.expired', pki.expired, 'ERR_TLS_CERT_EXPIRED'],
] as const) {
  Deno.test(`a rejected certificate is ${code}, with Deno's error as cause (${id})`, async () => {
    const peer = tlsPeer(credential, waitForClose);
    const error = await assertRejects(
      connect({ hostname: 'localhost', port: peer.port, ca: pki.ca, caAddsToDefaultTrust: true }),
      {
        code,
        phase: 'handshake',
      },
    );
    assertEquals(((error as Error).cause as Error).name, 'InvalidData', 'cause');
    await peer.finished;
  });
}

Deno.test('a fatal alert from the peer is ERR_TLS_ALERT', async () => {
  const peer = tlsPeer(pki.server, waitForClose, { alpnProtocols: ['h2'] });
  await assertRejects(
    connect({
      hostname: 'localhost',
      port: peer.port,
      ca: pki.ca,
      caAddsToDefaultTrust: true,
      alpn: ['http/1.1'],
    }),
    {
      code: 'ERR_TLS_ALERT',
      phase: 'handshake',
    },
  );
  await peer.finished;
});

Deno.test('a closed port is ERR_CONNECT_REFUSED (connect.refused)', async () => {
  await assertRejects(
    connect({ hostname: '127.0.0.1', port: closedPort(), ca: pki.ca, caAddsToDefaultTrust: true }),
    {
      code: 'ERR_CONNECT_REFUSED',
      phase: 'connect',
    },
  );
});

Deno.test('a peer that answers in plaintext is ERR_TLS_PROTOCOL (bad-peer.plaintext)', async () => {
  const peer = rawPeer(async (conn) => {
    await readClientHello(conn);
    await writeText(conn, '220 smtp.example ESMTP ready\r\n');
    await readToEnd(conn).catch(() => {});
  });
  await assertRejects(
    connect({ hostname: 'localhost', port: peer.port, ca: pki.ca, caAddsToDefaultTrust: true }),
    {
      code: 'ERR_TLS_PROTOCOL',
    },
  );
  await peer.finished;
});

Deno.test('a peer that answers with garbage is ERR_TLS_PROTOCOL (bad-peer.garbage)', async () => {
  const peer = rawPeer(async (conn) => {
    await readClientHello(conn);
    await conn.write(new Uint8Array(64).fill(0xff));
    await readToEnd(conn).catch(() => {});
  });
  await assertRejects(
    connect({ hostname: 'localhost', port: peer.port, ca: pki.ca, caAddsToDefaultTrust: true }),
    {
      code: 'ERR_TLS_PROTOCOL',
    },
  );
  await peer.finished;
});

Deno.test('a FIN instead of a ServerHello is ERR_CONNECTION_RESET (bad-peer.fin-on-accept)', async () => {
  const peer = rawPeer(async (conn) => {
    await readClientHello(conn);
    await conn.closeWrite();
    await readToEnd(conn).catch(() => {});
  });
  await assertRejects(
    connect({ hostname: 'localhost', port: peer.port, ca: pki.ca, caAddsToDefaultTrust: true }),
    {
      code: 'ERR_CONNECTION_RESET',
      phase: 'handshake',
    },
  );
  await peer.finished;
});

Deno.test('a RST instead of a ServerHello is ERR_CONNECTION_RESET (bad-peer.rst-on-accept)', async () => {
  // Closing with most of the ClientHello unread makes the kernel answer with a RST.
  const peer = rawPeer(async (conn) => {
    await readExactly(conn, 1);
  });
  await assertRejects(
    connect({ hostname: 'localhost', port: peer.port, ca: pki.ca, caAddsToDefaultTrust: true }),
    {
      code: 'ERR_CONNECTION_RESET',
      phase: 'handshake',
    },
  );
  await peer.finished;
});

/**
 * Deno 2.9.6 does not close the TCP connection when a TlsConn is closed during its handshake: the
 * connection stays open until the peer sends or closes (still open after 10 s of silence). So these
 * peers hang up themselves once our side gave up, as a real server's own timeout would.
 */
function silentPeer(heardClientHello?: () => void) {
  const gaveUp = Promise.withResolvers<void>();
  const peer = rawPeer(async (conn) => {
    await readClientHello(conn);
    heardClientHello?.();
    await gaveUp.promise;
  });
  return { port: peer.port, hangUp: () => gaveUp.resolve(), finished: peer.finished };
}

Deno.test('a peer that never answers the ClientHello runs into core’s handshake timeout (connect.handshake-timeout)', async () => {
  const peer = silentPeer();
  await assertRejects(
    connect({
      hostname: 'localhost',
      port: peer.port,
      ca: pki.ca,
      caAddsToDefaultTrust: true,
      handshakeTimeoutMs: 150,
    }),
    {
      code: 'ERR_HANDSHAKE_TIMEOUT',
      phase: 'handshake',
    },
  );
  peer.hangUp();
  await peer.finished;
});

Deno.test('the caller’s signal abandons the handshake (connect.signal-abort)', async () => {
  const controller = new AbortController();
  const peer = silentPeer(() => controller.abort(new Error('changed my mind')));
  await assertRejects(
    connect({
      hostname: 'localhost',
      port: peer.port,
      ca: pki.ca,
      caAddsToDefaultTrust: true,
      signal: controller.signal,
    }),
    {
      code: 'ERR_ABORTED',
    },
  );
  peer.hangUp();
  await peer.finished;
});

Deno.test('the peer’s certificate request is answered with the client certificate (Deno.connectTls path)', async () => {
  const peer = await nodePeer('client-certificate', pki);
  const socket = await connect({
    hostname: 'localhost',
    port: peer.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
    ...pki.client,
  });
  assertEquals(await readText(socket), 'authorized=true subject=closenotify deno test client');
  assertEquals((await socket.closed).closeNotifyReceived, true);
  await peer.finished;
});

Deno.test('without a client certificate the peer’s alert is ERR_TLS_ALERT, at connect or at the first read', async () => {
  const peer = await nodePeer('client-certificate', pki);
  // TLS 1.3: the server judges our (missing) certificate after our Finished, so its alert can
  // arrive before or after Deno's handshake() resolved.
  const failure = await connect({
    hostname: 'localhost',
    port: peer.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
  })
    .then((socket) => socket.read())
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  assertHas(failure, { code: 'ERR_TLS_ALERT' });
  assertEquals(((failure as Error).cause as Error).message, 'received fatal alert: CertificateRequired');
  assertEquals(await peer.output, ['tlsClientError ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE']);
  await peer.finished;
});

Deno.test('options Deno cannot honour are refused before any connection', async () => {
  const port = closedPort();
  const base = { hostname: 'localhost', port, ca: pki.ca, caAddsToDefaultTrust: true };
  for (const options of [
    { ...base, maxVersion: 'TLSv1.2' as const },
    { ...base, minVersion: 'TLSv1.3' as const },
    { ...base, keepAlive: { initialDelayMs: 1000 } },
    { ...base, dangerouslyDisableVerification: true },
    { ...base, ...pki.client, keepAlive: true },
    { ...base, ...pki.client, noDelay: true },
    { ...base, ...pki.client, hostname: '127.0.0.1', servername: 'localhost' },
  ]) {
    await assertRejects(connect(options), { code: 'ERR_UNSUPPORTED' });
  }
  await assertRejects(listen({ ...pki.server, minVersion: 'TLSv1.3' }), { code: 'ERR_UNSUPPORTED' });
  await assertRejects(listen({ ...pki.server, noDelay: true }), { code: 'ERR_UNSUPPORTED' });
});

Deno.test('keepAlive: true is set on the TCP connection before TLS', async () => {
  const peer = tlsPeer(pki.server, waitForClose);
  const socket = await connect({
    hostname: 'localhost',
    port: peer.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
    keepAlive: true,
    noDelay: false,
  });
  assertEquals((await socket.close()).closeNotifyReceived, true);
  await peer.finished;
});
