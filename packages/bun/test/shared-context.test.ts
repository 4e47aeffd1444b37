import { describe, expect, test } from 'bun:test';
import { constants } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { checkEveryTest, pki } from './support.ts';

checkEveryTest();

interface Outcome {
  success: boolean;
  authorized: boolean;
  version: string | null;
}

/** A plain connection upgraded with upgradeTLS({ tls: { secureContext } }), as connect() does. */
async function upgradeWith(secureContext: unknown, port: number): Promise<Outcome> {
  const { promise, resolve } = Promise.withResolvers<Outcome>();
  const tcp = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } });
  const [, tls] = tcp.upgradeTLS({
    tls: { secureContext, serverName: 'localhost' } as Parameters<typeof tcp.upgradeTLS>[0]['tls'],
    socket: {
      handshake(socket, success) {
        resolve({ success, authorized: socket.authorized, version: socket.getTLSVersion() });
      },
      data() {},
    },
  });
  const outcome = await promise;
  tls.terminate();
  return outcome;
}

describe('the shared client TLS context relies on Bun 1.4.5 (fails on a Bun that changed it)', () => {
  test("upgradeTLS takes a node:tls SecureContext's native context, with its trust and version bits", async () => {
    const { server: credential, ca, otherCa } = await pki();
    const listener = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      tls: { cert: credential.cert, key: credential.key },
      socket: { data() {} },
    });
    const nativeOf = (options: Parameters<typeof createSecureContext>[0]): unknown =>
      (createSecureContext(options) as unknown as { context: unknown }).context;
    expect(typeof nativeOf({ ca })).toBe('object');
    expect(await upgradeWith(nativeOf({ ca }), listener.port)).toEqual({
      success: true,
      authorized: true,
      version: 'TLSv1.3',
    });
    expect(await upgradeWith(nativeOf({ ca: otherCa }), listener.port)).toMatchObject({
      success: false,
      authorized: false,
    });
    expect(
      await upgradeWith(nativeOf({ ca, secureOptions: constants.SSL_OP_NO_TLSv1_3 }), listener.port),
    ).toEqual({ success: true, authorized: true, version: 'TLSv1.2' });
    listener.stop(true);
  });
});
