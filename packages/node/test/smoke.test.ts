import { createServer, type TLSSocket } from 'node:tls';
import { ensurePki, type Pki } from '@closenotify/test-pki';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect, listen, type ShutdownableSecureSocket } from '../src/index.ts';

let pki: Pki;
// On a fresh clone this generates the test PKI while other packages' tests load the cores (the
// preset's two-minute hook limit is the CPU budget).
beforeAll(async () => {
  pki = await ensurePki();
});

async function readText(socket: ShutdownableSecureSocket): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of socket.readable) text += decoder.decode(chunk, { stream: true });
  return text;
}

describe('@closenotify/node over loopback', () => {
  it('half-closes, reads the full response, and reports both close_notify directions', async () => {
    const server = createServer({ ...pki.server, allowHalfOpen: true }, (peer: TLSSocket) => {
      let request = '';
      peer.on('data', (d) => {
        request += d;
      });
      peer.on('end', () => peer.end(`echo:${request}`));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const socket = await connect({ hostname: 'localhost', port, ca: pki.ca });
    const session = await socket.opened;
    expect(session.protocol).toBe('TLSv1.3');
    expect(session.authorized).toBe(true);
    await socket.write('ping');
    await socket.shutdown('write');
    expect(await readText(socket)).toBe('echo:ping');
    const report = await socket.closed;
    expect(report).toMatchObject({
      initiator: 'local',
      closeNotifySent: true,
      closeNotifyReceived: true,
      truncated: false,
    });
    server.close();
  });

  it('our listen() serves our connect()', async () => {
    const server = await listen({ ...pki.server, allowHalfOpen: true }, async (socket) => {
      const text = await readText(socket);
      await socket.write(text.toUpperCase());
      await socket.shutdown('write');
    });
    const socket = await connect({ hostname: 'localhost', port: server.address.port, ca: pki.ca });
    await socket.write('hello');
    await socket.shutdown('write');
    expect(await readText(socket)).toBe('HELLO');
    await socket.closed;
    await server.close();
  });

  it('maps an untrusted certificate to ERR_TLS_CERT_UNTRUSTED', async () => {
    const server = await listen({ ...pki.selfSigned });
    await expect(
      connect({ hostname: 'localhost', port: server.address.port, ca: pki.ca }),
    ).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_UNTRUSTED',
      phase: 'handshake',
    });
    await server.close();
  });
});
