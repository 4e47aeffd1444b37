// The Deno client: `deno run --allow-net=127.0.0.1 deno.ts '<json>'` runs one measure, raw or through
// @closenotify/deno, and prints one JSON result line. Raw is Deno's fastest TLS client path:
// Deno.connect + setNoDelay + Deno.startTls, and conn.read() into a reused 64 KiB buffer
// (measured: the fastest Deno paths). `raw-connectTls` is the one-call Deno.connectTls, whose first
// exchange waits for the peer's delayed ACK (Nagle): the adapter must beat it.
import { connect } from '@closenotify/deno';
import { adapterMeasures } from './shared/adapter.mjs';
import { measureClose, measureCycles, measureIdle, measureReceive, measureSend } from './shared/drivers.mjs';
import type { Request } from './shared/request.d.ts';
import { patternAt, WRITE_BYTES } from './shared/stream-pattern.mjs';

const { measure, impl, port, ca, params }: Request = JSON.parse(Deno.args[0] ?? '{}');
const echoPayload = new Uint8Array(1024).fill(0x61);
const readBuffer = new Uint8Array(64 * 1024);
/** Deno runs with --v8-flags=--expose-gc. */
const collectGarbage = (globalThis as unknown as { gc: () => void }).gc;

async function connectNoDelay(): Promise<Deno.TlsConn> {
  const tcp = await Deno.connect({ hostname: '127.0.0.1', port });
  tcp.setNoDelay(true);
  const conn = await Deno.startTls(tcp, { hostname: 'localhost', caCerts: [ca] });
  await conn.handshake();
  return conn;
}

async function connectTls(): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({ hostname: '127.0.0.1', port, caCerts: [ca] });
  await conn.handshake();
  return conn;
}

async function writeAll(conn: Deno.TlsConn, chunk: Uint8Array): Promise<void> {
  for (let written = 0; written < chunk.byteLength; ) written += await conn.write(chunk.subarray(written));
}

/** Reads until `bytes` have arrived; null: the peer ended first. */
async function readExactly(conn: Deno.TlsConn, bytes: number): Promise<void> {
  for (let received = 0; received < bytes; ) {
    const count = await conn.read(readBuffer);
    if (count === null) throw new Error(`the peer ended after ${received} of ${bytes} echoed bytes`);
    received += count;
  }
}

/** Reads to the peer's close_notify, decoding what arrives as text. */
async function readText(conn: Deno.TlsConn): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (let count = await conn.read(readBuffer); count !== null; count = await conn.read(readBuffer)) {
    text += decoder.decode(readBuffer.subarray(0, count), { stream: true });
  }
  return text;
}

function cycleWith(open: () => Promise<Deno.TlsConn>) {
  return () =>
    measureCycles(params, async () => {
      const conn = await open();
      await writeAll(conn, echoPayload);
      await readExactly(conn, echoPayload.byteLength);
      await conn.closeWrite();
      await readText(conn);
      conn.close();
    });
}

const raw = {
  receive: () =>
    measureReceive(params, async (check, firstByte) => {
      const conn = await connectNoDelay();
      for (let count = await conn.read(readBuffer); count !== null; count = await conn.read(readBuffer)) {
        firstByte();
        check.add(readBuffer, count);
      }
      conn.close();
    }),

  send: () =>
    measureSend(params, async (started) => {
      const conn = await connectNoDelay();
      started();
      for (let offset = 0; offset < params.bytes; offset += WRITE_BYTES) {
        await writeAll(conn, patternAt(offset, Math.min(WRITE_BYTES, params.bytes - offset)));
      }
      await conn.closeWrite();
      const report = JSON.parse(await readText(conn));
      conn.close();
      return report;
    }),

  cycles: cycleWith(connectNoDelay),

  close: () =>
    measureClose(params, async () => {
      const conn = await connectNoDelay();
      await writeAll(conn, echoPayload.subarray(0, 1));
      await readExactly(conn, 1);
      return {
        closeWrite: async () => {
          await conn.closeWrite();
          if ((await conn.read(readBuffer)) !== null) throw new Error('data after the echo');
        },
        release: () => conn.close(),
      };
    }),

  // An idle connection that still notices its peer keeps one read pending, into its own buffer (a
  // pending read pins it): 2 KiB, the size the adapter's read loop uses while a connection is quiet.
  idle: () =>
    measureIdle(params, {
      open: async () => {
        const conn = await connectNoDelay();
        conn.read(new Uint8Array(2 * 1024)).catch(() => {});
        return conn;
      },
      close: (conn: Deno.TlsConn) => conn.close(),
      gc: collectGarbage,
    }),
};

// The raw paths' caCerts add to Deno's root store; the adapter takes that same trust only when asked.
const adapter = adapterMeasures(connect, { port, ca, caAddsToDefaultTrust: true });
const runs = {
  raw: () => raw[measure](),
  // Only the sequential cycles are compared against connectTls (src/plan.ts).
  'raw-connectTls': cycleWith(connectTls),
  adapter: () => adapter[measure](params, collectGarbage),
};
console.log(JSON.stringify(await runs[impl]()));
// Idle connections would keep the process alive.
Deno.exit(0);
