import { createServer, type TLSSocket } from 'node:tls';
import { ensurePki, type Pki } from '@closenotify/test-pki';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/index.ts';

let pki: Pki;
beforeAll(async () => {
  pki = await ensurePki();
});

const CHUNK = Buffer.alloc(64 * 1024, 7);
const TOTAL_CHUNKS = 1024; // 64 MiB: far more than every buffer between the two processes' TLS layers

describe('receive backpressure over the cipher stream', () => {
  it('a socket nobody reads stops the sender, and then delivers every byte', async () => {
    let written = 0;
    let sender: TLSSocket | undefined;
    const server = createServer({ ...pki.server }, (peer) => {
      sender = peer;
      const pump = (): void => {
        while (written < TOTAL_CHUNKS) {
          written += 1;
          if (!peer.write(CHUNK)) {
            peer.once('drain', pump);
            return;
          }
        }
        peer.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const socket = await connect({ hostname: 'localhost', port, ca: pki.ca });
    // Nobody reads for a second: the sender must be stuck at what the kernel and both TLS layers
    // buffer (about 4 MiB measured), far below the total (unbounded, it had sent 24 MiB in half a second).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const stalledAt = written;
    expect(stalledAt).toBeLessThan(TOTAL_CHUNKS / 4);
    let received = 0;
    for await (const chunk of socket.readable) received += chunk.byteLength;
    expect(received).toBe(TOTAL_CHUNKS * CHUNK.byteLength);
    expect((await socket.closed).closeNotifyReceived).toBe(true);
    sender?.destroy();
    server.close();
  }, 60_000);
});
