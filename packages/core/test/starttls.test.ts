import { describe, expect, it } from 'vitest';
import {
  beginsHandshakeRecord,
  type ConnectOptions,
  connectWith,
  type OpenContext,
  type ShutdownableSecureSocket,
  type TlsHandoff,
  upgradeRefusal,
} from '../src/index.ts';
import { FULL_CAPABILITIES, MemoryPeer, SESSION } from './memory-peer.ts';

const STARTTLS_CAPABILITIES = { ...FULL_CAPABILITIES, startTls: true };

interface PlainOpened {
  plain: ShutdownableSecureSocket;
  /** The plaintext connection's peer. */
  peer: MemoryPeer;
  /** The peer after the upgrade, and what core handed the adapter. */
  upgrades: Array<{ peer: MemoryPeer; handoff: TlsHandoff; context: OpenContext }>;
}

/** A plaintext socket over a MemoryPeer whose upgrade resolves at once (or never, with `stall`). */
async function openPlaintext(options: Partial<ConnectOptions> = {}, stall = false): Promise<PlainOpened> {
  const peer = new MemoryPeer();
  const upgrades: PlainOpened['upgrades'] = [];
  const plain = await connectWith(
    { hostname: 'localhost', port: 25, secureTransport: 'starttls', ...options },
    STARTTLS_CAPABILITIES,
    async (context) => {
      peer.sink = context.sink;
      return {
        transport: peer.transport,
        session: { ...SESSION, protocol: null, cipher: null },
        upgrade: async (upgradeContext, handoff) => {
          const secure = new MemoryPeer();
          secure.sink = upgradeContext.sink;
          upgrades.push({ peer: secure, handoff, context: upgradeContext });
          if (stall) await new Promise<never>(() => {});
          return { transport: secure.transport, session: SESSION };
        },
      };
    },
  );
  return { plain, peer, upgrades };
}

describe('the plaintext socket', () => {
  it('is open as plain TCP: no close_notify on shutdown, a FIN is a clean end', async () => {
    const { plain, peer } = await openPlaintext();
    expect(plain.state).toBe('plaintext');
    await plain.write('QUIT\r\n');
    await plain.shutdown('write');
    expect(plain.state).toBe('writeShut');
    peer.eofWithoutCloseNotify();
    expect(await plain.read()).toBeNull();
    const report = await plain.closed;
    expect(report).toMatchObject({
      closeNotifySent: false,
      closeNotifyReceived: false,
      truncated: false,
      bytesWritten: 6,
    });
    expect(report.error).toBeUndefined();
  });

  it('answers the peer FIN with its own (allowHalfOpen false)', async () => {
    const { plain, peer } = await openPlaintext();
    peer.eofWithoutCloseNotify();
    expect(await plain.read()).toBeNull();
    await plain.closed;
    // The memory transport logs every shutdownWrite() as close_notify + FIN; a plaintext one sends the FIN only.
    expect(peer.kinds()).toEqual(['close_notify', 'fin']);
  });
});

describe('startTls()', () => {
  it('detaches the plaintext socket and hands over a secure one', async () => {
    const { plain, upgrades } = await openPlaintext({ servername: 'mail.example' });
    const pending = plain.read();
    const upgrading = plain.startTls({ alpn: ['smtp'] });
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SOCKET_DETACHED' });
    const secure = await upgrading;
    expect(secure.state).toBe('open');
    expect(plain.state).toBe('closed');
    expect(upgrades[0]!.handoff.options).toMatchObject({ servername: 'mail.example', alpn: ['smtp'] });
    expect(upgrades[0]!.handoff.received).toBeUndefined();
    await expect(plain.write('x')).rejects.toMatchObject({ code: 'ERR_SOCKET_DETACHED' });
    await expect(plain.shutdown('both')).rejects.toMatchObject({ code: 'ERR_SOCKET_DETACHED' });
    await expect(plain.startTls()).rejects.toMatchObject({ code: 'ERR_SOCKET_DETACHED' });
    expect(await plain.close()).toMatchObject({ upgraded: true, initiator: 'local' });
    await expect(secure.startTls()).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    secure.abort();
  });

  it('flushes accepted writes first, and bounds that by handshakeTimeoutMs', async () => {
    const { plain, peer, upgrades } = await openPlaintext();
    peer.pushBack = true;
    void plain.write('STARTTLS\r\n');
    void plain.write('more');
    const upgrading = plain.startTls({ handshakeTimeoutMs: 50 });
    await expect(upgrading).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT' });
    expect(upgrades).toHaveLength(0);
    expect(peer.kinds()).toContain('rst');
    expect((await plain.closed).error?.code).toBe('ERR_HANDSHAKE_TIMEOUT');
  });

  it('times the handshake out', async () => {
    const { plain, upgrades } = await openPlaintext({}, true);
    await expect(plain.startTls({ handshakeTimeoutMs: 30 })).rejects.toMatchObject({
      code: 'ERR_HANDSHAKE_TIMEOUT',
      phase: 'handshake',
    });
    expect(upgrades[0]!.context.signal.aborted).toBe(true);
  });

  it('refuses unread plaintext on a client, and resets the connection', async () => {
    const { plain, peer, upgrades } = await openPlaintext();
    peer.send('220 go ahead\r\n');
    peer.send('INJECTED');
    expect(new TextDecoder().decode((await plain.read())!)).toBe('220 go ahead\r\n');
    await expect(plain.startTls()).rejects.toMatchObject({ code: 'ERR_STARTTLS_REFUSED' });
    expect(upgrades).toHaveLength(0);
    expect(peer.kinds()).toEqual(['rst']);
    expect(await plain.closed).toMatchObject({ bytesDiscarded: 8, bytesRead: 14 });
  });

  it('checks options before detaching', async () => {
    const { plain } = await openPlaintext();
    await expect(plain.startTls({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    await expect(plain.startTls({ port: 1 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect(plain.state).toBe('plaintext');
    plain.abort();
  });
});

describe('the injection rule', () => {
  const hello = Uint8Array.of(22, 3, 1, 0, 200, 1);
  it('lets a server pass on the start of a TLS handshake record, and nothing else', () => {
    expect(beginsHandshakeRecord(hello)).toBe(true);
    expect(beginsHandshakeRecord(Uint8Array.of(22))).toBe(true);
    expect(beginsHandshakeRecord(Uint8Array.of(23, 3, 3))).toBe(false);
    expect(beginsHandshakeRecord(Uint8Array.of(22, 2, 0))).toBe(false);
    expect(beginsHandshakeRecord(new TextEncoder().encode('RSET\r\n'))).toBe(false);
    expect(upgradeRefusal('server', hello)).toBeUndefined();
    expect(upgradeRefusal('server', undefined)).toBeUndefined();
    expect(upgradeRefusal('server', new TextEncoder().encode('RSET\r\n'))?.code).toBe('ERR_STARTTLS_REFUSED');
  });

  it('refuses anything unread on a client, a ClientHello-like prefix included', () => {
    expect(upgradeRefusal('client', undefined)).toBeUndefined();
    expect(upgradeRefusal('client', hello)?.code).toBe('ERR_STARTTLS_REFUSED');
  });
});
