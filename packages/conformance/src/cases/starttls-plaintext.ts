import type { SessionInfo, ShutdownableSecureSocket } from '@closenotify/core';
import { equal, HANG_GUARD_MS, readBytes, rejectsWith, settlesWithin } from '../assert.ts';
import type { ConformanceCase } from '../case.ts';
import { pseudoRandomBytes, type Step, sha256Hex } from '../peer-client.ts';

/**
 * STARTTLS cases about the plaintext phase, over the exchange of cases/starttls.ts (`STARTTLS\r\n` asked, `220 go ahead\r\n`
 * answered): the plaintext phase as a data path of its own (bulk bytes both ways, with the writer's
 * backpressure, before the upgrade) and the detached object in the server role.
 */
const COMMAND = 'STARTTLS\r\n';
const GO_AHEAD = '220 go ahead\r\n';
const OVER_TLS = 'hello over TLS';
/** Several times a loopback socket's buffers: a single write of it cannot be taken at once. */
const BULK = 8 * 1024 * 1024;
const BULK_TIMEOUT_MS = 60_000;

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** What a plaintext socket's `opened` says: plain TCP, the two addresses and no TLS field. */
function expectPlaintextSession(session: SessionInfo, ports: { local?: number; remote?: number }): void {
  equal(session.protocol, null, 'plaintext session: protocol');
  equal(session.cipher, null, 'plaintext session: cipher');
  equal(session.alpnProtocol, null, 'plaintext session: alpnProtocol');
  equal(session.servername, null, 'plaintext session: servername');
  equal(session.peerCertificate, null, 'plaintext session: peerCertificate');
  equal(session.authorized, false, 'plaintext session: authorized');
  if (ports.local !== undefined)
    equal(session.localAddress?.port, ports.local, 'plaintext session: local port');
  if (ports.remote !== undefined) {
    equal(session.remoteAddress?.port, ports.remote, 'plaintext session: remote port');
  }
  equal((session.localAddress?.port ?? 0) > 0, true, 'plaintext session: a local address');
  equal((session.remoteAddress?.port ?? 0) > 0, true, 'plaintext session: a remote address');
}

/** Writes `bytes` in one call, so the runtime has to take it in parts behind the peer's reading. */
async function writeWhole(socket: ShutdownableSecureSocket, bytes: Uint8Array): Promise<void> {
  await settlesWithin(socket.write(bytes), BULK_TIMEOUT_MS, `a single write of ${bytes.byteLength} bytes`);
}

/** The peer's half of the bulk exchange: BULK bytes (seed 7) out, BULK bytes in. */
const PEER_BULK: Step[] = [
  { op: 'send', bytes: BULK, seed: 7 },
  { op: 'read', bytes: BULK },
];

export const starttlsPlaintextCases: ConformanceCase[] = [
  {
    id: 'starttls.plaintext-data',
    requirement:
      'a plaintext socket reports plain TCP session info and carries 8 MiB each way intact (a single write included) before the upgrade, which then succeeds',
    source: 'spec §2.5 (the plaintext socket); spec §3 invariant 1',
    tls: 'any',
    timeoutMs: BULK_TIMEOUT_MS,
    requires: ['startTls'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        startTls: true,
        observe: false,
        steps: [
          ...PEER_BULK,
          { op: 'read', bytes: COMMAND.length },
          { op: 'sendText', text: GO_AHEAD },
          { op: 'startTls' },
          { op: 'sendText', text: OVER_TLS },
          { op: 'readUntilEnd' },
          { op: 'closeNotify' },
        ],
      });
      const plain = await ctx.connect(peer, { secureTransport: 'starttls' });
      expectPlaintextSession(await plain.opened, { remote: peer.port });
      const inbound = await settlesWithin(readBytes(plain, BULK), BULK_TIMEOUT_MS, 'the plaintext bulk read');
      equal(await sha256Hex(inbound), await sha256Hex(pseudoRandomBytes(BULK, 7)), 'sha256 of what we read');
      const outbound = pseudoRandomBytes(BULK, 11);
      await writeWhole(plain, outbound);
      await plain.write(COMMAND);
      equal(text(await readBytes(plain, GO_AHEAD.length)), GO_AHEAD, 'go-ahead');
      const secure = await ctx.startTls(plain);
      equal(text(await readBytes(secure, OVER_TLS.length)), OVER_TLS, 'the first bytes over TLS');
      const report = await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
      equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
      const plainReport = await settlesWithin(plain.closed, HANG_GUARD_MS, 'the plaintext socket closed');
      equal(plainReport.bytesRead, BULK + GO_AHEAD.length, 'plaintext report: bytesRead');
      equal(plainReport.bytesWritten, BULK + COMMAND.length, 'plaintext report: bytesWritten');
      const done = await peer.whenDone();
      equal(done.received.bytes, BULK + COMMAND.length, 'bytes the peer received');
      const expected = new Uint8Array(BULK + COMMAND.length);
      expected.set(outbound);
      expected.set(new TextEncoder().encode(COMMAND), BULK);
      equal(done.received.sha256, await sha256Hex(expected), 'sha256 of what the peer received');
    },
  },
  {
    id: 'server.starttls.plaintext-data',
    requirement:
      'an accepted plaintext socket reports plain TCP session info and carries 8 MiB each way intact (a single write included) before the upgrade, which then succeeds',
    source: 'spec §2.5 (the plaintext socket); spec §3 invariant 1',
    tls: 'any',
    timeoutMs: BULK_TIMEOUT_MS,
    requires: ['server', 'startTls'],
    async run(ctx) {
      const { server, next } = await ctx.listen({ secureTransport: 'starttls' });
      const peer = await ctx.peer({
        role: 'client',
        startTls: true,
        observe: false,
        connect: { port: server.address.port },
        steps: [
          ...PEER_BULK,
          { op: 'sendText', text: COMMAND },
          { op: 'read', bytes: GO_AHEAD.length },
          { op: 'startTls' },
          { op: 'sendText', text: OVER_TLS },
          { op: 'readUntilEnd' },
          { op: 'closeNotify' },
        ],
      });
      const plain = await settlesWithin(next(), HANG_GUARD_MS, 'a plaintext socket handed out');
      expectPlaintextSession(await plain.opened, { local: server.address.port });
      const inbound = await settlesWithin(readBytes(plain, BULK), BULK_TIMEOUT_MS, 'the plaintext bulk read');
      equal(await sha256Hex(inbound), await sha256Hex(pseudoRandomBytes(BULK, 7)), 'sha256 of what we read');
      const outbound = pseudoRandomBytes(BULK, 11);
      await writeWhole(plain, outbound);
      equal(text(await readBytes(plain, COMMAND.length)), COMMAND, 'STARTTLS request');
      await plain.write(GO_AHEAD);
      const secure = await ctx.startTls(plain);
      equal(text(await readBytes(secure, OVER_TLS.length)), OVER_TLS, 'the first bytes over TLS');
      const report = await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
      equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
      const plainReport = await settlesWithin(plain.closed, HANG_GUARD_MS, 'the plaintext socket closed');
      equal(plainReport.bytesRead, BULK + COMMAND.length, 'plaintext report: bytesRead');
      equal(plainReport.bytesWritten, BULK + GO_AHEAD.length, 'plaintext report: bytesWritten');
      const done = await peer.whenDone();
      equal(done.received.bytes, BULK + GO_AHEAD.length, 'bytes the peer received');
      const expected = new Uint8Array(BULK + GO_AHEAD.length);
      expected.set(outbound);
      expected.set(new TextEncoder().encode(GO_AHEAD), BULK);
      equal(done.received.sha256, await sha256Hex(expected), 'sha256 of what the peer received');
    },
  },
  {
    id: 'server.starttls.detached',
    requirement:
      'after startTls() an accepted plaintext socket is detached: a pending read and every later call reject ERR_SOCKET_DETACHED, its streams error, close() gives its report and abort() leaves the secure socket alone',
    source: 'spec §2.5 (detach, both roles)',
    tls: 'any',
    requires: ['server', 'startTls'],
    async run(ctx) {
      const { server, next } = await ctx.listen({ secureTransport: 'starttls' });
      await ctx.peer({
        role: 'client',
        startTls: true,
        connect: { port: server.address.port },
        steps: [
          { op: 'sendText', text: COMMAND },
          { op: 'read', bytes: GO_AHEAD.length },
          { op: 'startTls' },
          { op: 'echo' },
          { op: 'closeNotify' },
        ],
      });
      const plain = await settlesWithin(next(), HANG_GUARD_MS, 'a plaintext socket handed out');
      equal(text(await readBytes(plain, COMMAND.length)), COMMAND, 'STARTTLS request');
      await plain.write(GO_AHEAD);
      const pendingRead = plain.read();
      const upgrading = ctx.startTls(plain);
      await rejectsWith(pendingRead, 'ERR_SOCKET_DETACHED', 'a read pending when startTls() was called');
      await rejectsWith(plain.write('x'), 'ERR_SOCKET_DETACHED', 'write() during the upgrade');
      const secure = await upgrading;
      await rejectsWith(plain.read(), 'ERR_SOCKET_DETACHED', 'read()');
      await rejectsWith(plain.write('x'), 'ERR_SOCKET_DETACHED', 'write()');
      await rejectsWith(plain.shutdown('write'), 'ERR_SOCKET_DETACHED', "shutdown('write')");
      await rejectsWith(plain.startTls(), 'ERR_SOCKET_DETACHED', 'a second startTls()');
      await rejectsWith(plain.readable.getReader().read(), 'ERR_SOCKET_DETACHED', 'readable');
      await rejectsWith(
        plain.writable.getWriter().write(new Uint8Array(1)),
        'ERR_SOCKET_DETACHED',
        'writable',
      );
      const report = await settlesWithin(plain.close(), HANG_GUARD_MS, 'close() of the detached socket');
      equal(report.upgraded, true, 'close() of the detached socket gives its report');
      equal(report.bytesRead, COMMAND.length, 'plaintext report: bytesRead');
      equal(report.bytesWritten, GO_AHEAD.length, 'plaintext report: bytesWritten');
      plain.abort();
      await secure.write('still here');
      equal(
        text(await readBytes(secure, 10)),
        'still here',
        'the secure socket after abort() of the plaintext one',
      );
      const closed = await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
      equal(closed.error?.code, undefined, 'secure report error');
      equal(closed.closeNotifyReceived, true, 'closeNotifyReceived');
    },
  },
];
