import { describe, expect, test } from 'bun:test';
import { connect } from '../src/index.ts';
import { checkEveryTest, NodePeer, type PeerSpec, pki, rejection } from './support.ts';

checkEveryTest();

async function connectTo(spec: PeerSpec) {
  const peer = await NodePeer.start(spec);
  return connect({ hostname: 'localhost', port: peer.port, ca: (await pki()).ca });
}

describe('bad peers fail the handshake with their spec §5 code', () => {
  const cases: Array<[string, PeerSpec, string | string[], string]> = [
    [
      'bad-peer.self-signed',
      { role: 'server', certificate: 'self-signed' },
      'ERR_TLS_CERT_UNTRUSTED',
      'handshake',
    ],
    [
      'bad-peer.unknown-ca',
      { role: 'server', certificate: 'untrusted' },
      'ERR_TLS_CERT_UNTRUSTED',
      'handshake',
    ],
    [
      'bad-peer.wrong-host',
      { role: 'server', certificate: 'wrong-host' },
      'ERR_TLS_HOSTNAME_MISMATCH',
      'handshake',
    ],
    ['bad-peer.expired', { role: 'server', certificate: 'expired' }, 'ERR_TLS_CERT_EXPIRED', 'handshake'],
    ['bad-peer.plaintext', { role: 'server', onAccept: 'plaintext' }, 'ERR_TLS_PROTOCOL', 'handshake'],
    ['bad-peer.garbage', { role: 'server', onAccept: 'garbage' }, 'ERR_TLS_PROTOCOL', 'handshake'],
    ['bad-peer.fin-on-accept', { role: 'server', onAccept: 'fin' }, 'ERR_CONNECTION_RESET', 'handshake'],
    // Under load the RST can reach the kernel while Bun's connect is still pending, and Linux then
    // reports ECONNREFUSED (errno -111): both codes say "rejected before TLS", as the catalogue's case.
    [
      'bad-peer.rst-on-accept',
      { role: 'server', onAccept: 'rst' },
      ['ERR_CONNECTION_RESET', 'ERR_CONNECT_REFUSED'],
      'handshake',
    ],
  ];
  for (const [id, spec, code, phase] of cases) {
    test(id, async () => {
      const failure = await connectTo(spec).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ name: 'SecureSocketError', phase });
      expect([code].flat()).toContain((failure as { code: string }).code);
      // Bun's own error stays available.
      expect((failure as Error).cause).toBeInstanceOf(Error);
    });
  }

  test('bad-peer.garbage-after-handshake: reading fails with ERR_TLS_PROTOCOL', async () => {
    const peer = await NodePeer.start({ role: 'server', onSecure: [{ op: 'sendText', text: 'first' }] });
    const socket = await connect({ hostname: 'localhost', port: peer.port, ca: (await pki()).ca });
    expect(new TextDecoder().decode((await socket.read())!)).toBe('first');
    peer.command({ op: 'garbage' });
    expect(await rejection(socket.read())).toMatchObject({ code: 'ERR_TLS_PROTOCOL', phase: 'read' });
    expect(await socket.closed).toMatchObject({ initiator: 'error', error: { code: 'ERR_TLS_PROTOCOL' } });
  });
});
