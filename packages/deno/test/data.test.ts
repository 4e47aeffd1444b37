/**
 * Moving bytes: integrity both ways through the partial-write and read loops, and write order.
 * Run with: deno test --allow-net=127.0.0.1,localhost --allow-run=openssl,node --allow-write=.tmp --allow-read=.tmp
 */
import { connect } from '../src/index.ts';
import { assertEquals } from './fixtures/assert.ts';
import { MIB, randomBytes, readAll, sha256, text } from './fixtures/bytes.ts';
import { readToEnd, tlsPeer, writeAllBytes } from './fixtures/peers.ts';
import { testPki } from './fixtures/pki.ts';

const pki = await testPki();

Deno.test('16 MiB each way arrive intact, verified by sha256 (data.sha256-16mib)', async () => {
  const upload = randomBytes(16 * MIB);
  const download = randomBytes(16 * MIB);
  const uploaded = Promise.withResolvers<string>();
  const peer = tlsPeer(pki.server, async (conn) => {
    const [received] = await Promise.all([
      readToEnd(conn),
      writeAllBytes(conn, download).then(() => conn.closeWrite()),
    ]);
    uploaded.resolve(await sha256(received));
  });
  const socket = await connect({
    hostname: 'localhost',
    port: peer.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
  });
  // One 16 MiB write: Deno takes 64 KiB per conn.write(), so the transport's write loop is exercised.
  const [received] = await Promise.all([
    readAll(socket),
    socket.write(upload).then(() => socket.shutdown('write')),
  ]);
  assertEquals(await sha256(received), await sha256(download), 'download sha256');
  assertEquals(await uploaded.promise, await sha256(upload), 'upload sha256');
  const report = await socket.closed;
  assertEquals(
    [report.bytesRead, report.bytesWritten, report.closeNotifyReceived],
    [16 * MIB, 16 * MIB, true],
  );
  await peer.finished;
});

Deno.test('many small writes, none awaited, arrive in order (data.small-writes-in-order)', async () => {
  const received = Promise.withResolvers<string>();
  const peer = tlsPeer(pki.server, async (conn) => {
    received.resolve(text(await readToEnd(conn)));
    await conn.closeWrite();
  });
  const socket = await connect({
    hostname: 'localhost',
    port: peer.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
  });
  const pieces = Array.from({ length: 2000 }, (_, index) => `${index},`);
  const writes = pieces.map((piece) => socket.write(piece));
  await Promise.all([...writes, socket.shutdown('write')]);
  assertEquals(await received.promise, pieces.join(''));
  assertEquals((await socket.closed).closeNotifyReceived, true);
  await peer.finished;
});
