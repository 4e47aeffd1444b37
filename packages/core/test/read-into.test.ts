import { describe, expect, it } from 'vitest';
import { bytes, openSocket } from './memory-peer.ts';

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
}

describe('read(into)', () => {
  it('fills the caller buffer across queued chunks and keeps the rest of a chunk for the next read', async () => {
    const { socket, peer } = await openSocket();
    peer.send(bytes(5, 1));
    peer.send(bytes(7, 2));
    await settle();
    const into = new Uint8Array(8);
    const first = await socket.read(into);
    expect(first?.buffer).toBe(into.buffer);
    expect(Array.from(first!)).toEqual([1, 1, 1, 1, 1, 2, 2, 2]);
    // A plain read() then gets the rest of the second chunk.
    expect(Array.from((await socket.read())!)).toEqual([2, 2, 2, 2]);
  });

  it('a waiting read(into) is filled by the next chunk; what does not fit goes to the next reader', async () => {
    const { socket, peer } = await openSocket();
    const small = new Uint8Array(3);
    const waiting = socket.read(small);
    const next = socket.read();
    peer.send(bytes(10));
    expect(Array.from((await waiting)!)).toEqual(Array.from(bytes(10)).slice(0, 3));
    expect(Array.from((await next)!)).toEqual(Array.from(bytes(10)).slice(3));
  });

  it('never writes into a buffer whose read ended: shutdown(read) resolves it null and later data is discarded', async () => {
    const { socket, peer } = await openSocket();
    const into = new Uint8Array(16);
    const waiting = socket.read(into);
    await socket.shutdown('read');
    expect(await waiting).toBeNull();
    peer.send(bytes(16));
    peer.closeNotify();
    expect(into.every((byte) => byte === 0)).toBe(true);
    expect((await socket.close()).bytesDiscarded).toBe(16);
  });

  it('rejects a buffer it cannot fill with ERR_INVALID_ARGUMENT, and reading goes on', async () => {
    const { socket, peer } = await openSocket();
    const transferred = new Uint8Array(4);
    structuredClone(transferred.buffer, { transfer: [transferred.buffer] });
    for (const into of [new Uint8Array(0), transferred, new Uint16Array(2), 'x']) {
      await expect(socket.read(into as Uint8Array)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        phase: 'read',
      });
    }
    peer.send(bytes(2));
    expect((await socket.read(new Uint8Array(4)))?.byteLength).toBe(2);
  });

  it('keeps borrowed chunks intact once the adapter reuses its buffer: waiting reads, read(into) and the queue', async () => {
    const { socket, peer } = await openSocket();
    const into = new Uint8Array(4);
    const waitingInto = socket.read(into);
    const waitingPlain = socket.read();
    peer.sendBorrowed(bytes(6, 1));
    expect(Array.from((await waitingInto)!)).toEqual([1, 1, 1, 1]);
    expect((await waitingInto)?.buffer).toBe(into.buffer);
    expect(Array.from((await waitingPlain)!)).toEqual([1, 1]);
    peer.sendBorrowed(bytes(3, 2));
    peer.sendBorrowed(bytes(2, 3));
    await settle();
    expect(Array.from((await socket.read())!)).toEqual([2, 2, 2]);
    expect(Array.from((await socket.read(new Uint8Array(8)))!)).toEqual([3, 3]);
    peer.closeNotify();
    expect(await socket.read()).toBeNull();
    expect((await socket.close()).bytesRead).toBe(11);
  });

  it('tells the adapter whether it kept a chunk: not when waiting read(into) buffers took all of it', async () => {
    const { socket, peer } = await openSocket();
    const into = new Uint8Array(8);
    const waiting = socket.read(into);
    const record = bytes(6, 4);
    expect(peer.sink.data(record)).toBe(false);
    record.fill(0);
    expect(Array.from((await waiting)!)).toEqual([4, 4, 4, 4, 4, 4]);
    const waitingPlain = socket.read();
    const handedOver = bytes(3, 5);
    expect(peer.sink.data(handedOver)).toBe(true);
    expect(await waitingPlain).toBe(handedOver);
    const queued = bytes(2, 6);
    expect(peer.sink.data(queued)).toBe(true);
    expect(await socket.read()).toBe(queued);
    const partly = socket.read(new Uint8Array(1));
    const split = bytes(4, 7);
    expect(peer.sink.data(split)).toBe(true);
    expect(Array.from((await partly)!)).toEqual([7]);
    expect(Array.from((await socket.read())!)).toEqual([7, 7, 7]);
  });
});
