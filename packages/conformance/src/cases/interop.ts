/**
 * Client cases against real third-party servers: OpenSSL's `s_server -rev` (echoes each line
 * reversed) and GnuTLS's `gnutls-serv --echo`. Where neither is installed the entries are reported
 * "not run" (a failure in CI, where .ci/run installs both).
 */
import { check, equal, readBytes, readToEnd, rejectsWith } from '../assert.ts';
import type { ConformanceCase } from '../case.ts';
import type { ExternalProgram } from '../peer-client.ts';

const REPLY: Record<ExternalProgram, string> = { openssl: 'olleh\n', gnutls: 'hello\n' };
const NAME: Record<ExternalProgram, string> = { openssl: 'OpenSSL s_server', gnutls: 'GnuTLS gnutls-serv' };

function interop(program: ExternalProgram): ConformanceCase[] {
  const name = NAME[program];
  return [
    {
      id: `interop.${program}.handshake`,
      requirement: `connect() to ${name} verifies it and negotiates the forced version`,
      source: `interop with ${name}`,
      tls: 'each',
      async run(ctx) {
        const server = await ctx.external({ program });
        const socket = await ctx.connect(server);
        const { protocol } = await socket.opened;
        equal(protocol, ctx.adapter.capabilities.sessionInfo.protocol ? ctx.tls : null, 'protocol');
        socket.abort();
      },
    },
    {
      id: `interop.${program}.half-close`,
      requirement: `${name} answers a request sent before our shutdown('write') and ends its stream with close_notify`,
      source: `RFC 8446 §6.1; interop with ${name}`,
      tls: 'each',
      requires: ['halfClose'],
      async run(ctx) {
        const server = await ctx.external({ program });
        const socket = await ctx.connect(server, { allowHalfOpen: true });
        await socket.write('hello\n');
        await socket.shutdown('write');
        equal((await readToEnd(socket)).text, REPLY[program], 'the reply read after our half-close');
        const report = await socket.closed;
        equal(report.closeNotifySent, true, 'closeNotifySent');
        equal(
          report.closeNotifyReceived,
          ctx.adapter.capabilities.truncationDetection ? true : null,
          `closeNotifyReceived from ${name}`,
        );
      },
    },
    {
      id: `interop.${program}.close`,
      requirement: `close() completes against ${name} without hitting its timeout`,
      source: `spec §3 close(); interop with ${name}`,
      tls: 'any',
      async run(ctx) {
        const server = await ctx.external({ program });
        const socket = await ctx.connect(server);
        await socket.write('ping\n');
        await socket.read();
        const report = await socket.close({ timeoutMs: 5000 });
        equal(report.initiator, 'local', 'initiator');
        equal(report.closeNotifySent, true, 'closeNotifySent');
      },
    },
    {
      id: `interop.${program}.untrusted`,
      requirement: `a self-signed certificate from ${name} fails with ERR_TLS_CERT_UNTRUSTED`,
      source: `RFC 5280 §6; interop with ${name}`,
      tls: 'any',
      async run(ctx) {
        const server = await ctx.external({ program, certificate: 'selfSigned' });
        await rejectsWith(ctx.connect(server), 'ERR_TLS_CERT_UNTRUSTED', 'connect');
      },
    },
  ];
}

/** What the killed server streams: digits, never one of s_server's command letters. */
const STREAMED = '0123456789'.repeat(6).concat('\n').repeat(4096);

const killedMidStream: ConformanceCase = {
  id: 'interop.openssl.killed-mid-stream',
  requirement: 'OpenSSL s_server killed (SIGKILL) while it streams: the read fails with ERR_TLS_TRUNCATED',
  source: 'RFC 8446 §6.1; a crashed server looks like a clean end to a reader that ignores close_notify',
  tls: 'each',
  requires: ['truncationDetection'],
  async run(ctx) {
    const server = await ctx.external({ program: 'openssl', mode: 'stdin' });
    const socket = await ctx.connect(server);
    await server.input(STREAMED);
    equal(
      new TextDecoder().decode((await readBytes(socket, 10)).subarray(0, 10)),
      '0123456789',
      'the first bytes',
    );
    await server.kill();
    await rejectsWith(readToEnd(socket), 'ERR_TLS_TRUNCATED', 'reading on after the server was killed');
    const report = await socket.closed;
    equal(report.closeNotifyReceived, false, 'closeNotifyReceived');
    check(report.truncated === true, 'truncated');
  },
};

export const interopCases: ConformanceCase[] = [...interop('openssl'), killedMidStream, ...interop('gnutls')];
