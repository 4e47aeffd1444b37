/**
 * A minimal SMTP server with STARTTLS on closenotify's own listen({ secureTransport: 'starttls' }):
 * greeting, EHLO, STARTTLS, then NOOP and QUIT over TLS. It ends every connection with close():
 * after QUIT, on the client's close_notify (after replying to what came before it: allowHalfOpen), and
 * after `idleMs` of silence.
 */
import { listen, type ShutdownableSecureSocket } from '@closenotify/node';
import type { TestPki, TestServer } from './http-servers.ts';

const IDLE = Symbol('idle');

/** Reads one CRLF-terminated line (null at the end or after `idleMs` of silence). */
async function lines(
  socket: ShutdownableSecureSocket,
  idleMs: number,
  onLine: (line: string) => Promise<boolean>,
) {
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<typeof IDLE>((resolve) => {
      timer = setTimeout(() => resolve(IDLE), idleMs);
    });
    const reading = socket.read();
    reading.catch(() => {});
    const chunk = await Promise.race([reading, idle]).finally(() => clearTimeout(timer));
    if (chunk === IDLE || chunk === null) return;
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!(await onLine(line))) return;
    }
  }
}

async function session(plain: ShutdownableSecureSocket, idleMs: number): Promise<void> {
  await plain.write('220 probe-test ESMTP\r\n');
  let upgrade = false;
  await lines(plain, idleMs, async (line) => {
    const verb = line.split(' ')[0]!.toUpperCase();
    if (verb === 'EHLO') await plain.write('250-probe-test\r\n250 STARTTLS\r\n');
    else if (verb === 'STARTTLS') {
      await plain.write('220 go ahead\r\n');
      upgrade = true;
      return false;
    } else await plain.write('502 not here\r\n');
    return true;
  });
  if (!upgrade) return void (await plain.close());
  const secure = await plain.startTls();
  await lines(secure, idleMs, async (line) => {
    const verb = line.split(' ')[0]!.toUpperCase();
    if (verb === 'QUIT') {
      await secure.write('221 bye\r\n');
      return false;
    }
    await secure.write(verb === 'NOOP' || verb === 'EHLO' ? '250 ok\r\n' : '502 not here\r\n');
    return true;
  });
  await secure.close();
}

export async function startSmtpServer(pki: TestPki, idleMs: number): Promise<TestServer> {
  const server = await listen(
    { cert: pki.cert, key: pki.key, secureTransport: 'starttls', allowHalfOpen: true },
    (plain) => session(plain, idleMs).catch(() => plain.abort()),
  );
  return { port: server.address.port, stop: () => server.close() };
}
