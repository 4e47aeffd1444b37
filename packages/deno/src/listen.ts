import {
  type AcceptConnection,
  type Listener,
  type ListenOptions,
  listenWith,
  type NetAddress,
  type ResolvedListenOptions,
  type SecureServer,
  type SocketHandler,
} from '@closenotify/core';
import { capabilities } from './capabilities.ts';
import { closeIfOpen, fromDenoError, fromListenError, hasDenoRuntime, runtimeUnsupported } from './errors.ts';
import type { PeerIdentity } from './session.ts';
import { establishDenoTransport } from './socket.ts';
import { startPlaintextListener } from './starttls/server.ts';

/** Deno.listenTls neither requests nor verifies client certificates, and does not expose the client's SNI. */
const CLIENT_PEER: PeerIdentity = { servername: null, authorized: false };

/**
 * A failing accept (EMFILE) fails again at once: under `ulimit -n 40` and 60 clients, 94,686
 * failures in 3 s of busy looping. So the loop waits as Go's net/http does, 5 ms doubling up to 1 s
 * until an accept succeeds: 26 failures in the same 3 s, and accepting resumes once fds are free.
 */
const FIRST_ACCEPT_RETRY_MS = 5;
const MAX_ACCEPT_RETRY_MS = 1000;

/**
 * Listens for TLS connections. Each one is handed over (to `onSocket`, or through
 * `for await (const socket of server)`) once its handshake is done; with `secureTransport: 'starttls'`,
 * at once, as a plaintext socket whose startTls() runs the handshake (starttls/server.ts).
 */
export function listen(options: ListenOptions, onSocket?: SocketHandler): Promise<SecureServer> {
  if (!hasDenoRuntime()) return Promise.reject(runtimeUnsupported());
  return listenWith(options, capabilities, startListener, onSocket);
}

async function startListener(accept: AcceptConnection, options: ResolvedListenOptions): Promise<Listener> {
  if (options.secureTransport === 'starttls') return startPlaintextListener(accept, options);
  let listener: Deno.TlsListener;
  try {
    listener = Deno.listenTls({
      hostname: options.hostname,
      port: options.port,
      cert: options.cert,
      key: options.key,
      alpnProtocols: options.alpn,
    });
  } catch (error) {
    throw fromListenError(error);
  }
  return new DenoListener(listener, accept);
}

class DenoListener implements Listener {
  readonly address: NetAddress;
  readonly #listener: Deno.TlsListener;
  readonly #accepting: Promise<void>;
  #closing = false;
  /** Ends the wait before the next accept, when one is pending. */
  #stopWaiting: (() => void) | undefined;

  constructor(listener: Deno.TlsListener, accept: AcceptConnection) {
    this.#listener = listener;
    this.address = { hostname: listener.addr.hostname, port: listener.addr.port };
    this.#accepting = this.#acceptEach(accept);
  }

  async close(): Promise<void> {
    this.#closing = true;
    closeIfOpen(this.#listener);
    this.#stopWaiting?.();
    await this.#accepting;
  }

  /** accept() resolves before the handshake: each connection's handshake runs inside core's open(). */
  async #acceptEach(accept: AcceptConnection): Promise<void> {
    let retryMs = 0;
    for (;;) {
      let conn: Deno.TlsConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        // Our own close() rejects the pending accept with BadResource ("Listener has been closed").
        if (this.#closing && isClosedByUs(error)) return;
        // Anything else (a connection aborted before accept, no file descriptor left): core reports
        // it through onHandshakeError, and accepting goes on after a pause.
        const failure = fromDenoError(error, 'connect');
        accept({ open: () => Promise.reject(failure), refuse: () => {} });
        retryMs = Math.min(retryMs === 0 ? FIRST_ACCEPT_RETRY_MS : retryMs * 2, MAX_ACCEPT_RETRY_MS);
        await this.#wait(retryMs);
        continue;
      }
      retryMs = 0;
      accept({
        open: (context) => establishDenoTransport(conn, context, CLIENT_PEER),
        // Deno has no RST and no way to stop the handshake it already started: see dropDuringHandshake.
        refuse: () => closeIfOpen(conn),
      });
    }
  }

  /** A pause that close() ends early, so that no timer outlives the listener. */
  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#stopWaiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function isClosedByUs(error: unknown): boolean {
  return error instanceof Error && (error.name === 'BadResource' || error.name === 'Interrupted');
}
