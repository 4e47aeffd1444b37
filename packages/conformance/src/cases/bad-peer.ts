import type { ErrorCode } from '@closenotify/core';
import { equal, rejectsWith, within } from '../assert.ts';
import type { ConformanceCase } from '../case.ts';
import type { AcceptBehaviour, CertificateVariant } from '../peer-client.ts';

/**
 * A bad peer is reported as soon as the handshake fails, never by the handshake timeout (30 s by
 * default): the bound tells the two apart with a wide margin for a busy machine, it is no speed target.
 */
const LIMIT_MS = 10_000;

function badCertificate(
  id: string,
  certificate: CertificateVariant,
  code: ErrorCode,
  source: string,
  tls: ConformanceCase['tls'] = 'any',
): ConformanceCase {
  return {
    id,
    requirement: `a ${certificate} server certificate fails connect() with ${code}, before any timeout`,
    source,
    tls,
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', certificate, observe: false });
      const started = performance.now();
      await rejectsWith(ctx.connect(peer), code, 'connect');
      within(performance.now() - started, 0, LIMIT_MS, code);
    },
  };
}

function badAccept(
  id: string,
  onAccept: AcceptBehaviour,
  code: ErrorCode | readonly ErrorCode[],
  source: string,
): ConformanceCase {
  const codes = typeof code === 'string' ? code : code.join(' or ');
  return {
    id,
    requirement: `a server that answers with ${onAccept} fails connect() with ${codes} within a second`,
    source,
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', onAccept, observe: false });
      const started = performance.now();
      await rejectsWith(ctx.connect(peer), code, 'connect');
      within(performance.now() - started, 0, LIMIT_MS, codes);
    },
  };
}

export const badPeerCases: ConformanceCase[] = [
  badAccept('bad-peer.plaintext', 'plaintext', 'ERR_TLS_PROTOCOL', 'measured: plain-text greeting'),
  badAccept('bad-peer.garbage', 'garbage', 'ERR_TLS_PROTOCOL', 'measured: garbage'),
  badAccept('bad-peer.fin-on-accept', 'fin', 'ERR_CONNECTION_RESET', 'measured: FIN on accept'),
  // A RST that reaches the client's kernel while its connect is still in SYN_SENT is reported by the
  // kernel as ECONNREFUSED (Linux tcp_reset), indistinguishable from a refusal: seen on Bun under
  // load (errno -111, 3 runs in 40). Both codes say "rejected before TLS"; anything else fails.
  badAccept(
    'bad-peer.rst-on-accept',
    'rst',
    ['ERR_CONNECTION_RESET', 'ERR_CONNECT_REFUSED'],
    'measured: RST on accept; Linux tcp_reset in SYN_SENT',
  ),
  badCertificate(
    'bad-peer.self-signed',
    'selfSigned',
    'ERR_TLS_CERT_UNTRUSTED',
    'RFC 5280 §6; measured: every runtime reports a bad certificate during the handshake',
  ),
  badCertificate('bad-peer.unknown-ca', 'untrusted', 'ERR_TLS_CERT_UNTRUSTED', 'RFC 5280 §6'),
  badCertificate(
    'bad-peer.wrong-host',
    'wrongHost',
    'ERR_TLS_HOSTNAME_MISMATCH',
    'RFC 6125 §6; measured: every runtime reports a bad certificate during the handshake',
  ),
  badCertificate(
    'bad-peer.expired',
    'expired',
    'ERR_TLS_CERT_EXPIRED',
    'RFC 5280 §4.1.2.5; measured: every runtime reports a bad certificate during the handshake',
  ),
  // A chain the test CA signed for client authentication only is not valid for a server: the chain is
  // untrusted for this purpose. Every runtime's verifier checks the purpose, each with its own error.
  badCertificate(
    'bad-peer.wrong-key-usage',
    'wrongKeyUsage',
    'ERR_TLS_CERT_UNTRUSTED',
    'RFC 5280 §4.2.1.12 (extendedKeyUsage serverAuth)',
    'each',
  ),
  {
    id: 'bad-peer.garbage-after-handshake',
    requirement: 'garbage after the handshake fails reads with ERR_TLS_PROTOCOL and closes the socket',
    source: 'measured: Node keeps the socket open after a mid-stream TLS error',
    tls: 'each',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'wait', signal: 'garbage' }, { op: 'garbage', bytes: 64 }, { op: 'waitEnd' }],
      });
      const socket = await ctx.connect(peer);
      const reading = socket.read();
      await peer.signal('garbage');
      const started = performance.now();
      await rejectsWith(reading, 'ERR_TLS_PROTOCOL', 'read() after garbage');
      within(performance.now() - started, 0, LIMIT_MS, 'ERR_TLS_PROTOCOL');
      const report = await socket.closed;
      equal(report.initiator, 'error', 'initiator');
    },
  },
];
