import { check, delay, equal, readBytes, readToEnd } from '../assert.ts';
import type { ConformanceCase } from '../case.ts';
import { pseudoRandomBytes, sha256Hex } from '../peer-client.ts';

const MIB = 1024 * 1024;

export const dataCases: ConformanceCase[] = [
  {
    id: 'data.sha256-16mib',
    requirement: '16 MiB of random bytes each way arrive intact (sha256)',
    source: 'DESIGN §3 invariant 1',
    tls: 'each',
    timeoutMs: 60_000,
    async run(ctx) {
      const size = 16 * MIB;
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [
          { op: 'read', bytes: size },
          { op: 'send', bytes: size, seed: 7 },
          { op: 'readUntilEnd' },
          { op: 'closeNotify' },
        ],
      });
      const socket = await ctx.connect(peer);
      const outbound = pseudoRandomBytes(size, 11);
      for (let offset = 0; offset < size; offset += 65536)
        await socket.write(outbound.subarray(offset, offset + 65536));
      const inbound = await readBytes(socket, size);
      await socket.shutdown('write');
      equal((await readToEnd(socket)).bytes, 0, 'bytes after the 16 MiB');
      equal(await sha256Hex(inbound), await sha256Hex(pseudoRandomBytes(size, 7)), 'sha256 of what we read');
      const report = await peer.whenDone();
      equal(report.received.bytes, size, 'bytes the peer received');
      equal(report.received.sha256, await sha256Hex(outbound), 'sha256 of what the peer received');
      await socket.closed;
    },
  },
  {
    id: 'data.small-writes-in-order',
    requirement: '10,000 small writes issued without waiting arrive complete and in order',
    source: 'DESIGN §3 invariant 1 (write queue)',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'readUntilEnd' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer);
      const encoder = new TextEncoder();
      const writes: Promise<void>[] = [];
      let expected = '';
      for (let i = 0; i < 10_000; i += 1) {
        const line = `${String(i).padStart(6, '0')}\n`;
        expected += line;
        writes.push(socket.write(encoder.encode(line)));
      }
      await Promise.all(writes);
      await socket.shutdown('write');
      await socket.closed;
      const report = await peer.whenDone();
      equal(report.received.bytes, 70_000, 'bytes received');
      equal(report.received.sha256, await sha256Hex(encoder.encode(expected)), 'sha256 in order');
    },
  },
  {
    id: 'data.peer-stops-reading',
    requirement:
      'against a peer that stops reading, write() stays pending (backpressure) instead of buffering without bound',
    source: 'DESIGN §2 write(): resolves when the runtime accepted the bytes',
    tls: 'any',
    timeoutMs: 60_000,
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [
          { op: 'stopReading' },
          { op: 'wait', signal: 'resume' },
          { op: 'resumeReading' },
          { op: 'readUntilEnd' },
          { op: 'closeNotify' },
        ],
      });
      const socket = await ctx.connect(peer);
      const chunk = new Uint8Array(65536).fill(1);
      const limit = 64 * MIB;
      let written = 0;
      let pending: Promise<void> | undefined;
      while (written < limit) {
        const write = socket.write(chunk);
        const settled = await Promise.race([write.then(() => true), delay(500).then(() => false)]);
        written += chunk.byteLength;
        if (!settled) {
          pending = write;
          break;
        }
      }
      ctx.note(`a write stayed pending after ${written} bytes`);
      check(pending, `every write resolved: ${written} bytes accepted while the peer read nothing`);
      await peer.signal('resume');
      await pending;
      await socket.shutdown('write');
      await socket.closed;
      equal((await peer.whenDone()).received.bytes, written, 'bytes the peer received once it read again');
    },
  },
];
