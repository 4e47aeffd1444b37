/**
 * STARTTLS against real third-party peers. Client role: a PostgreSQL server started for the case
 * (its SSLRequest is a STARTTLS upgrade). Server role: `openssl s_client -starttls smtp` against a
 * small SMTP-style server built on our listener. Where a program is not installed its entries are
 * reported "not run" (a failure in CI, where .ci/run installs them).
 */
import type { ShutdownableSecureSocket } from '@closenotify/core';
import {
  CaseFailure,
  check,
  closingEvents,
  concat,
  equal,
  HANG_GUARD_MS,
  readBytes,
  rejectsWith,
  settlesWithin,
} from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import { POSTGRES_LOGIN } from '../peer-client.ts';

// The few PostgreSQL protocol (v3) messages the cases need: Int32s are big-endian, a frontend
// message after the startup is a type byte then an Int32 length that counts itself.
const SSL_REQUEST_CODE = 80877103;
const PROTOCOL_3_0 = 196608;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function int32s(...values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (const [i, value] of values.entries()) view.setInt32(i * 4, value);
  return bytes;
}

/** An untyped message: the startup ones, whose length comes first. */
function untyped(body: Uint8Array): Uint8Array {
  return concat([int32s(body.byteLength + 4), body], body.byteLength + 4);
}

function typed(type: string, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat([encoder.encode(type), int32s(body.byteLength + 4), body], body.byteLength + 5);
}

/** Zero-terminated strings, one after the other. */
const cstrings = (...values: string[]): Uint8Array => encoder.encode(values.map((v) => `${v}\0`).join(''));

const SSL_REQUEST = untyped(int32s(SSL_REQUEST_CODE));
function startup(): Uint8Array {
  const parameters = cstrings('user', POSTGRES_LOGIN.user, 'database', POSTGRES_LOGIN.database);
  const body = concat([int32s(PROTOCOL_3_0), parameters, new Uint8Array(1)], parameters.byteLength + 5);
  return untyped(body);
}
const query = (sql: string): Uint8Array => typed('Q', cstrings(sql));
const TERMINATE = typed('X');

interface BackendMessage {
  type: string;
  body: Uint8Array;
}

/** Whole backend messages from a socket, however the reads split them. */
function backendMessages(socket: ShutdownableSecureSocket): () => Promise<BackendMessage> {
  let buffered: Uint8Array = new Uint8Array(0);
  return async () => {
    for (;;) {
      if (buffered.byteLength >= 5) {
        const length = new DataView(buffered.buffer, buffered.byteOffset).getInt32(1);
        if (buffered.byteLength >= 1 + length) {
          const message = {
            type: String.fromCharCode(buffered[0]!),
            body: buffered.slice(5, 1 + length),
          };
          buffered = buffered.slice(1 + length);
          return message;
        }
      }
      const chunk = await settlesWithin(socket.read(), HANG_GUARD_MS, 'a PostgreSQL message');
      if (chunk === null) throw new CaseFailure('PostgreSQL ended the stream in the middle of a reply');
      buffered = concat([buffered, chunk], buffered.byteLength + chunk.byteLength);
    }
  };
}

/** The messages up to ReadyForQuery; an ErrorResponse fails the case with PostgreSQL's own message. */
async function untilReady(next: () => Promise<BackendMessage>): Promise<BackendMessage[]> {
  const messages: BackendMessage[] = [];
  for (let message = await next(); message.type !== 'Z'; message = await next()) {
    if (message.type === 'E') {
      const fields = decoder.decode(message.body).split('\0');
      const text = fields.find((field) => field.startsWith('M'))?.slice(1);
      throw new CaseFailure(`PostgreSQL answered with an error: ${text ?? fields.join(' ')}`);
    }
    messages.push(message);
  }
  return messages;
}

/** The columns of a DataRow (Int16 count, then per column an Int32 length and the text; -1 is NULL). */
function dataRow(body: Uint8Array): Array<string | null> {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const columns: Array<string | null> = [];
  let offset = 2;
  for (let i = 0; i < view.getInt16(0); i += 1) {
    const length = view.getInt32(offset);
    offset += 4;
    columns.push(length < 0 ? null : decoder.decode(body.subarray(offset, offset + length)));
    offset += Math.max(length, 0);
  }
  return columns;
}

/** Until PostgreSQL has answered the SSLRequest with `S`: the plaintext socket, ready to upgrade. */
async function sslAccepted(ctx: CaseContext, port: number) {
  const plain = await ctx.connect({ port }, { secureTransport: 'starttls' });
  await plain.write(SSL_REQUEST);
  equal(decoder.decode(await readBytes(plain, 1)), 'S', 'PostgreSQL’s answer to the SSLRequest');
  return plain;
}

/** CRLF-terminated lines from a socket, however the reads split them. */
function lineReader(socket: ShutdownableSecureSocket) {
  let buffered = '';
  return {
    async next(): Promise<string> {
      for (let end = buffered.indexOf('\r\n'); end < 0; end = buffered.indexOf('\r\n')) {
        const chunk = await settlesWithin(socket.read(), HANG_GUARD_MS, 'a line from the client');
        if (chunk === null)
          throw new CaseFailure(`the client ended its stream after ${JSON.stringify(buffered)}`);
        buffered += decoder.decode(chunk);
      }
      const line = buffered.slice(0, buffered.indexOf('\r\n'));
      buffered = buffered.slice(line.length + 2);
      return line;
    },
    /** Read from the socket but not returned as a line yet. */
    unread: () => buffered,
  };
}

const SMTP_COMMAND = 'NOOP over TLS';
/** What s_client prints once it has verified our certificate chain and name. */
const VERIFIED = /Verify return code: 0 \(ok\)/;

/**
 * A small SMTP-style server on our starttls listener (greeting, EHLO answered with STARTTLS, the
 * go-ahead, startTls(), one command answered over TLS, QUIT, close()) against a real client.
 */
async function smtpAgainstOpenssl(ctx: CaseContext): Promise<void> {
  const { server, next } = await ctx.listen({ secureTransport: 'starttls' });
  const client = await ctx.externalClient({
    program: 'openssl',
    port: server.address.port,
    input: `${SMTP_COMMAND}\nQUIT\n`,
  });
  const plain = await settlesWithin(next(), HANG_GUARD_MS, 'a plaintext socket handed out');
  const plainLines = lineReader(plain);
  await plain.write('220 localhost ESMTP closenotify\r\n');
  const hello = await plainLines.next();
  check(/^(EHLO|HELO) /i.test(hello), `the client's first command is EHLO: ${JSON.stringify(hello)}`);
  await plain.write('250-localhost\r\n250 STARTTLS\r\n');
  equal((await plainLines.next()).toUpperCase(), 'STARTTLS', 'the STARTTLS command');
  await plain.write('220 2.0.0 ready to start TLS\r\n');
  equal(plainLines.unread(), '', 'nothing sent behind STARTTLS before our go-ahead');
  const secure = await ctx.startTls(plain);
  const lines = lineReader(secure);
  const command = await lines.next();
  equal(command, SMTP_COMMAND, 'the command sent over TLS');
  await secure.write(`250 2.0.0 ${command}\r\n`);
  equal((await lines.next()).toUpperCase(), 'QUIT', 'QUIT');
  await secure.write('221 2.0.0 bye\r\n');
  const report = await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
  const result = await client.result();
  const seen = `s_client said: ${result.output.slice(-1500)}`;
  check(result.done, `the client did not exit after our close; ${seen}`);
  equal(result.exitCode, 0, `exit code; ${seen}`);
  check(VERIFIED.test(result.output), `the client verified our certificate; ${seen}`);
  check(result.output.includes(`250 2.0.0 ${SMTP_COMMAND}`), `our answer over TLS reached it; ${seen}`);
  check(result.output.includes('221 2.0.0 bye'), `our QUIT answer reached it; ${seen}`);
  equal(report.closeNotifySent, true, 'closeNotifySent');
  equal(report.error?.code, undefined, 'report error');
  equal(
    closingEvents(result.wire, 's2c').join(' '),
    'data alert:close_notify fin',
    `our side of the wire (${result.wireSummary})`,
  );
  // Measured: s_client answers our close_notify with its own before its FIN.
  equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
  equal(
    closingEvents(result.wire, 'c2s').join(' '),
    'data alert:close_notify fin',
    `the client's side of the wire (${result.wireSummary})`,
  );
}

export const starttlsInteropCases: ConformanceCase[] = [
  {
    id: 'interop.postgres.starttls',
    requirement:
      'PostgreSQL: SSLRequest, `S`, startTls() verified against the test CA, a login and a query PostgreSQL itself reports as over TLS, Terminate, and a clean end',
    source: 'PostgreSQL protocol §55.2.10 (SSL session encryption); spec §2.5; interop with PostgreSQL',
    tls: 'each',
    requires: ['startTls'],
    async run(ctx) {
      const server = await ctx.external({ program: 'postgres' });
      const plain = await sslAccepted(ctx, server.port);
      const secure = await ctx.startTls(plain, { servername: 'localhost', ...ctx.trusting(ctx.pki.ca) });
      const session = await secure.opened;
      equal(session.authorized, true, 'authorized');
      const next = backendMessages(secure);
      await secure.write(startup());
      const login = await untilReady(next);
      equal(login[0]?.type, 'R', 'the first answer to the StartupMessage (AuthenticationOk)');
      await secure.write(query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()'));
      const rows = (await untilReady(next)).filter((message) => message.type === 'D');
      equal(
        JSON.stringify(rows.map((row) => dataRow(row.body))),
        JSON.stringify([['t', ctx.tls]]),
        'what PostgreSQL reports of this connection (ssl, version)',
      );
      await secure.write(TERMINATE);
      equal(await settlesWithin(secure.read(), HANG_GUARD_MS, 'read() after Terminate'), null, 'read()');
      const report = await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
      ctx.note(`PostgreSQL's end: ${JSON.stringify(report)}`);
      equal(report.closeNotifyReceived, true, 'closeNotifyReceived (PostgreSQL ends with close_notify)');
      equal(report.truncated, false, 'truncated');
      equal(report.error?.code, undefined, 'error');
    },
  },
  {
    id: 'interop.postgres.untrusted',
    requirement:
      'PostgreSQL with a certificate from an unknown CA: startTls() rejects ERR_TLS_CERT_UNTRUSTED and nothing but the SSLRequest was sent',
    source:
      'RFC 5280 §6; CVE-2021-23222 (a client must not talk before the upgrade holds); interop with PostgreSQL',
    tls: 'any',
    requires: ['startTls'],
    async run(ctx) {
      const server = await ctx.external({ program: 'postgres', certificate: 'untrusted' });
      const plain = await sslAccepted(ctx, server.port);
      await rejectsWith(ctx.startTls(plain), 'ERR_TLS_CERT_UNTRUSTED', 'startTls()');
      const report = await settlesWithin(plain.closed, HANG_GUARD_MS, 'the plaintext socket closed');
      equal(report.bytesWritten, SSL_REQUEST.byteLength, 'plaintext bytes written (the SSLRequest only)');
      equal(report.bytesRead, 1, 'plaintext bytes read (the `S`)');
    },
  },
  {
    id: 'server.interop.openssl.starttls-smtp',
    requirement:
      'openssl s_client -starttls smtp against a starttls listener: it verifies our certificate after the upgrade, a command and QUIT are answered over TLS, and our close() ends with close_notify',
    source: 'RFC 3207 (SMTP STARTTLS); spec §2.5; interop with OpenSSL s_client',
    tls: 'each',
    requires: ['server', 'startTls'],
    run: smtpAgainstOpenssl,
  },
];
