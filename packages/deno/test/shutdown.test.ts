/**
 * Shutdown, close, abort, truncation and resets, with our connect() as the client.
 * Run with: deno test --allow-net=127.0.0.1,localhost --allow-run=openssl,node --allow-write=.tmp --allow-read=.tmp
 */
import { type CloseReport, connect, type ShutdownableSecureSocket } from '../src/index.ts';
import { assertEquals, assertRejects } from './fixtures/assert.ts';
import { MIB, text } from './fixtures/bytes.ts';
import { nodePeer, Relay, readText, readToEnd, tlsPeer, writeAllBytes, writeText } from './fixtures/peers.ts';
import { testPki } from './fixtures/pki.ts';

const pki = await testPki();

function connectTo(
  port: number,
  options: Partial<Parameters<typeof connect>[0]> = {},
): Promise<ShutdownableSecureSocket> {
  return connect({ hostname: 'localhost', port, ca: pki.ca, caAddsToDefaultTrust: true, ...options });
}

function summary(report: CloseReport) {
  return {
    initiator: report.initiator,
    closeNotifySent: report.closeNotifySent,
    closeNotifyReceived: report.closeNotifyReceived,
    truncated: report.truncated,
    error: report.error?.code,
  };
}

async function readChunk(socket: ShutdownableSecureSocket): Promise<string> {
  const chunk = await socket.read();
  if (chunk === null) throw new Error('unexpected end of stream');
  return text(chunk);
}

Deno.test('shutdown(write) sends close_notify and the FIN, then the whole response is read (shutdown-write.close-notify-then-fin, shutdown-write.peer-reads-all)', async () => {
  const response = `${'x'.repeat(256 * 1024)}END`;
  const peer = tlsPeer(pki.server, async (conn) => {
    // readToEnd() gives up with UnexpectedEof on a bare FIN: reaching its end proves our close_notify came first.
    const request = text(await readToEnd(conn));
    await writeText(conn, `${request}:${response}`);
    await conn.closeWrite();
  });
  const socket = await connectTo(peer.port);
  await socket.write('ping');
  await socket.shutdown('write');
  assertEquals(socket.state, 'writeShut');
  assertEquals(await readText(socket), `ping:${response}`);
  const report = await socket.closed;
  assertEquals(summary(report), {
    initiator: 'local',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
    error: undefined,
  });
  assertEquals([report.bytesWritten, report.bytesRead, report.bytesDiscarded], [4, 5 + response.length, 0]);
  await peer.finished;
});

Deno.test('a write after shutdown(write) rejects and reading goes on (shutdown-write.write-after-rejects)', async () => {
  const peer = tlsPeer(pki.server, async (conn) => {
    await readToEnd(conn);
    await writeText(conn, 'still readable');
    await conn.closeWrite();
  });
  const socket = await connectTo(peer.port);
  await socket.shutdown('write');
  await assertRejects(socket.write('late'), { code: 'ERR_WRITE_AFTER_SHUTDOWN' });
  assertEquals(await readText(socket), 'still readable');
  assertEquals((await socket.closed).error, undefined);
  await peer.finished;
});

Deno.test('shutdown(write) inside the read loop loses nothing the peer sent (shutdown-write.inside-read-loop)', async () => {
  const peer = tlsPeer(pki.server, async (conn) => {
    await writeAllBytes(conn, new Uint8Array(2 * MIB).fill(7));
    await readToEnd(conn);
    await conn.closeWrite();
  });
  const socket = await connectTo(peer.port);
  let received = 0;
  for await (const chunk of socket.readable) {
    if (received === 0) await socket.shutdown('write');
    received += chunk.byteLength;
  }
  assertEquals(received, 2 * MIB);
  assertEquals((await socket.closed).closeNotifyReceived, true);
  await peer.finished;
});

Deno.test('with allowHalfOpen we still write after the peer’s close_notify (peer-close.half-open)', async () => {
  const peer = tlsPeer(pki.server, async (conn) => {
    await writeText(conn, 'hello');
    await conn.closeWrite();
    assertEquals(text(await readToEnd(conn)), 'after your close_notify');
  });
  const socket = await connectTo(peer.port, { allowHalfOpen: true });
  assertEquals(await readText(socket), 'hello');
  assertEquals(socket.state, 'readShut');
  await socket.write('after your close_notify');
  await socket.shutdown('write');
  assertEquals(summary(await socket.closed), {
    initiator: 'peer',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
    error: undefined,
  });
  await peer.finished;
});

Deno.test('without allowHalfOpen the peer’s close_notify is answered with ours (peer-close.answers)', async () => {
  const peer = tlsPeer(pki.server, async (conn) => {
    await writeText(conn, 'hello');
    await conn.closeWrite();
    // null, not UnexpectedEof: the answer is a close_notify.
    assertEquals(text(await readToEnd(conn)), '');
  });
  const socket = await connectTo(peer.port);
  assertEquals(await readText(socket), 'hello');
  await assertRejects(socket.write('too late'), { code: 'ERR_WRITE_AFTER_SHUTDOWN' });
  assertEquals(summary(await socket.closed), {
    initiator: 'peer',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
    error: undefined,
  });
  await peer.finished;
});

/** A server that sends `first`, then (when asked) `second`, and stays until the test lets it go. */
function truncationScenario(second?: string) {
  const sendSecond = Promise.withResolvers<void>();
  const letGo = Promise.withResolvers<void>();
  const peer = tlsPeer(pki.server, async (conn) => {
    await writeText(conn, 'first');
    if (second !== undefined) {
      await sendSecond.promise;
      await writeText(conn, second);
    }
    await letGo.promise;
  });
  const relay = new Relay(peer.port);
  return {
    relay,
    sendSecond: () => sendSecond.resolve(),
    finished: async () => {
      letGo.resolve();
      await Promise.all([peer.finished, relay.finished]);
    },
  };
}

Deno.test('a FIN without close_notify between records is ERR_TLS_TRUNCATED (truncation.fin-at-boundary)', async () => {
  const scenario = truncationScenario();
  const socket = await connectTo(scenario.relay.port);
  assertEquals(await readChunk(socket), 'first');
  await scenario.relay.finToClient();
  await assertRejects(socket.read(), { code: 'ERR_TLS_TRUNCATED', phase: 'read' });
  assertEquals(summary(await socket.closed), {
    initiator: 'error',
    closeNotifySent: false,
    closeNotifyReceived: false,
    truncated: true,
    error: 'ERR_TLS_TRUNCATED',
  });
  await scenario.finished();
});

Deno.test('a FIN in the middle of a record is ERR_TLS_TRUNCATED (truncation.fin-mid-record)', async () => {
  const scenario = truncationScenario('the second record, cut short by the relay');
  const socket = await connectTo(scenario.relay.port);
  assertEquals(await readChunk(socket), 'first');
  const cut = scenario.relay.cutNextRecordToClient();
  scenario.sendSecond();
  await cut;
  await assertRejects(socket.read(), { code: 'ERR_TLS_TRUNCATED' });
  assertEquals((await socket.closed).truncated, true);
  await scenario.finished();
});

Deno.test("truncation: 'ignore' ends cleanly and still reports the truncation (truncation.ignore)", async () => {
  const scenario = truncationScenario();
  const socket = await connectTo(scenario.relay.port, { truncation: 'ignore' });
  assertEquals(await readChunk(socket), 'first');
  await scenario.relay.finToClient();
  assertEquals(await socket.read(), null);
  assertEquals(summary(await socket.closed), {
    initiator: 'peer',
    closeNotifySent: true,
    closeNotifyReceived: false,
    truncated: true,
    error: undefined,
  });
  await scenario.finished();
});

Deno.test('garbage after the handshake is ERR_TLS_PROTOCOL (bad-peer.garbage-after-handshake)', async () => {
  const scenario = truncationScenario();
  const socket = await connectTo(scenario.relay.port);
  assertEquals(await readChunk(socket), 'first');
  await scenario.relay.injectToClient(new Uint8Array(40).fill(0x41));
  await assertRejects(socket.read(), { code: 'ERR_TLS_PROTOCOL', phase: 'read' });
  assertEquals((await socket.closed).error?.code, 'ERR_TLS_PROTOCOL');
  await scenario.finished();
});

Deno.test('a RST from the peer mid-stream is ERR_CONNECTION_RESET (reset.peer-rst-mid-stream)', async () => {
  const peer = await nodePeer('reset-when-asked', pki);
  const socket = await connectTo(peer.port);
  assertEquals(await readChunk(socket), 'ready');
  await socket.write('reset');
  await assertRejects(socket.read(), { code: 'ERR_CONNECTION_RESET', phase: 'read' });
  assertEquals(summary(await socket.closed), {
    initiator: 'error',
    closeNotifySent: false,
    closeNotifyReceived: false,
    truncated: false,
    error: 'ERR_CONNECTION_RESET',
  });
  assertEquals(await peer.output, ['resetting']);
  await peer.finished;
});

Deno.test('abort() releases at once and rejects the pending read and write (abort.rejects-pending)', async () => {
  const letGo = Promise.withResolvers<void>();
  // The peer never reads, so a 16 MiB write cannot complete.
  const peer = tlsPeer(pki.server, async (conn) => {
    await conn.handshake();
    await letGo.promise;
  });
  const socket = await connectTo(peer.port);
  const pendingRead = socket.read();
  const pendingWrite = socket.write(new Uint8Array(16 * MIB));
  socket.abort(new Error('user gave up'));
  assertEquals(socket.state, 'closed');
  await assertRejects(pendingRead, { code: 'ERR_ABORTED' });
  await assertRejects(pendingWrite, { code: 'ERR_ABORTED' });
  assertEquals(summary(await socket.closed), {
    initiator: 'abort',
    closeNotifySent: false,
    closeNotifyReceived: false,
    truncated: false,
    error: 'ERR_ABORTED',
  });
  letGo.resolve();
  await peer.finished;
});

Deno.test('close() waits for the peer’s close_notify and discards what it streams meanwhile (close.waits-for-peer, close.peer-streams-after)', async () => {
  const peer = tlsPeer(pki.server, async (conn) => {
    await readToEnd(conn);
    await writeAllBytes(conn, new Uint8Array(MIB));
    await conn.closeWrite();
  });
  const socket = await connectTo(peer.port);
  const report = await socket.close();
  assertEquals(summary(report), {
    initiator: 'local',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
    error: undefined,
  });
  assertEquals([report.bytesRead, report.bytesDiscarded], [0, MIB]);
  await peer.finished;
});

Deno.test('close() gives up after its timeout and releases anyway (close.timeout)', async () => {
  const letGo = Promise.withResolvers<void>();
  const peer = tlsPeer(pki.server, async (conn) => {
    await readToEnd(conn);
    await letGo.promise;
  });
  const socket = await connectTo(peer.port);
  assertEquals(summary(await socket.close({ timeoutMs: 100 })), {
    initiator: 'timeout',
    closeNotifySent: true,
    closeNotifyReceived: false,
    truncated: false,
    error: undefined,
  });
  letGo.resolve();
  await peer.finished;
});

Deno.test('shutdown(read) ends reading now, drains the peer and counts what it discards (shutdown-read.discards-and-counts, shutdown-read.peer-never-blocked)', async () => {
  const peer = tlsPeer(pki.server, async (conn) => {
    // Completes only because our side keeps reading after shutdown('read').
    await writeAllBytes(conn, new Uint8Array(4 * MIB));
    await conn.closeWrite();
    await readToEnd(conn);
  });
  const socket = await connectTo(peer.port);
  await socket.shutdown('read');
  assertEquals(await socket.read(), null);
  const report = await socket.close();
  assertEquals(summary(report), {
    initiator: 'local',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
    error: undefined,
  });
  assertEquals([report.bytesRead, report.bytesDiscarded], [0, 4 * MIB]);
  await peer.finished;
});

Deno.test('shutdown(both) sends close_notify without waiting for the peer (shutdown-both.no-waiting)', async () => {
  const letGo = Promise.withResolvers<void>();
  const peer = tlsPeer(pki.server, async (conn) => {
    assertEquals(text(await readToEnd(conn)), '');
    await letGo.promise;
  });
  const socket = await connectTo(peer.port);
  await socket.shutdown('both');
  assertEquals(socket.state, 'closing');
  assertEquals(await socket.read(), null);
  letGo.resolve();
  assertEquals((await socket.closed).closeNotifyReceived, true);
  await peer.finished;
});

Deno.test('core’s idle timeout closes a quiet socket gracefully (idle.fires)', async () => {
  const peer = tlsPeer(pki.server, async (conn) => {
    await readToEnd(conn);
  });
  const socket = await connectTo(peer.port, { idleTimeoutMs: 100 });
  // The close is graceful; the report still names what ended the socket, as reads see it.
  assertEquals(summary(await socket.closed), {
    initiator: 'idle',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
    error: 'ERR_IDLE_TIMEOUT',
  });
  await peer.finished;
});
