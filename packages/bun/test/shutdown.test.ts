import { describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { type ConnectOptions, connect } from '../src/index.ts';
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
/** TLS 1.2 sends alerts as record type 21; TLS 1.3 hides them in type 23 (AES-GCM close_notify: 2 + 1 + 16 bytes). */
const CLOSE_NOTIFY_RECORD = {
  'TLSv1.2': { type: 21, length: 26 },
  'TLSv1.3': { type: 23, length: 19 },
} as const;

async function connectTo(spec: Omit<PeerSpec, 'role'>, options: Partial<ConnectOptions> = {}) {
  const peer = await NodePeer.start({ role: 'server', ...spec });
  const socket = await connect({ hostname: 'localhost', port: peer.port, ca: (await pki()).ca, ...options });
  return { peer, socket };
}

function settledFlag(promise: Promise<unknown>): { readonly settled: boolean } {
  const flag = { settled: false };
  promise.then(
    () => {
      flag.settled = true;
    },
    () => {
      flag.settled = true;
    },
  );
  return flag;
}

describe("shutdown('write')", () => {
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    test(`close_notify then FIN at once, then the whole response is read (${version}: shutdown-write.close-notify-then-fin, shutdown-write.peer-reads-all)`, async () => {
      // The peer answers only once it has both our close_notify and our TCP FIN: a held-back FIN deadlocks.
      const { peer, socket } = await connectTo(
        { maxVersion: version, onEnd: [{ op: 'send', bytes: MIB }, { op: 'end' }] },
        { maxVersion: version },
      );
      const request = randomBytes(256 * 1024);
      await socket.write(request);
      await socket.shutdown('write');
      const { recordsBeforeFin } = await peer.event('fin');
      expect((recordsBeforeFin as unknown[]).at(-1)).toEqual(CLOSE_NOTIFY_RECORD[version]);
      expect(await peer.event('tlsEnd')).toMatchObject({
        bytes: request.byteLength,
        sha256: sha256(request),
      });
      const response = await readAll(socket);
      expect(sha256(response)).toBe((await peer.event('sent')).sha256 as string);
      expect(await socket.closed).toMatchObject({
        initiator: 'local',
        closeNotifySent: true,
        closeNotifyReceived: true,
        truncated: false,
        bytesRead: MIB,
        bytesWritten: request.byteLength,
      });
      // Freeing the socket after the exchange put nothing more on the wire: no RST.
      expect(await peer.event('tcpClosed')).toMatchObject({ hadError: false });
      expect(peer.has('tcpError')).toBe(false);
    });
  }

  test('a write after it rejects and reading goes on (shutdown-write.write-after-rejects)', async () => {
    const { peer, socket } = await connectTo({
      onEnd: [{ op: 'sendText', text: 'still here' }, { op: 'end' }],
    });
    await socket.shutdown('write');
    expect(await rejection(socket.write('late'))).toMatchObject({ code: 'ERR_WRITE_AFTER_SHUTDOWN' });
    expect(await readText(socket)).toBe('still here');
    await socket.closed;
    expect((await peer.event('tlsEnd')).bytes).toBe(0);
  });

  test('called inside the read loop loses nothing (shutdown-write.inside-read-loop)', async () => {
    const { peer, socket } = await connectTo({
      onSecure: [{ op: 'send', bytes: 4 * MIB }],
      onEnd: [{ op: 'end' }],
    });
    let received = 0;
    for await (const chunk of socket.readable) {
      if (received === 0) void socket.shutdown('write');
      received += chunk.byteLength;
    }
    expect(received).toBe(4 * MIB);
    expect((await peer.event('sent')).bytes).toBe(4 * MIB);
    await socket.closed;
  });
});

describe("shutdown('read') and shutdown('both')", () => {
  test('reading ends at once; later data is drained and counted (shutdown-read.discards-and-counts, shutdown-read.peer-never-blocked)', async () => {
    const { peer, socket } = await connectTo({ onEnd: [] });
    await socket.shutdown('read');
    expect(await socket.read()).toBeNull();
    await peer.event('secure');
    // More than every buffer on the path holds: it all drains only if the socket keeps reading.
    peer.command({ op: 'send', bytes: 32 * MIB });
    await peer.event('sent');
    peer.command({ op: 'end' });
    expect(await socket.closed).toMatchObject({
      bytesRead: 0,
      bytesDiscarded: 32 * MIB,
      closeNotifySent: true,
    });
  });

  test("shutdown('both') does not wait for the peer (shutdown-both.no-waiting)", async () => {
    const { peer, socket } = await connectTo({ onEnd: [] });
    await socket.shutdown('both');
    expect(await socket.read()).toBeNull();
    await peer.event('fin');
    expect(socket.state).not.toBe('closed');
    peer.command({ op: 'end' });
    expect(await socket.closed).toMatchObject({ initiator: 'local', closeNotifySent: true });
  });
});

describe('the peer closes first', () => {
  test('allowHalfOpen: we keep writing after its close_notify and it receives everything (peer-close.half-open)', async () => {
    // Node's TLS 1.3 server ends with a bare FIN when end() follows a write at once in 'secure' (seen
    // with openssl s_client too): the peer ends only once 'bye' was read, so the end is a close_notify.
    const { peer, socket } = await connectTo(
      { onSecure: [{ op: 'sendText', text: 'bye' }] },
      { allowHalfOpen: true },
    );
    expect(new TextDecoder().decode((await socket.read())!)).toBe('bye');
    peer.command({ op: 'end' });
    expect(await socket.read()).toBeNull();
    const late = randomBytes(MIB);
    await socket.write(late);
    await socket.shutdown('write');
    expect(await peer.event('tlsEnd')).toMatchObject({ bytes: MIB, sha256: sha256(late) });
    expect(await socket.closed).toMatchObject({
      initiator: 'peer',
      closeNotifySent: true,
      closeNotifyReceived: true,
    });
  });

  test('without allowHalfOpen we answer with our own close_notify and FIN (peer-close.answers)', async () => {
    const { peer, socket } = await connectTo({ onSecure: [{ op: 'end' }] });
    expect(await socket.read()).toBeNull();
    expect(((await peer.event('fin')).recordsBeforeFin as unknown[]).at(-1)).toEqual(
      CLOSE_NOTIFY_RECORD['TLSv1.3'],
    );
    expect(await socket.closed).toMatchObject({
      initiator: 'peer',
      closeNotifySent: true,
      closeNotifyReceived: true,
    });
    expect(await rejection(socket.write('late'))).toMatchObject({ code: 'ERR_WRITE_AFTER_SHUTDOWN' });
    expect(await peer.event('tcpClosed')).toMatchObject({ hadError: false });
    expect(peer.has('tcpError')).toBe(false);
  });
});

describe('close()', () => {
  test('waits for the peer to close (close.waits-for-peer)', async () => {
    const { peer, socket } = await connectTo({ onEnd: [] });
    const closing = socket.close();
    const closed = settledFlag(closing);
    await peer.event('fin');
    expect(closed.settled).toBe(false);
    peer.command({ op: 'end' });
    expect(await closing).toMatchObject({ initiator: 'local', closeNotifySent: true });
  });

  test('gives up after its timeout and frees the socket (close.timeout)', async () => {
    const { peer, socket } = await connectTo({ onEnd: [] });
    expect(await socket.close({ timeoutMs: 100 })).toMatchObject({
      initiator: 'timeout',
      closeNotifySent: true,
    });
    await peer.event('fin');
  });

  test('gives up on a peer that stopped reading and frees the socket at once, with a RST (close.timeout)', async () => {
    const { peer, socket } = await connectTo({ pauseAfterBytes: 1 });
    const pending = socket.write(randomBytes(16 * MIB));
    await peer.event('paused');
    expect(await socket.close({ timeoutMs: 100 })).toMatchObject({
      initiator: 'timeout',
      closeNotifySent: false,
    });
    expect(await rejection(pending)).toMatchObject({ code: 'ERR_CLOSE_TIMEOUT' });
    peer.command({ op: 'resume' });
    expect(await peer.event('tcpError')).toMatchObject({ code: 'ECONNRESET' });
  });

  test('data the peer streams after our close_notify is drained and counted (close.peer-streams-after)', async () => {
    const { peer, socket } = await connectTo({
      onSecure: [{ op: 'send', bytes: 8 * MIB }],
      onEnd: [{ op: 'end' }],
    });
    await socket.read();
    const report = await socket.close();
    expect(report).toMatchObject({ initiator: 'local', closeNotifySent: true });
    expect(report.bytesRead + report.bytesDiscarded).toBe(8 * MIB);
    expect(report.bytesDiscarded).toBeGreaterThan(0);
    await peer.event('sent');
  });
});

describe('abort and reset', () => {
  test('abort() puts a RST on the wire and rejects a pending write (abort.rst-on-wire, abort.rejects-pending)', async () => {
    const { peer, socket } = await connectTo({ pauseAfterBytes: 1 });
    const pending = socket.write(randomBytes(16 * MIB));
    await peer.event('paused');
    socket.abort(new Error('enough'));
    expect(await rejection(pending)).toMatchObject({ code: 'ERR_ABORTED' });
    expect(await socket.closed).toMatchObject({ initiator: 'abort', closeNotifySent: false });
    peer.command({ op: 'resume' });
    expect(await peer.event('tcpError')).toMatchObject({ code: 'ECONNRESET' });
  });

  test("the peer's RST fails reads with ERR_CONNECTION_RESET (reset.peer-rst-mid-stream)", async () => {
    const { peer, socket } = await connectTo({ onSecure: [{ op: 'sendText', text: 'some data' }] });
    expect(await socket.read()).not.toBeNull();
    peer.command({ op: 'rst' });
    expect(await rejection(readAll(socket))).toMatchObject({ code: 'ERR_CONNECTION_RESET', phase: 'read' });
    expect(await rejection(socket.write('after the reset'))).toMatchObject({ code: 'ERR_CONNECTION_RESET' });
    expect(await socket.closed).toMatchObject({
      initiator: 'error',
      error: { code: 'ERR_CONNECTION_RESET' },
    });
  });
});

describe('idle timeout', () => {
  test('closes an idle socket gracefully (idle.fires)', async () => {
    const { peer, socket } = await connectTo({ onEnd: [{ op: 'end' }] }, { idleTimeoutMs: 150 });
    expect(await socket.closed).toMatchObject({ initiator: 'idle', closeNotifySent: true });
    await peer.event('fin');
  });
});
