/**
 * Small HTTP/1.1-over-TLS servers on loopback whose connection endings are known, for the probe's
 * tests: each answers every request head, and ends a connection after `Connection: close`, on the
 * client's close_notify, and after `idleMs` of silence, always the same way.
 * - 'close_notify': closenotify's own listen(), ending with close() (close_notify, then FIN). It sets
 *   allowHalfOpen: by default closenotify answers a client's close_notify at once, so a reply still
 *   being written is cut off, and the probe rightly reports that server's half-close as risky;
 * - 'reset': closenotify's own listen(), ending with abort() (a TCP RST) instead of any reply, over
 *   TLS 1.2. Bytes the client has not read yet in front of a RST make Node (libuv) report the RST as a
 *   plain end of stream, so nothing may precede it: no reply, and no TLS 1.3 session tickets, which a
 *   server sends after the handshake, while the client is already writing its request;
 * - 'fin': a raw node:tls server that destroys its socket (a bare FIN, no close_notify): closenotify
 *   itself cannot end a connection that way, which is the point.
 */
import tls from 'node:tls';
import { listen, type ShutdownableSecureSocket } from '@closenotify/node';

export type ServerEnding = 'close_notify' | 'fin' | 'reset';

export interface TestServer {
  port: number;
  stop(): Promise<void>;
}

const BODY = 'hello from a probe test server\n';
const RESPONSE = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`;

/** Answers the complete request heads in `buffer`; returns what is left and whether one asked to close. */
function answerHeads(buffer: string, respond: (response: string) => void): { rest: string; close: boolean } {
  let rest = buffer;
  let end = rest.indexOf('\r\n\r\n');
  while (end >= 0) {
    const head = rest.slice(0, end);
    rest = rest.slice(end + 4);
    respond(RESPONSE);
    if (/^connection:\s*close/im.test(head)) return { rest, close: true };
    end = rest.indexOf('\r\n\r\n');
  }
  return { rest, close: false };
}

const IDLE = Symbol('idle');

async function serveWithCloseNotify(
  socket: ShutdownableSecureSocket,
  ending: 'close_notify' | 'reset',
  idleMs: number,
): Promise<void> {
  const end = async () => {
    if (ending === 'reset') socket.abort();
    else await socket.close();
  };
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<typeof IDLE>((resolve) => {
      timer = setTimeout(() => resolve(IDLE), idleMs);
    });
    const reading = socket.read();
    // After an idle end the pending read settles with the socket: nothing waits for it.
    reading.catch(() => {});
    const chunk = await Promise.race([reading, idle]).finally(() => clearTimeout(timer));
    if (chunk === IDLE || chunk === null || ending === 'reset') return end();
    const writes: Promise<void>[] = [];
    const answered = answerHeads(buffer + decoder.decode(chunk, { stream: true }), (response) =>
      writes.push(socket.write(response)),
    );
    await Promise.all(writes);
    buffer = answered.rest;
    if (answered.close) return end();
  }
}

async function listenWith(
  ending: 'close_notify' | 'reset',
  pki: TestPki,
  idleMs: number,
): Promise<TestServer> {
  const behaviour = ending === 'reset' ? { maxVersion: 'TLSv1.2' as const } : { allowHalfOpen: true };
  const server = await listen({ cert: pki.cert, key: pki.key, ...behaviour }, (socket) =>
    serveWithCloseNotify(socket, ending, idleMs).catch(() => socket.abort()),
  );
  return { port: server.address.port, stop: () => server.close() };
}

/** allowHalfOpen: the server, not Node, decides what a client's close_notify is answered with. */
function rawFinServer(pki: TestPki, idleMs: number): Promise<TestServer> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: pki.cert, key: pki.key, allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    // destroy() frees the TLS session and the descriptor without SSL_shutdown: a bare FIN.
    const hangUp = () => socket.destroy();
    socket.setTimeout(idleMs, hangUp);
    socket.on('end', hangUp);
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      const answered = answerHeads(buffer + chunk.toString('latin1'), (response) => socket.write(response));
      buffer = answered.rest;
      if (answered.close) socket.write('', hangUp);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as { port: number }).port,
        stop: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

export interface TestPki {
  ca: string;
  cert: string;
  key: string;
}

export function startHttpServer(ending: ServerEnding, pki: TestPki, idleMs: number): Promise<TestServer> {
  return ending === 'fin' ? rawFinServer(pki, idleMs) : listenWith(ending, pki, idleMs);
}
