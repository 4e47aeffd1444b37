import { type ConnectOptions, connect, SHUT_WR } from 'closenotify'; // @closenotify/node, /bun or /deno

/**
 * One HTTP/1.1 GET over TLS. `ca`: the only trust anchors to use. Deno can only add them to its
 * default store, so there connect() refuses `ca` unless `caAddsToDefaultTrust: true` accepts that.
 */
type Server = Pick<ConnectOptions, 'hostname' | 'port' | 'ca' | 'caAddsToDefaultTrust'>;

export async function get(server: Server, path = '/') {
  const socket = await connect({ ...server, alpn: ['http/1.1'] });
  await socket.write(`GET ${path} HTTP/1.1\r\nHost: ${server.hostname}\r\nConnection: close\r\n\r\n`);
  await socket.shutdown(SHUT_WR); // close_notify + FIN, after every byte write() accepted

  let response = '';
  const decoder = new TextDecoder();
  // Ends at the server's close_notify. A server that hangs up without one (a bare FIN, a crash mid-
  // record) makes the loop throw ERR_TLS_TRUNCATED, on every runtime (or, with truncation: 'ignore',
  // ends it with report.truncated === true).
  for await (const chunk of socket.readable) response += decoder.decode(chunk, { stream: true });

  const report = await socket.closed; // never rejects: closeNotifyReceived, truncated, bytesRead, ...
  return { response, report };
}

// const { response, report } = await get({ hostname: 'example.com', port: 443 });
