import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLOSE_FLUSH_GRACE_MS } from '../src/constants.ts';
import {
  type CloseReport,
  liveResources,
  SecureSocketError,
  type ShutdownableSecureSocket,
} from '../src/index.ts';
import { bytes, openSocket, readAll } from './memory-peer.ts';

afterEach(() => {
  vi.useRealTimers();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
}

describe('half-close: shutdown("write")', () => {
  it('sends every accepted byte, then close_notify, then FIN, and reading goes on', async () => {
    const { socket, peer } = await openSocket({ allowHalfOpen: true });
    await socket.write('hello');
    await socket.write(bytes(1000));
    await socket.shutdown('write');
    expect(peer.kinds()).toEqual(['data', 'data', 'close_notify', 'fin']);
    expect(socket.state).toBe('writeShut');

    const late = socket.write('late');
    await expect(late).rejects.toMatchObject({ code: 'ERR_WRITE_AFTER_SHUTDOWN', phase: 'write' });
    expect(peer.kinds()).toEqual(['data', 'data', 'close_notify', 'fin']);

    peer.send('response');
    expect(new TextDecoder().decode((await socket.read())!)).toBe('response');
    peer.closeNotify();
    expect(await socket.read()).toBeNull();
    const report = await socket.closed;
    expect(socket.state).toBe('closed');
    expect(report).toMatchObject({
      initiator: 'local',
      closeNotifySent: true,
      closeNotifyReceived: true,
      truncated: false,
      bytesWritten: 1005,
      bytesRead: 8,
      bytesDiscarded: 0,
    });
    expect(report.error).toBeUndefined();
    expect(peer.released).toBe(1);
  });

  it('keeps close_notify behind writes that are still queued under backpressure', async () => {
    const { socket, peer } = await openSocket();
    peer.pushBack = true;
    const first = socket.write(bytes(10));
    const second = socket.write(bytes(20));
    const shutdown = socket.shutdown('write');
    await settle();
    expect(peer.kinds()).toEqual(['data']);
    peer.releaseBackpressure();
    await Promise.all([first, second, shutdown]);
    expect(peer.wire).toEqual([
      { kind: 'data', bytes: 10 },
      { kind: 'data', bytes: 20 },
      { kind: 'close_notify' },
      { kind: 'fin' },
    ]);
  });

  it('write() resolves only when the transport accepted the bytes', async () => {
    const { socket, peer } = await openSocket();
    peer.pushBack = true;
    let accepted = false;
    const write = socket.write(bytes(10)).then(() => {
      accepted = true;
    });
    await settle();
    expect(accepted).toBe(false);
    peer.releaseBackpressure();
    await write;
    expect(accepted).toBe(true);
  });
});

describe('the peer closes first', () => {
  it('allowHalfOpen: true lets us keep writing after its close_notify', async () => {
    const { socket, peer } = await openSocket({ allowHalfOpen: true });
    peer.send('request');
    peer.closeNotify();
    expect(await readAll(socket)).toBe(7);
    expect(socket.state).toBe('readShut');
    await socket.write(bytes(65536));
    await socket.shutdown('write');
    const report = await socket.closed;
    expect(report.initiator).toBe('peer');
    expect(peer.received).toBe(65536);
    expect(peer.kinds().slice(-2)).toEqual(['close_notify', 'fin']);
  });

  it('allowHalfOpen: false answers with our own close_notify', async () => {
    const { socket, peer } = await openSocket();
    peer.closeNotify();
    const report = await socket.closed;
    expect(peer.kinds()).toEqual(['close_notify', 'fin']);
    expect(report).toMatchObject({ initiator: 'peer', closeNotifySent: true, closeNotifyReceived: true });
    await expect(socket.write('x')).rejects.toMatchObject({ code: 'ERR_WRITE_AFTER_SHUTDOWN' });
  });
});

describe('shutdown("read")', () => {
  it('ends reading now, discards and counts later data, never blocks the peer', async () => {
    const { socket, peer } = await openSocket({ allowHalfOpen: true });
    peer.send(bytes(300 * 1024));
    // 300 KiB unread: core paused the transport.
    await settle();
    expect(peer.paused).toBe(true);
    await socket.shutdown('read');
    expect(socket.state).toBe('readShut');
    expect(peer.paused).toBe(false);
    expect(await socket.read()).toBeNull();
    peer.send(bytes(1000));
    expect(peer.backlog).toHaveLength(0);
    expect(peer.wire).toEqual([]);
    peer.closeNotify();
    await socket.shutdown('write');
    const report = await socket.closed;
    expect(report).toMatchObject({
      bytesRead: 0,
      bytesDiscarded: 300 * 1024 + 1000,
      closeNotifyReceived: true,
    });
  });

  it('a pending read resolves null', async () => {
    const { socket } = await openSocket();
    const pending = socket.read();
    await socket.shutdown('read');
    expect(await pending).toBeNull();
    socket.abort();
  });
});

describe('shutdown("both")', () => {
  it('sends close_notify and FIN, ends reading, and does not wait for the peer', async () => {
    const { socket, peer } = await openSocket();
    await socket.shutdown('both');
    expect(socket.state).toBe('closing');
    expect(peer.kinds()).toEqual(['close_notify', 'fin']);
    expect(await socket.read()).toBeNull();
    peer.closeNotify();
    expect((await socket.closed).closeNotifyReceived).toBe(true);
  });
});

describe('close()', () => {
  it('waits for the peer close_notify, then releases', async () => {
    const { socket, peer } = await openSocket();
    const closing = socket.close();
    await settle();
    expect(socket.state).toBe('closing');
    expect(peer.released).toBe(0);
    peer.closeNotify();
    const report = await closing;
    expect(report).toMatchObject({ initiator: 'local', closeNotifySent: true, closeNotifyReceived: true });
    expect(peer.released).toBe(1);
  });

  it('releases a transport that asks for it on the next turn, after the reader the close resumed', async () => {
    const { socket, peer } = await openSocket();
    Object.assign(peer.transport, { releaseOnNextTurn: true });
    await socket.shutdown('write');
    const order: string[] = [];
    const release = peer.transport.release;
    peer.transport.release = () => {
      order.push('release');
      release();
    };
    void socket.closed.then(() => order.push('closed'));
    const reading = socket.read().then((chunk) => order.push(`read ${String(chunk)}`));
    peer.closeNotify();
    expect(socket.state).toBe('closed');
    await reading;
    await settle();
    expect(order).toEqual(['read null']);
    await new Promise((resolve) => setImmediate(resolve));
    await settle();
    expect(order).toEqual(['read null', 'release', 'closed']);
    expect(peer.released).toBe(1);
  });

  it('ends at its timeout against a peer that never answers', async () => {
    vi.useFakeTimers();
    const { socket, peer } = await openSocket({ closeTimeoutMs: 250 });
    const closing = socket.close();
    await vi.advanceTimersByTimeAsync(249);
    expect(socket.state).toBe('closing');
    await vi.advanceTimersByTimeAsync(1);
    const report = await closing;
    expect(report).toMatchObject({ initiator: 'timeout', closeNotifySent: true, closeNotifyReceived: false });
    expect(peer.released).toBe(1);
  });

  it('close({ timeoutMs }) overrides the option, and 0 does not wait', async () => {
    const { socket, peer } = await openSocket({ closeTimeoutMs: 60_000 });
    const report = await socket.close({ timeoutMs: 0 });
    expect(report).toMatchObject({ initiator: 'local', closeNotifySent: true, closeNotifyReceived: false });
    expect(peer.released).toBe(1);
  });

  it('rejects a bad timeout with ERR_INVALID_OPTION', async () => {
    const { socket } = await openSocket();
    await expect(socket.close({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    socket.abort();
  });

  it('discards and counts what the peer keeps sending after our close_notify, without error', async () => {
    const { socket, peer } = await openSocket();
    const closing = socket.close();
    for (let i = 0; i < 50; i += 1) peer.send(bytes(16384));
    peer.closeNotify();
    const report = await closing;
    expect(report.error).toBeUndefined();
    expect(report.bytesDiscarded).toBe(50 * 16384);
    expect(report.bytesRead).toBe(0);
  });

  it('gives the same promise to concurrent and repeated calls', async () => {
    const { socket, peer } = await openSocket();
    const first = socket.close();
    expect(socket.close()).toBe(first);
    expect(socket.shutdown('write')).toBe(socket.shutdown('write'));
    peer.closeNotify();
    await first;
    expect(socket.close()).toBe(first);
    expect(peer.kinds()).toEqual(['close_notify', 'fin']);
  });

  it('disposes through await using', async () => {
    const { socket, peer } = await openSocket({ closeTimeoutMs: 0 });
    await socket[Symbol.asyncDispose]();
    expect(socket.state).toBe('closed');
    expect(peer.kinds()).toEqual(['close_notify', 'fin']);
  });
});

describe('close() is bounded whatever is still queued', () => {
  it('close({ timeoutMs: 0 }) resets after the flush grace when writes are stuck, and rejects them', async () => {
    vi.useFakeTimers();
    const { socket, peer } = await openSocket();
    peer.pushBack = true;
    const stuck = socket.write(bytes(1024));
    const queued = socket.write(bytes(1024));
    const closing = socket.close({ timeoutMs: 0 });
    await vi.advanceTimersByTimeAsync(CLOSE_FLUSH_GRACE_MS - 1);
    expect(socket.state).toBe('closing');
    await vi.advanceTimersByTimeAsync(1);
    const report = await closing;
    expect(report).toMatchObject({
      initiator: 'timeout',
      closeNotifySent: false,
      error: { code: 'ERR_CLOSE_TIMEOUT', phase: 'close' },
    });
    await expect(stuck).rejects.toMatchObject({ code: 'ERR_CLOSE_TIMEOUT' });
    await expect(queued).rejects.toMatchObject({ code: 'ERR_CLOSE_TIMEOUT' });
    expect(peer.kinds()).toEqual(['data', 'rst']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a close_notify the transport is still flushing at the timeout is not reported sent', async () => {
    vi.useFakeTimers();
    const { socket, peer } = await openSocket();
    peer.slowShutdown = true;
    const shutdown = socket.shutdown('write');
    const closing = socket.close({ timeoutMs: 300 });
    await vi.advanceTimersByTimeAsync(300);
    expect(await closing).toMatchObject({ initiator: 'timeout', closeNotifySent: false });
    await expect(shutdown).rejects.toMatchObject({ code: 'ERR_CLOSE_TIMEOUT' });
    expect(peer.kinds()).toEqual(['close_notify', 'fin', 'rst']);
    peer.settleShutdown();
    await settle();
    expect((await socket.closed).closeNotifySent).toBe(false);
  });

  it('close({ timeoutMs: 0 }) to a transport that takes everything closes cleanly at once', async () => {
    vi.useFakeTimers();
    const { socket, peer } = await openSocket();
    await socket.write('last words');
    const report = await socket.close({ timeoutMs: 0 });
    expect(report).toMatchObject({ initiator: 'local', closeNotifySent: true });
    expect(report.error).toBeUndefined();
    expect(peer.kinds()).toEqual(['data', 'close_notify', 'fin']);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('abort()', () => {
  it('resets, rejects pending reads and writes with ERR_ABORTED, and waits for nothing', async () => {
    const { socket, peer } = await openSocket();
    peer.pushBack = true;
    const accepted = socket.write(bytes(10));
    const queued = socket.write(bytes(10));
    const read = socket.read();
    const reason = new Error('user gave up');
    socket.abort(reason);
    socket.abort();
    expect(socket.state).toBe('closed');
    await expect(read).rejects.toMatchObject({ code: 'ERR_ABORTED', cause: reason });
    await expect(queued).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await expect(socket.write('x')).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const report = await socket.closed;
    expect(report).toMatchObject({ initiator: 'abort', closeNotifySent: false });
    expect(report.error?.code).toBe('ERR_ABORTED');
    expect(peer.kinds()).toEqual(['data', 'rst']);
    void accepted;
  });

  it('rejects the write the runtime is still taking, even if the runtime later reports it taken', async () => {
    const { socket, peer } = await openSocket();
    peer.pushBack = true;
    const inFlight = socket.write(bytes(10));
    socket.abort();
    peer.releaseBackpressure();
    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('after abort, shutdown("write") rejects and close() resolves the report', async () => {
    const { socket } = await openSocket();
    socket.abort();
    await expect(socket.shutdown('write')).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect((await socket.close()).initiator).toBe('abort');
  });
});

describe('peer failures', () => {
  it('EOF without close_notify is ERR_TLS_TRUNCATED after the data already received', async () => {
    const { socket, peer } = await openSocket();
    peer.send('partial');
    peer.eofWithoutCloseNotify();
    expect(new TextDecoder().decode((await socket.read())!)).toBe('partial');
    await expect(socket.read()).rejects.toMatchObject({ code: 'ERR_TLS_TRUNCATED', phase: 'read' });
    const report = await socket.closed;
    expect(report).toMatchObject({ initiator: 'error', truncated: true, closeNotifyReceived: false });
  });

  it("truncation: 'ignore' gives a clean end with truncated: true", async () => {
    const { socket, peer } = await openSocket({ truncation: 'ignore', allowHalfOpen: true });
    peer.send('partial');
    peer.eofWithoutCloseNotify();
    expect(await readAll(socket)).toBe(7);
    await socket.shutdown('write');
    expect(await socket.closed).toMatchObject({
      truncated: true,
      closeNotifyReceived: false,
      initiator: 'peer',
    });
  });

  it('an end the runtime cannot classify is reported as unknown, not as clean', async () => {
    const { socket, peer } = await openSocket();
    peer.sink.end(null);
    expect(await socket.read()).toBeNull();
    expect(await socket.closed).toMatchObject({ truncated: null, closeNotifyReceived: null });
  });

  it('a reset rejects reads and writes with ERR_CONNECTION_RESET', async () => {
    const { socket, peer } = await openSocket();
    const read = socket.read();
    peer.reset();
    await expect(read).rejects.toMatchObject({ code: 'ERR_CONNECTION_RESET' });
    await expect(socket.write('x')).rejects.toMatchObject({ code: 'ERR_CONNECTION_RESET' });
    expect((await socket.closed).initiator).toBe('error');
  });

  it('a transport that closes on its own fails the socket instead of hanging it', async () => {
    const { socket, peer } = await openSocket();
    peer.sink.closed();
    expect((await socket.closed).error?.code).toBe('ERR_SOCKET_CLOSED');
  });

  it('ignores runtime events that arrive after the end', async () => {
    const { socket, peer } = await openSocket();
    socket.abort();
    peer.send('late');
    peer.closeNotify();
    peer.reset();
    peer.sink.closed();
    expect((await socket.closed).initiator).toBe('abort');
  });
});

describe('reading', () => {
  it('pauses the transport when the application does not read, and resumes when it does', async () => {
    const { socket, peer } = await openSocket();
    // Core pauses once 128 KiB wait unread: the 8th chunk.
    for (let i = 0; i < 7; i += 1) peer.send(bytes(16384));
    expect(peer.paused).toBe(false);
    peer.send(bytes(16384));
    expect(peer.paused).toBe(true);
    for (let i = 0; i < 3; i += 1) peer.send(bytes(16384));
    expect(peer.backlog).toHaveLength(3);
    let total = 0;
    while (total < 11 * 16384) total += (await socket.read())!.byteLength;
    expect(peer.paused).toBe(false);
    expect(peer.backlog).toHaveLength(0);
    socket.abort();
  });

  it('serves several waiting reads in the order they were made, and ends them all together', async () => {
    const { socket, peer } = await openSocket();
    const waiting = [socket.read(), socket.read(new Uint8Array(2)), socket.read()];
    peer.send(bytes(1, 1));
    peer.send(bytes(3, 2));
    const [first, second, third] = await Promise.all(waiting);
    expect(Array.from(first!)).toEqual([1]);
    expect(Array.from(second!)).toEqual([2, 2]);
    expect(Array.from(third!)).toEqual([2]);
    const ending = [socket.read(), socket.read(), socket.read()];
    peer.closeNotify();
    expect(await Promise.all(ending)).toEqual([null, null, null]);
    const failing = await openSocket();
    const rejected = [failing.socket.read(), failing.socket.read(new Uint8Array(1)), failing.socket.read()];
    failing.peer.reset();
    for (const read of rejected) await expect(read).rejects.toMatchObject({ code: 'ERR_CONNECTION_RESET' });
  });

  it('shutdown("write") from inside a read loop loses nothing', async () => {
    const { socket, peer } = await openSocket({ allowHalfOpen: true });
    const sent = 64;
    let received = 0;
    let shutdownCalled = false;
    const reading = (async () => {
      for await (const chunk of socket.readable) {
        received += chunk.byteLength;
        if (!shutdownCalled) {
          shutdownCalled = true;
          await socket.shutdown('write');
        }
      }
    })();
    for (let i = 0; i < sent; i += 1) peer.send(bytes(16384));
    peer.closeNotify();
    await reading;
    expect(received).toBe(sent * 16384);
    expect((await socket.closed).bytesRead).toBe(sent * 16384);
  });

  it('readable ends on the peer close_notify and its cancel() is shutdown("read")', async () => {
    const { socket, peer } = await openSocket({ allowHalfOpen: true });
    const reader = socket.readable.getReader();
    peer.send('a');
    expect((await reader.read()).value).toEqual(new TextEncoder().encode('a'));
    await reader.cancel();
    expect(socket.state).toBe('readShut');
    socket.abort();
  });
});

describe('writable', () => {
  it('writes in order and its close() is shutdown("write")', async () => {
    const { socket, peer } = await openSocket({ allowHalfOpen: true });
    const writer = socket.writable.getWriter();
    await writer.write(bytes(3));
    await writer.write(bytes(4));
    await writer.close();
    expect(peer.kinds()).toEqual(['data', 'data', 'close_notify', 'fin']);
    expect(socket.state).toBe('writeShut');
    socket.abort();
  });

  it('abort() on the writable aborts the socket', async () => {
    const { socket, peer } = await openSocket();
    await socket.writable.abort(new Error('stop'));
    expect(socket.state).toBe('closed');
    expect(peer.kinds()).toEqual(['rst']);
  });
});

describe('idle timeout', () => {
  it('closes after idleTimeoutMs with no byte either way, as close() with initiator idle', async () => {
    vi.useFakeTimers();
    const { socket, peer } = await openSocket({ idleTimeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(socket.state).toBe('open');
    await vi.advanceTimersByTimeAsync(2);
    expect(socket.state).toBe('closing');
    expect(peer.kinds()).toEqual(['close_notify', 'fin']);
    peer.closeNotify();
    expect((await socket.closed).initiator).toBe('idle');
  });

  it('is reset by reads and by writes', async () => {
    vi.useFakeTimers();
    const { socket, peer } = await openSocket({ idleTimeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(800);
    peer.send('in');
    await vi.advanceTimersByTimeAsync(800);
    await socket.write('out');
    await vi.advanceTimersByTimeAsync(800);
    expect(socket.state).toBe('open');
    await vi.advanceTimersByTimeAsync(250);
    expect(socket.state).toBe('closing');
    socket.abort();
  });

  it('rejects a pending read, later reads and later writes with ERR_IDLE_TIMEOUT, never a clean end', async () => {
    vi.useFakeTimers();
    const { socket, peer } = await openSocket({ idleTimeoutMs: 1000 });
    const pending = socket.read();
    await vi.advanceTimersByTimeAsync(1001);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_IDLE_TIMEOUT', phase: 'read' });
    await expect(socket.read()).rejects.toMatchObject({ code: 'ERR_IDLE_TIMEOUT' });
    await expect(socket.write('late')).rejects.toMatchObject({ code: 'ERR_IDLE_TIMEOUT' });
    peer.closeNotify();
    expect(await socket.closed).toMatchObject({
      initiator: 'idle',
      closeNotifySent: true,
      error: { code: 'ERR_IDLE_TIMEOUT' },
    });
  });

  it('after the peer already ended cleanly, reads still give the clean end', async () => {
    vi.useFakeTimers();
    const { socket, peer } = await openSocket({ idleTimeoutMs: 1000, allowHalfOpen: true });
    peer.closeNotify();
    expect(await socket.read()).toBeNull();
    await vi.advanceTimersByTimeAsync(1001);
    expect(await socket.read()).toBeNull();
    await expect(socket.write('late')).rejects.toMatchObject({ code: 'ERR_IDLE_TIMEOUT' });
    expect((await socket.closed).initiator).toBe('idle');
  });

  it('leaves no timer behind once closed', async () => {
    vi.useFakeTimers();
    const { socket } = await openSocket({ idleTimeoutMs: 1000, closeTimeoutMs: 5000 });
    socket.abort();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('input checks', () => {
  it('rejects bad shutdown() and write() arguments with clear errors and never throws', async () => {
    const { socket } = await openSocket();
    await expect(socket.shutdown('sideways' as 'read')).rejects.toBeInstanceOf(SecureSocketError);
    await expect(socket.write(42 as unknown as string)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    socket.abort();
  });
});

describe('resources', () => {
  it('counts live sockets down to zero', async () => {
    const before = liveResources().sockets;
    const { socket, peer } = await openSocket();
    expect(liveResources().sockets).toBe(before + 1);
    peer.closeNotify();
    await socket.closed;
    expect(liveResources().sockets).toBe(before);
  });

  it('survives a transport that reports events from inside reset() and release()', async () => {
    const before = liveResources().sockets;
    const aborted = await openSocket();
    aborted.peer.transport.reset = () => {
      aborted.peer.reset();
      aborted.peer.sink.closed();
    };
    aborted.socket.abort();
    expect((await aborted.socket.closed).initiator).toBe('abort');
    const failed = await openSocket();
    failed.peer.transport.release = () => failed.peer.sink.closed();
    failed.peer.reset();
    expect((await failed.socket.closed).error?.code).toBe('ERR_CONNECTION_RESET');
    expect(liveResources().sockets).toBe(before);
  });

  it('opened and closed first asked for after the end still give the outcome, as one promise each', async () => {
    const { socket, peer } = await openSocket();
    peer.closeNotify();
    await socket.close();
    await settle();
    const closed = socket.closed;
    expect(socket.closed).toBe(closed);
    expect((await closed).closeNotifyReceived).toBe(true);
    expect((await socket.opened).protocol).toBe('TLSv1.3');
    expect(socket.opened).toBe(socket.opened);
  });

  it('no unhandled rejection when the application ignores every promise', async () => {
    const { socket, peer } = await openSocket();
    void socket.write('ignored');
    void socket.shutdown('write');
    void socket.write('after shutdown, ignored');
    void socket.read();
    peer.reset();
    void socket.close();
    await socket.closed;
    await settle();
  });
});

describe('a transport that throws on a closing path', () => {
  const thrown = new Error('the runtime threw');
  const throwing = (): never => {
    throw thrown;
  };

  /** `closed` must settle: a pending one fails the test at once instead of timing the whole file out. */
  async function closedWithin(socket: ShutdownableSecureSocket): Promise<CloseReport | 'pending'> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pending = new Promise<'pending'>((resolve) => {
      timer = setTimeout(() => resolve('pending'), 1000);
    });
    try {
      return await Promise.race([socket.closed, pending]);
    } finally {
      clearTimeout(timer);
    }
  }

  it('release() throwing after a clean close still closes, and the report keeps what was thrown', async () => {
    const { socket, peer } = await openSocket();
    peer.transport.release = throwing;
    const closing = socket.close();
    peer.closeNotify();
    const report = await closedWithin(socket);
    expect(report).not.toBe('pending');
    expect(socket.state).toBe('closed');
    expect(await closing).toBe(report);
    expect((report as CloseReport).error).toMatchObject({
      code: 'ERR_SOCKET_CLOSED',
      phase: 'close',
      cause: thrown,
    });
  });

  it('reset() throwing inside abort() neither throws to the caller nor leaves closed pending', async () => {
    const { socket, peer } = await openSocket();
    peer.transport.reset = throwing;
    expect(() => socket.abort()).not.toThrow();
    const report = await closedWithin(socket);
    expect(report).toMatchObject({ initiator: 'abort', error: { code: 'ERR_ABORTED' } });
    expect(socket.state).toBe('closed');
  });

  it('release() throwing on a fatal error still closes', async () => {
    const { socket, peer } = await openSocket();
    peer.transport.release = throwing;
    peer.reset();
    expect(await closedWithin(socket)).toMatchObject({ error: { code: 'ERR_CONNECTION_RESET' } });
    expect(socket.state).toBe('closed');
  });

  it('shutdownWrite() throwing ends close() with the thrown error as the cause', async () => {
    const { socket, peer } = await openSocket();
    peer.transport.shutdownWrite = throwing;
    void socket.close();
    const report = await closedWithin(socket);
    expect(report).toMatchObject({ closeNotifySent: false, error: { cause: thrown } });
    expect(socket.state).toBe('closed');
  });

  it('pause() and resume() throwing fail the socket instead of the caller', async () => {
    const { socket, peer } = await openSocket();
    peer.transport.pause = throwing;
    peer.transport.resume = throwing;
    expect(() => peer.send(bytes(256 * 1024))).not.toThrow();
    await expect(socket.read()).resolves.toBeInstanceOf(Uint8Array);
    void socket.close();
    const report = await closedWithin(socket);
    expect(report).not.toBe('pending');
    expect(socket.state).toBe('closed');
  });
});
