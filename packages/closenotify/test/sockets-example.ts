import { connect, type SocketsApiOptions } from 'closenotify/sockets';

/**
 * A request and its reply over the WinterTC Sockets API (the API of Cloudflare's `cloudflare:sockets`).
 * `trust`: the CA to verify the server with (on Deno, with caAddsToDefaultTrust: true).
 */
export async function ask(hostname: string, port: number, trust: SocketsApiOptions = {}) {
  const socket = connect({ hostname, port }, { ...trust, secureTransport: 'on' }); // returns at once

  const writer = socket.writable.getWriter();
  await writer.write('hello\n'); // waits for the handshake, then for the runtime to take the bytes
  await writer.close(); // close_notify + FIN; reading goes on

  let reply = '';
  const decoder = new TextDecoder();
  for await (const chunk of socket.readable) reply += decoder.decode(chunk, { stream: true });
  // Resolves once both sides are done; rejects with ERR_TLS_TRUNCATED if the server hung up
  // without its close_notify, so a cut-off reply is never taken for a whole one.
  await socket.closed;
  return reply;
}
