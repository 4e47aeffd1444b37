import { type ConnectOptions, connect, type ShutdownableSecureSocket } from 'closenotify';

type Server = Pick<ConnectOptions, 'hostname' | 'port' | 'ca' | 'caAddsToDefaultTrust'>;

/** One SMTP reply, all of its lines: the last one has a space after its code ("250 ok"). */
async function reply(socket: ShutdownableSecureSocket): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  while (!/(^|\n)\d{3} [^\n]*\r\n$/.test(text)) {
    const chunk = await socket.read();
    if (chunk === null) throw new Error(`the server hung up after ${JSON.stringify(text)}`);
    text += decoder.decode(chunk, { stream: true });
  }
  return text;
}

/** SMTP up to STARTTLS in plain TCP, then the session again over verified TLS. */
export async function helloOverTls(server: Server) {
  const plain = await connect({ ...server, secureTransport: 'starttls' });
  await reply(plain); // 220 greeting
  await plain.write('EHLO client.example\r\n');
  if (!(await reply(plain)).includes('STARTTLS')) throw new Error('the server offers no STARTTLS');
  await plain.write('STARTTLS\r\n');
  await reply(plain); // 220: plaintext sent after it, unread, would refuse the upgrade (ERR_STARTTLS_REFUSED)
  const socket = await plain.startTls(); // verified like connect(); `plain` is detached from here on

  await socket.write('EHLO client.example\r\n'); // SMTP starts over after the upgrade
  const capabilities = await reply(socket);
  await socket.write('QUIT\r\n');
  const bye = await reply(socket);
  const report = await socket.close(); // close_notify both ways, bounded by closeTimeoutMs
  return { capabilities, bye, report };
}
