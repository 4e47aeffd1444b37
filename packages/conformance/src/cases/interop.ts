/**
 * Client cases against real third-party servers: OpenSSL's `s_server -rev` (echoes each line
 * reversed) or `-WWW` (serves a file), and GnuTLS's `gnutls-serv --echo`. Where neither is installed
 * the entries are reported "not run" (a failure in CI, where .ci/run installs both).
 */
import type { ShutdownableSecureSocket } from '@closenotify/core';
import { check, equal, readBytes, readToEnd, rejectsWith } from '../assert.ts';
import type { ConformanceCase } from '../case.ts';
import { EXTERNAL_STREAM_PATH, type ExternalProgram } from '../peer-client.ts';

/** The echoing servers (the PostgreSQL ones are in starttls-interop.ts). */
type EchoServer = Exclude<ExternalProgram, 'postgres'>;

const REPLY: Record<EchoServer, string> = { openssl: 'olleh\n', gnutls: 'hello\n' };
const NAME: Record<EchoServer, string> = { openssl: 'OpenSSL s_server', gnutls: 'GnuTLS gnutls-serv' };

function interop(program: EchoServer): ConformanceCase[] {
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

const MIB = 1024 * 1024;
/** Far more than the loopback windows hold, so the server is still writing when it is killed. */
const KILLED_STREAM_BYTES = 64 * MIB;
/** Read before the kill, so that the stream is under way. */
const READ_BEFORE_KILL = MIB;
const CONTROL_STREAM_BYTES = 256 * 1024;
const REQUEST = `GET ${EXTERNAL_STREAM_PATH} HTTP/1.0\r\n\r\n`;
const HEADER_END = '\r\n\r\n';

/** Reads until the stream ends or fails; how many bytes came, and the failure if any. */
async function drain(socket: ShutdownableSecureSocket): Promise<{ bytes: number; failure: Promise<void> }> {
  let bytes = 0;
  try {
    for (let chunk = await socket.read(); chunk !== null; chunk = await socket.read())
      bytes += chunk.byteLength;
    return { bytes, failure: Promise.resolve() };
  } catch (error) {
    return { bytes, failure: Promise.reject(error) };
  }
}

/** Real streams from `openssl s_server -WWW`: one that ends with close_notify, one whose server dies. */
const streamCases: ConformanceCase[] = [
  {
    id: 'interop.openssl.stream-close-notify',
    requirement: 'a file streamed by OpenSSL s_server -WWW ends cleanly with its close_notify',
    source:
      'RFC 8446 §6.1; interop with OpenSSL s_server (the control for interop.openssl.killed-mid-stream)',
    tls: 'each',
    async run(ctx) {
      const server = await ctx.external({ program: 'openssl', serveBytes: CONTROL_STREAM_BYTES });
      const socket = await ctx.connect(server);
      await socket.write(REQUEST);
      const { bytes, text } = await readToEnd(socket);
      check(
        text.startsWith('HTTP/1.0 200'),
        `the response starts with its status line: ${JSON.stringify(text.slice(0, 40))}`,
      );
      equal(
        bytes - (text.indexOf(HEADER_END) + HEADER_END.length),
        CONTROL_STREAM_BYTES,
        'bytes of the file',
      );
      const report = await socket.closed;
      const detects = ctx.adapter.capabilities.truncationDetection;
      equal(report.closeNotifyReceived, detects ? true : null, 'closeNotifyReceived');
      equal(report.truncated, detects ? false : null, 'truncated');
      equal(report.error, undefined, 'error');
    },
  },
  {
    id: 'interop.openssl.killed-mid-stream',
    requirement:
      'OpenSSL s_server killed (SIGKILL) while streaming a file is ERR_TLS_TRUNCATED, never a clean end',
    source:
      'RFC 8446 §6.1; a real server process dying mid-write (the kernel sends the FIN, nobody the close_notify)',
    tls: 'each',
    requires: ['truncationDetection'],
    timeoutMs: 60_000,
    async run(ctx) {
      const server = await ctx.external({ program: 'openssl', serveBytes: KILLED_STREAM_BYTES });
      const socket = await ctx.connect(server);
      await socket.write(REQUEST);
      const before = await readBytes(socket, READ_BEFORE_KILL);
      await server.kill();
      const after = await drain(socket);
      const received = before.byteLength + after.bytes;
      ctx.note(`${received} bytes read before the end`);
      check(received < KILLED_STREAM_BYTES, 'the server was killed before it could send the whole file');
      await rejectsWith(after.failure, 'ERR_TLS_TRUNCATED', 'reading after the kill');
      const report = await socket.closed;
      equal(report.truncated, true, 'truncated');
      equal(report.closeNotifyReceived, false, 'closeNotifyReceived');
    },
  },
];

export const interopCases: ConformanceCase[] = [...interop('openssl'), ...streamCases, ...interop('gnutls')];
