// The one TLS peer of every benchmark: a Node TLS server process, the same for raw and adapter runs.
//   node node-server.mjs '{"mode":"send"|"sink"|"echo","bytes":N,"pkiDir":"..."}'
// send: writes `bytes` of the stream pattern to each client in 64 KiB writes, then close_notify.
// sink: reads each client's stream to its close_notify, then answers one JSON line
//       {"bytes","mismatches"} and its own close_notify.
// echo: echoes everything; answers the client's close_notify with its own at once.
// tls.Server builds one SecureContext from the credentials and shares it by every connection.
// Prints {"port"} once listening on 127.0.0.1. Exits when its stdin closes, so it never outlives
// the orchestrator, which also ends it by pid.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { PatternCheck, patternAt, WRITE_BYTES } from '../clients/shared/stream-pattern.mjs';

/** @type {{ mode: 'send' | 'sink' | 'echo', bytes?: number, pkiDir: string }} */
const { mode, bytes = 0, pkiDir } = JSON.parse(process.argv[2] ?? '{}');
const credentials = {
  cert: readFileSync(join(pkiDir, 'server.pem')),
  key: readFileSync(join(pkiDir, 'server-key.pem')),
};

/** @type {Record<string, (socket: import('node:tls').TLSSocket) => void>} */
const handlers = {
  send(socket) {
    let offset = 0;
    const pump = () => {
      while (offset < bytes) {
        const length = Math.min(WRITE_BYTES, bytes - offset);
        const chunk = patternAt(offset, length);
        offset += length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  },
  sink(socket) {
    const check = new PatternCheck();
    socket.on('data', (/** @type {Buffer} */ chunk) => check.add(chunk));
    socket.on('end', () => {
      socket.end(`${JSON.stringify({ bytes: check.bytes, mismatches: check.mismatches })}\n`);
    });
  },
  echo(socket) {
    socket.on('data', (/** @type {Buffer} */ chunk) => socket.write(chunk));
    socket.on('end', () => socket.end());
  },
};

const handle = handlers[mode];
if (!handle) {
  console.error(`node-server: unknown mode ${mode}`);
  process.exit(2);
}

let failures = 0;
const server = createServer({ ...credentials, allowHalfOpen: true }, (socket) => {
  socket.setNoDelay(true);
  // A client that resets (abort, a killed process) must not take the server down.
  socket.on('error', () => failures++);
  handle(socket);
});
server.on('tlsClientError', () => failures++);
server.listen(0, '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(JSON.stringify({ port }));
});

process.stdin.resume();
process.stdin.on('end', () => {
  if (failures > 0) console.error(`node-server: ${failures} connection errors`);
  process.exit(0);
});
