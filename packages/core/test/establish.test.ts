import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AcceptConnection,
  assertListenSupported,
  connectWith,
  listenWith,
  liveResources,
  type OpenContext,
  type OpenTransport,
  resolveListenOptions,
  SecureSocketError,
  type ShutdownableSecureSocket,
} from '../src/index.ts';
import { FULL_CAPABILITIES, MemoryPeer, SESSION } from './memory-peer.ts';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

afterEach(() => {
  vi.useRealTimers();
});

describe('connectWith', () => {
  it('times out a silent server with ERR_HANDSHAKE_TIMEOUT and frees the late transport', async () => {
    vi.useFakeTimers();
    const peer = new MemoryPeer();
    let finishHandshake!: () => void;
    let adapterSignal!: AbortSignal;
    const connecting = connectWith(
      { hostname: 'h', port: 1, handshakeTimeoutMs: 500 },
      FULL_CAPABILITIES,
      (ctx) => {
        adapterSignal = ctx.signal;
        ctx.connected();
        return new Promise((resolve) => {
          finishHandshake = () => resolve({ transport: peer.transport, session: SESSION });
        });
      },
    );
    const outcome = connecting.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(500);
    const error = (await outcome) as SecureSocketError;
    expect(error).toBeInstanceOf(SecureSocketError);
    expect(error).toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT', phase: 'handshake' });
    expect(adapterSignal.aborted).toBe(true);
    finishHandshake();
    await vi.advanceTimersByTimeAsync(0);
    expect(peer.kinds()).toEqual(['rst']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times out a TCP connect that never completes with ERR_CONNECT_TIMEOUT', async () => {
    vi.useFakeTimers();
    const connecting = connectWith(
      { hostname: 'h', port: 1, handshakeTimeoutMs: 100 },
      FULL_CAPABILITIES,
      () => new Promise(() => {}),
    ).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    expect(await connecting).toMatchObject({ code: 'ERR_CONNECT_TIMEOUT', phase: 'connect' });
  });

  it('aborts through the caller signal, before and during the handshake', async () => {
    const before = new AbortController();
    before.abort(new Error('never mind'));
    let opened = false;
    await expect(
      connectWith({ hostname: 'h', port: 1, signal: before.signal }, FULL_CAPABILITIES, async () => {
        opened = true;
        throw new Error('unreachable');
      }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(opened).toBe(false);

    const during = new AbortController();
    const connecting = connectWith(
      { hostname: 'h', port: 1, signal: during.signal },
      FULL_CAPABILITIES,
      (ctx) => {
        ctx.connected();
        return new Promise(() => {});
      },
    );
    during.abort();
    await expect(connecting).rejects.toMatchObject({ code: 'ERR_ABORTED', phase: 'handshake' });
  });

  it('the signal aborts an open socket too, and its listener is removed at the end', async () => {
    const controller = new AbortController();
    const peer = new MemoryPeer();
    const socket = await connectWith(
      { hostname: 'h', port: 1, signal: controller.signal },
      FULL_CAPABILITIES,
      async (ctx: OpenContext) => {
        peer.sink = ctx.sink;
        return { transport: peer.transport, session: SESSION };
      },
    );
    expect(await socket.opened).toEqual(SESSION);
    controller.abort();
    expect(socket.state).toBe('closed');
    expect(peer.kinds()).toEqual(['rst']);
  });

  it('passes the adapter error through and maps anything else to a SecureSocketError', async () => {
    const refused = new SecureSocketError('ERR_CONNECT_REFUSED', 'refused', { phase: 'connect' });
    await expect(
      connectWith({ hostname: 'h', port: 1 }, FULL_CAPABILITIES, async () => {
        throw refused;
      }),
    ).rejects.toBe(refused);
    await expect(
      connectWith({ hostname: 'h', port: 1 }, FULL_CAPABILITIES, () => {
        throw new TypeError('adapter bug');
      }),
    ).rejects.toBeInstanceOf(SecureSocketError);
  });

  it('refuses options the runtime cannot honour with ERR_UNSUPPORTED', async () => {
    const limited = { ...FULL_CAPABILITIES, keepAliveInitialDelay: false, disableVerification: false };
    const never = async (): Promise<never> => {
      throw new Error('must not open');
    };
    await expect(
      connectWith({ hostname: 'h', port: 1, keepAlive: { initialDelayMs: 1000 } }, limited, never),
    ).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    await expect(
      connectWith({ hostname: 'h', port: 1, dangerouslyDisableVerification: true }, limited, never),
    ).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    await expect(
      connectWith({ hostname: 'h', port: 1, secureTransport: 'starttls' }, limited, never),
    ).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    await expect(connectWith({ hostname: 'h', port: 0 }, limited, never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });

  it('refuses socket options a certificate-presenting client or a server cannot have, never their defaults', async () => {
    const limited = {
      ...FULL_CAPABILITIES,
      clientCertificateSocketOptions: false,
      serverNoDelay: false,
      serverKeepAlive: false,
    };
    const never = async (): Promise<never> => {
      throw new Error('must not open');
    };
    const withCertificate = { hostname: 'h', port: 1, cert: CERT, key: KEY };
    for (const extra of [{ keepAlive: true }, { noDelay: true }]) {
      await expect(connectWith({ ...withCertificate, ...extra }, limited, never)).rejects.toMatchObject({
        code: 'ERR_UNSUPPORTED',
      });
    }
    for (const extra of [{}, { noDelay: false }]) {
      await expect(connectWith({ ...withCertificate, ...extra }, limited, never)).rejects.toThrow(
        'must not open',
      );
    }
    const listenOptions = (extra: object) =>
      resolveListenOptions({ port: 0, cert: CERT, key: KEY, ...extra });
    for (const extra of [{ keepAlive: true }, { noDelay: true }]) {
      expect(() => assertListenSupported(listenOptions(extra), limited)).toThrow(
        expect.objectContaining({ code: 'ERR_UNSUPPORTED' }),
      );
    }
    for (const extra of [{}, { noDelay: false }]) {
      expect(() => assertListenSupported(listenOptions(extra), limited)).not.toThrow();
    }
  });

  it('a peer end that arrives before core attached the transport is applied after the handshake', async () => {
    const peer = new MemoryPeer();
    const socket = await connectWith(
      { hostname: 'h', port: 1, allowHalfOpen: true },
      FULL_CAPABILITIES,
      async (ctx) => {
        peer.sink = ctx.sink;
        ctx.connected();
        // The adapter's read loop already runs: data and the peer's close_notify come in first.
        ctx.sink.data(new TextEncoder().encode('early'));
        ctx.sink.end(true);
        return { transport: peer.transport, session: SESSION };
      },
    );
    expect(new TextDecoder().decode((await socket.read())!)).toBe('early');
    expect(await socket.read()).toBeNull();
    expect(socket.state).toBe('readShut');
    await socket.shutdown('write');
    expect(await socket.closed).toMatchObject({ initiator: 'peer', closeNotifyReceived: true });
  });

  it('a failed connect leaves no live socket', async () => {
    const before = liveResources().sockets;
    await connectWith({ hostname: 'h', port: 1 }, FULL_CAPABILITIES, async () => {
      throw new SecureSocketError('ERR_TLS_CERT_UNTRUSTED', 'untrusted', { phase: 'handshake' });
    }).catch(() => {});
    expect(liveResources().sockets).toBe(before);
  });
});

describe('listenWith', () => {
  function memoryListener() {
    let accept!: AcceptConnection;
    let closed = false;
    let refused = 0;
    const start = async (incoming: AcceptConnection) => {
      accept = incoming;
      return {
        address: { hostname: '127.0.0.1', port: 4433 },
        close: async () => {
          closed = true;
        },
      };
    };
    const connectPeer = (): MemoryPeer => {
      const peer = new MemoryPeer();
      accept({
        open: async (ctx) => {
          peer.sink = ctx.sink;
          return { transport: peer.transport, session: SESSION };
        },
        refuse: () => {
          refused += 1;
        },
      });
      return peer;
    };
    return {
      start,
      connectPeer,
      isClosed: () => closed,
      refused: () => refused,
      accept: (open: OpenTransport) => accept({ open, refuse: () => {} }),
    };
  }

  it('hands verified sockets to the callback', async () => {
    const listener = memoryListener();
    const sockets: ShutdownableSecureSocket[] = [];
    const server = await listenWith({ cert: CERT, key: KEY }, FULL_CAPABILITIES, listener.start, (s) => {
      sockets.push(s);
    });
    expect(server.address).toEqual({ hostname: '127.0.0.1', port: 4433 });
    const peer = listener.connectPeer();
    await vi.waitFor(() => expect(sockets).toHaveLength(1));
    expect(sockets[0]!.state).toBe('open');
    peer.closeNotify();
    await sockets[0]!.closed;
    await server.close();
    expect(listener.isClosed()).toBe(true);
    await server.closed;
  });

  it('serves an async iterator that ends when the server closes', async () => {
    const listener = memoryListener();
    const server = await listenWith({ cert: CERT, key: KEY }, FULL_CAPABILITIES, listener.start);
    listener.connectPeer();
    const iterator = server[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    (first.value as ShutdownableSecureSocket).abort();
    const next = iterator.next();
    await server.close();
    expect((await next).done).toBe(true);
  });

  it('reports handshake failures, times them out, and aborts them when the server closes', async () => {
    const listener = memoryListener();
    const errors: string[] = [];
    const server = await listenWith(
      { cert: CERT, key: KEY, handshakeTimeoutMs: 50, onHandshakeError: (e) => errors.push(e.code) },
      FULL_CAPABILITIES,
      listener.start,
    );
    listener.accept(async () => {
      throw new SecureSocketError('ERR_TLS_PROTOCOL', 'garbage', { phase: 'handshake' });
    });
    listener.accept(() => new Promise(() => {}));
    await vi.waitFor(() => expect(errors).toEqual(['ERR_TLS_PROTOCOL', 'ERR_HANDSHAKE_TIMEOUT']));
    listener.accept(() => new Promise(() => {}));
    await server.close();
    await vi.waitFor(() => expect(errors).toHaveLength(3));
    expect(errors[2]).toBe('ERR_ABORTED');
  });

  it('a throwing onSocket aborts that socket and reports ERR_HANDLER_FAILED instead of crashing', async () => {
    const listener = memoryListener();
    const bug = new Error('handler bug');
    const errors: SecureSocketError[] = [];
    const server = await listenWith(
      { cert: CERT, key: KEY, onError: (e) => errors.push(e) },
      FULL_CAPABILITIES,
      listener.start,
      () => {
        throw bug;
      },
    );
    const peer = listener.connectPeer();
    await vi.waitFor(() => expect(peer.kinds()).toEqual(['rst']));
    expect(errors).toMatchObject([{ code: 'ERR_HANDLER_FAILED', phase: 'server', cause: bug }]);
    await server.close();
  });

  it('refuses connections over the caps before any handshake, and reports ERR_SERVER_BUSY', async () => {
    const listener = memoryListener();
    const errors: string[] = [];
    const server = await listenWith(
      {
        cert: CERT,
        key: KEY,
        maxPendingConnections: 2,
        maxConnections: 3,
        onError: (e) => errors.push(e.code),
      },
      FULL_CAPABILITIES,
      listener.start,
    );
    const iterator = server[Symbol.asyncIterator]();
    listener.connectPeer();
    listener.connectPeer();
    await vi.waitFor(() => expect(liveResources().sockets).toBeGreaterThanOrEqual(2));
    listener.connectPeer();
    expect(listener.refused()).toBe(1);
    const first = (await iterator.next()).value as ShutdownableSecureSocket;
    listener.connectPeer();
    expect(listener.refused()).toBe(1);
    listener.connectPeer();
    expect(listener.refused()).toBe(2);
    expect(errors).toEqual(['ERR_SERVER_BUSY', 'ERR_SERVER_BUSY']);
    first.abort();
    await server.close();
  });

  it('a closed connection frees its place under maxConnections', async () => {
    const listener = memoryListener();
    const server = await listenWith(
      { cert: CERT, key: KEY, maxConnections: 1, onError: () => {} },
      FULL_CAPABILITIES,
      listener.start,
    );
    const iterator = server[Symbol.asyncIterator]();
    const first = listener.connectPeer();
    const taken = (await iterator.next()).value as ShutdownableSecureSocket;
    listener.connectPeer();
    expect(listener.refused()).toBe(1);
    first.closeNotify();
    await taken.close();
    listener.connectPeer();
    expect(listener.refused()).toBe(1);
    const second = (await iterator.next()).value as ShutdownableSecureSocket;
    expect(second.state).toBe('open');
    second.abort();
    await server.close();
  });

  it('closes the sockets still queued when the server closes, and refuses connections after', async () => {
    const listener = memoryListener();
    const server = await listenWith({ cert: CERT, key: KEY }, FULL_CAPABILITIES, listener.start);
    const peers = [listener.connectPeer(), listener.connectPeer()];
    await vi.waitFor(() => expect(peers.every((peer) => peer.sink !== undefined)).toBe(true));
    await server.close();
    for (const peer of peers) await vi.waitFor(() => expect(peer.released).toBeGreaterThan(0));
    listener.connectPeer();
    expect(listener.refused()).toBe(1);
  });
});
