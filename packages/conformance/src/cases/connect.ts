import type { ConnectOptions } from '@closenotify/core';
import { check, equal, HANG_GUARD_MS, rejectsWith, resolves, within } from '../assert.ts';
import { type ConformanceCase, UNRESOLVABLE_HOST } from '../case.ts';

const quietPeer = [{ op: 'readUntilEnd' as const }, { op: 'closeNotify' as const }];

/**
 * Resolution of UNRESOLVABLE_HOST fails in about 20 ms on a loopback-only machine (NXDOMAIN from the
 * resolver); a resolver that does not answer at all gives up after its own timeout (glibc: 5 s per try).
 * The bound only keeps a hang from passing unnoticed.
 */
const RESOLUTION_LIMIT_MS = 12_000;

export const connectCases: ConformanceCase[] = [
  {
    id: 'connect.session-info',
    requirement:
      'opened gives what the handshake established, and null for every field the runtime cannot give',
    source: 'spec §2 SessionInfo; measured: what each runtime exposes',
    tls: 'each',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', steps: quietPeer });
      const socket = await ctx.connect(peer);
      const session = await socket.opened;
      const can = ctx.adapter.capabilities.sessionInfo;
      equal(session.protocol, can.protocol ? ctx.tls : null, 'protocol');
      if (can.cipher)
        check(session.cipher?.standardName.startsWith('TLS_'), `cipher: ${JSON.stringify(session.cipher)}`);
      else equal(session.cipher, null, 'cipher');
      equal(session.alpnProtocol, null, 'alpnProtocol without ALPN');
      equal(session.servername, can.servername ? 'localhost' : null, 'servername');
      equal(session.authorized, can.authorized ? true : null, 'authorized');
      if (can.peerCertificate) {
        check(
          session.peerCertificate?.subjectAltNames.some((name) => name.includes('localhost')),
          'peerCertificate SAN',
        );
      } else equal(session.peerCertificate, null, 'peerCertificate');
      equal(session.remoteAddress?.port ?? null, can.remoteAddress ? peer.port : null, 'remoteAddress.port');
      if (!can.localAddress) equal(session.localAddress, null, 'localAddress');
      await socket.close();
    },
  },
  {
    id: 'connect.alpn',
    requirement: 'ALPN offers our list and reports the protocol the server chose',
    source: 'RFC 7301 §3.1; measured: Bun needs the wire format',
    tls: 'any',
    requires: ['sessionInfo.alpnProtocol'],
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', alpn: ['h2', 'http/1.1'], steps: quietPeer });
      const socket = await ctx.connect(peer, { alpn: ['x-unknown', 'http/1.1'] });
      equal((await socket.opened).alpnProtocol, 'http/1.1', 'alpnProtocol');
      await socket.close();
      equal((await peer.whenDone()).handshake?.alpn ?? null, 'http/1.1', 'ALPN the peer saw');
    },
  },
  {
    id: 'connect.sni',
    requirement:
      'servername is what is sent and verified: a right name on an IP connect passes, a wrong one fails',
    source: 'spec §2 ConnectOptions.servername; RFC 6066 §3',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', steps: quietPeer });
      const socket = await ctx.connect(peer, { hostname: '127.0.0.1', servername: 'localhost' });
      await socket.close();
      const other = await ctx.peer({ role: 'server', steps: quietPeer });
      await rejectsWith(
        ctx.connect(other, { hostname: '127.0.0.1', servername: 'wrong.example' }),
        'ERR_TLS_HOSTNAME_MISMATCH',
        'connect with a servername the certificate does not name',
      );
    },
  },
  {
    id: 'connect.handshake-timeout',
    requirement:
      'a server that never answers the ClientHello ends connect() at handshakeTimeoutMs with ERR_HANDSHAKE_TIMEOUT',
    source: 'measured: no runtime has a handshake timeout',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', onAccept: 'silent', observe: false });
      const started = performance.now();
      const error = await rejectsWith(
        ctx.connect(peer, { handshakeTimeoutMs: 300 }),
        'ERR_HANDSHAKE_TIMEOUT',
        'connect',
      );
      // Never early; the upper bound only guards against a hang (the machine may be busy).
      within(performance.now() - started, 295, 300 + HANG_GUARD_MS, 'time to ERR_HANDSHAKE_TIMEOUT');
      equal(error.phase, 'handshake', 'phase');
    },
  },
  {
    id: 'connect.refused',
    requirement: 'a closed port gives ERR_CONNECT_REFUSED in the connect phase',
    source: 'spec §5',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', observe: false });
      await peer.stop();
      const error = await rejectsWith(ctx.connect(peer), 'ERR_CONNECT_REFUSED', 'connect to a closed port');
      equal(error.phase, 'connect', 'phase');
    },
  },
  {
    id: 'connect.host-not-found',
    requirement:
      'a host name that does not resolve fails connect() with ERR_HOST_NOT_FOUND in the connect phase, with the resolver error as cause',
    source: 'RFC 6761 §6.4 (.invalid); contract v2 (a code for a name that does not resolve)',
    tls: 'any',
    timeoutMs: RESOLUTION_LIMIT_MS * 2,
    async run(ctx) {
      const started = performance.now();
      const error = await rejectsWith(
        ctx.connect({ port: 443 }, { hostname: UNRESOLVABLE_HOST }),
        'ERR_HOST_NOT_FOUND',
        `connect to ${UNRESOLVABLE_HOST}`,
      );
      within(performance.now() - started, 0, RESOLUTION_LIMIT_MS, 'time to ERR_HOST_NOT_FOUND');
      equal(error.phase, 'connect', 'phase');
      check(error.cause instanceof Error, `the resolver error is the cause: ${String(error.cause)}`);
    },
  },
  {
    id: 'connect.ip-no-sni',
    requirement:
      'an IP address as hostname or servername is never sent as SNI, and the certificate is verified against that IP',
    source:
      'RFC 6066 §3 (no literal IP addresses in SNI); RFC 6125 §6.2.1 (IP addresses match iPAddress SANs)',
    tls: 'any',
    async run(ctx) {
      const reportsServername = ctx.adapter.capabilities.sessionInfo.servername;
      const attempts: Array<[string, Partial<ConnectOptions>]> = [
        ['hostname 127.0.0.1', { hostname: '127.0.0.1' }],
        ['servername 127.0.0.1', { hostname: 'localhost', servername: '127.0.0.1' }],
        ['servername ::1', { hostname: '127.0.0.1', servername: '::1' }],
      ];
      for (const [what, options] of attempts) {
        const peer = await ctx.peer({ role: 'server', steps: quietPeer, observe: false });
        const socket = await ctx.connect(peer, options);
        const session = await socket.opened;
        if (reportsServername) equal(session.servername, null, `${what}: session servername (no SNI sent)`);
        await socket.close();
        const report = await peer.whenDone();
        equal(report.handshake?.servername, null, `${what}: the SNI the peer received`);
      }
      const named = await ctx.peer({ role: 'server', steps: quietPeer, observe: false });
      const socket = await ctx.connect(named, { hostname: '127.0.0.1', servername: 'localhost' });
      await socket.close();
      equal((await named.whenDone()).handshake?.servername, 'localhost', 'a host name is still sent as SNI');
      for (const [what, options] of attempts) {
        const wrongHost = await ctx.peer({ role: 'server', certificate: 'wrongHost', observe: false });
        await rejectsWith(
          ctx.connect(wrongHost, options),
          'ERR_TLS_HOSTNAME_MISMATCH',
          `${what}: a certificate without that IP`,
        );
      }
      // The chain is still verified when no SNI goes out.
      const selfSigned = await ctx.peer({ role: 'server', certificate: 'selfSigned', observe: false });
      await rejectsWith(
        ctx.connect(selfSigned, { hostname: '127.0.0.1' }),
        'ERR_TLS_CERT_UNTRUSTED',
        'hostname 127.0.0.1: a self-signed certificate',
      );
    },
  },
  {
    id: 'connect.signal-abort',
    requirement: 'an aborted signal ends connect() with ERR_ABORTED, before or during the handshake',
    source: 'spec §2 ConnectOptions.signal',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', onAccept: 'silent', observe: false });
      await rejectsWith(
        ctx.connect(peer, { signal: AbortSignal.abort() }),
        'ERR_ABORTED',
        'pre-aborted signal',
      );
      const controller = new AbortController();
      const connecting = ctx.connect(peer, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('changed my mind')), 50);
      const started = performance.now();
      await rejectsWith(connecting, 'ERR_ABORTED', 'signal aborted during the handshake');
      // The silent peer would hold the handshake until the 30 s default timeout: the bound tells them apart.
      within(performance.now() - started, 0, HANG_GUARD_MS, 'time to ERR_ABORTED');
    },
  },
  {
    id: 'connect.version-bounds',
    requirement:
      'minVersion/maxVersion are enforced: a client limited to one version fails against a server of the other',
    source: 'spec §2 ConnectOptions; RFC 8446 §4.2.1 (protocol_version)',
    tls: 'any',
    requires: ['versionBounds'],
    async run(ctx) {
      const tls13 = await ctx.peer({ role: 'server', tls: 'TLSv1.3', observe: false });
      await rejectsWith(
        ctx.connect(tls13, { maxVersion: 'TLSv1.2' }),
        'ERR_TLS_ALERT',
        'TLS 1.2-only client, TLS 1.3-only server',
      );
      const tls12 = await ctx.peer({ role: 'server', tls: 'TLSv1.2', observe: false, steps: quietPeer });
      await rejectsWith(
        ctx.connect(tls12, { minVersion: 'TLSv1.3' }),
        'ERR_TLS_ALERT',
        'TLS 1.3-only client, TLS 1.2-only server',
      );
      const socket = await ctx.connect(await ctx.peer({ role: 'server', tls: 'TLSv1.2', steps: quietPeer }), {
        maxVersion: 'TLSv1.2',
      });
      const { protocol } = await socket.opened;
      if (ctx.adapter.capabilities.sessionInfo.protocol) equal(protocol, 'TLSv1.2', 'protocol');
      await socket.close();
    },
  },
  {
    id: 'connect.options-copied',
    requirement:
      'options are copied at the call: a ca array or options object changed afterwards changes nothing',
    source: "contract v2: options are copied when validated; a cache keyed by the caller's array",
    tls: 'any',
    async run(ctx) {
      // A list no other connect uses, so that a cache of the last configuration keeps this very array.
      const anchors = [ctx.pki.otherCa, ctx.pki.ca];
      const first = await ctx.connect(
        await ctx.peer({ role: 'server', steps: quietPeer, observe: false }),
        ctx.trusting(anchors),
      );
      await first.close();
      anchors[1] = ctx.pki.defaultTrustCa;
      await rejectsWith(
        ctx.connect(await ctx.peer({ role: 'server', observe: false }), ctx.trusting(anchors)),
        'ERR_TLS_CERT_UNTRUSTED',
        'a second connect with the same ca array, whose certificate was replaced by another CA',
      );

      const peer = await ctx.peer({ role: 'server', steps: quietPeer, observe: false });
      const given = [ctx.pki.ca];
      const options = { hostname: 'localhost', port: peer.port, ...ctx.trusting(given) };
      const connecting = ctx.adapter.connect(options);
      given[0] = ctx.pki.otherCa;
      options.ca = [ctx.pki.otherCa];
      const socket = await resolves(
        connecting,
        'connect() whose options object and ca array were changed right after the call',
      );
      await socket.close();

      const can = ctx.adapter.capabilities;
      if (!can.server || !can.requestClientCertificates) return;
      const clientAnchors = [ctx.pki.ca];
      const { server, next } = await ctx.listen({ requestClientCert: true, ...ctx.trusting(clientAnchors) });
      clientAnchors[0] = ctx.pki.otherCa;
      await ctx.peer({
        role: 'client',
        connect: { port: server.address.port },
        requestClientCert: true,
        observe: false,
        steps: [{ op: 'closeNotify' }, { op: 'readUntilEnd' }],
      });
      const accepted = await next();
      if (can.sessionInfo.authorized) equal((await accepted.opened).authorized, true, 'client authorized');
      await accepted.closed;
    },
  },
  {
    id: 'connect.ca-replaces-default-trust',
    requirement: "ca replaces the runtime's default trust: a server the default store vouches for is refused",
    source: 'RFC 5280 §6.1.1 (trust anchor input); Node tls ca semantics; Deno caCerts only adds',
    tls: 'any',
    requires: ['exclusiveCa'],
    async run(ctx) {
      const control = await ctx.peer({ role: 'server', certificate: 'defaultTrusted', steps: quietPeer });
      const socket = await resolves(
        ctx.connect(control, { ca: undefined }),
        'control (else the refusal below proves nothing): connect without ca to a server issued by the CA the runtime was started with as an extra root (NODE_EXTRA_CA_CERTS, DENO_CERT)',
      );
      await socket.close();
      await rejectsWith(
        ctx.connect(await ctx.peer({ role: 'server', certificate: 'defaultTrusted', observe: false }), {
          ca: ctx.pki.ca,
        }),
        'ERR_TLS_CERT_UNTRUSTED',
        'connect with ca: the test CA, to a server only the default trust vouches for',
      );
    },
  },
  {
    id: 'connect.ca-adds-to-default-trust',
    requirement:
      "caAddsToDefaultTrust: true trusts ca and the runtime's default store alike; where ca can only add, ca alone is refused",
    source: 'contract v2: a private CA pin never silently trusts public roots',
    tls: 'any',
    async run(ctx) {
      const additive = { ca: ctx.pki.ca, caAddsToDefaultTrust: true };
      if (!ctx.adapter.capabilities.exclusiveCa) {
        const peer = await ctx.peer({ role: 'server', observe: false });
        await rejectsWith(
          ctx.adapter.connect({ hostname: 'localhost', port: peer.port, ca: ctx.pki.ca }),
          'ERR_UNSUPPORTED',
          'ca without caAddsToDefaultTrust where ca can only add to the default trust',
        );
      }
      for (const certificate of ['defaultTrusted', 'valid'] as const) {
        const peer = await ctx.peer({ role: 'server', certificate, steps: quietPeer, observe: false });
        const socket = await resolves(
          ctx.connect(peer, additive),
          `connect with caAddsToDefaultTrust to a server issued by ${certificate === 'valid' ? 'ca' : 'an extra default root'}`,
        );
        await socket.close();
      }
      await rejectsWith(
        ctx.connect(await ctx.peer({ role: 'server', certificate: 'untrusted', observe: false }), additive),
        'ERR_TLS_CERT_UNTRUSTED',
        'caAddsToDefaultTrust still refuses a CA that neither ca nor the default store holds',
      );
    },
  },
  {
    id: 'connect.invalid-options',
    requirement: 'bad options reject with ERR_INVALID_OPTION naming the option, before any connection',
    source: 'spec §5',
    tls: 'any',
    async run(ctx) {
      const bad: Array<[string, Record<string, unknown>]> = [
        ['port', { port: 70000 }],
        ['handshakeTimeoutMs', { handshakeTimeoutMs: -1 }],
        ['idleTimeoutMs', { idleTimeoutMs: Number.NaN }],
        ['minVersion', { minVersion: 'TLSv1.1' }],
        ['truncation', { truncation: 'sometimes' }],
      ];
      for (const [name, patch] of bad) {
        const error = await rejectsWith(
          ctx.adapter.connect({ hostname: 'localhost', port: 1, ...patch } as never),
          'ERR_INVALID_OPTION',
          `option ${name}`,
        );
        check(error.message.includes(`"${name}"`), `the message names "${name}": ${error.message}`);
      }
    },
  },
];
