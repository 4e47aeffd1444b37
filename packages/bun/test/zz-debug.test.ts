import { appendFileSync } from 'node:fs';
import { expect, test } from 'bun:test';
import { connect, listen, type SecureServer } from '../src/index.ts';
import { checkEveryTest, NodePeer, pki } from './support.ts';

checkEveryTest();
const LOG = process.env.PEER_LOG!;
const T0 = Date.now();
const log = (what: string, extra?: unknown) =>
  appendFileSync(LOG, `test +${Date.now() - T0}ms ${what} ${extra === undefined ? '' : JSON.stringify(extra)}\n`);

async function accepted(server: SecureServer) {
  const next = await server[Symbol.asyncIterator]().next();
  if (next.done) throw new Error('closed');
  return next.value;
}

test('debug close() stops accepting', async () => {
  const server = await listen({ ...(await pki()).server });
  log('listening', server.address);
  const client = await NodePeer.start({ role: 'client', port: server.address.port, onEnd: [{ op: 'end' }] });
  log('peer ready');
  const socket = await accepted(server);
  const session = await socket.opened;
  log('accepted', { local: session.localAddress, remote: session.remoteAddress });
  await server.close();
  log('server closed');
  const refused = connect({ hostname: 'localhost', port: server.address.port, ca: (await pki()).ca, handshakeTimeoutMs: 1000 });
  await expect(refused).rejects.toMatchObject({ code: 'ERR_CONNECT_REFUSED' });
  log('refused');
  await socket.write('after the listener closed');
  log('written');
  await socket.shutdown('write');
  log('shutdown');
  const timer = setTimeout(() => {
    log('HANG ss', Bun.spawnSync(['ss', '-tanpoi']).stdout.toString());
  }, 2500);
  expect((await client.event('tlsEnd')).bytes).toBe(25);
  clearTimeout(timer);
  log('tlsEnd');
  await socket.closed;
  log('closed');
});
