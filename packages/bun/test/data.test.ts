import { describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { connect } from '../src/index.ts';
import { checkEveryTest, NodePeer, pki, readAll, sha256 } from './support.ts';

checkEveryTest();

const SIXTEEN_MIB = 16 * 1024 * 1024;

describe('data', () => {
  test('data.sha256-16mib outbound, through a stalled peer (data.peer-stops-reading)', async () => {
    const peer = await NodePeer.start({
      role: 'server',
      pauseAfterBytes: 1024 * 1024,
      onEnd: [{ op: 'end' }],
    });
    const socket = await connect({ hostname: 'localhost', port: peer.port, ca: (await pki()).ca });
    const payload = randomBytes(SIXTEEN_MIB);
    let accepted = false;
    const written = socket.write(payload).then(() => {
      accepted = true;
    });
    await peer.event('paused');
    // Bun took what the kernel could hold; the rest waits for `drain`, which a stalled peer withholds.
    expect(accepted).toBe(false);
    peer.command({ op: 'resume' });
    await written;
    await socket.shutdown('write');
    expect(await peer.event('tlsEnd')).toMatchObject({ bytes: SIXTEEN_MIB, sha256: sha256(payload) });
    expect(await socket.closed).toMatchObject({ bytesWritten: SIXTEEN_MIB, closeNotifySent: true });
  });

  test('data.sha256-16mib inbound', async () => {
    const peer = await NodePeer.start({
      role: 'server',
      onSecure: [{ op: 'send', bytes: SIXTEEN_MIB }, { op: 'end' }],
    });
    const socket = await connect({ hostname: 'localhost', port: peer.port, ca: (await pki()).ca });
    const received = await readAll(socket);
    expect(received.byteLength).toBe(SIXTEEN_MIB);
    expect(sha256(received)).toBe((await peer.event('sent')).sha256 as string);
    expect(await socket.closed).toMatchObject({
      initiator: 'peer',
      bytesRead: SIXTEEN_MIB,
      closeNotifySent: true,
    });
  });

  test('data.small-writes-in-order: 2000 writes issued at once arrive in order', async () => {
    const peer = await NodePeer.start({ role: 'server', onEnd: [{ op: 'end' }] });
    const socket = await connect({ hostname: 'localhost', port: peer.port, ca: (await pki()).ca });
    const lines = Array.from({ length: 2000 }, (_, index) => `line ${index}\n`);
    await Promise.all(lines.map((line) => socket.write(line)));
    await socket.shutdown('write');
    const expected = new TextEncoder().encode(lines.join(''));
    expect(await peer.event('tlsEnd')).toMatchObject({
      bytes: expected.byteLength,
      sha256: sha256(expected),
    });
    await socket.closed;
  });
});
