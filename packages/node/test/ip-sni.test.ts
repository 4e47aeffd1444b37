/**
 * Node prints a process-wide DeprecationWarning (DEP0123) the first time a TLS servername is an IP
 * address, once per process: this file runs alone in its vitest worker process, so a warning from
 * another test cannot have used up that one warning before this test looks for it. (What is sent and
 * verified is the conformance case `connect.ip-no-sni`.)
 */
import { ensurePki, type Pki } from '@closenotify/test-pki';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, listen } from '../src/index.ts';

let pki: Pki;
beforeAll(async () => {
  pki = await ensurePki();
});

const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);

afterEach(() => {
  process.off('warning', onWarning);
});

describe('an IP address as the TLS name', () => {
  it('connects without a process warning, for hostname and servername alike', async () => {
    process.on('warning', onWarning);
    const server = await listen({ ...pki.server });
    try {
      for (const options of [{ hostname: '127.0.0.1' }, { hostname: 'localhost', servername: '127.0.0.1' }]) {
        const socket = await connect({ ...options, port: server.address.port, ca: pki.ca });
        await socket.close({ timeoutMs: 0 });
      }
    } finally {
      await server.close();
    }
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((warning) => `${warning.name}: ${warning.message}`)).toEqual([]);
  });
});
