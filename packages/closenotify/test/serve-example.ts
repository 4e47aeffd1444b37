/**
 * Runs the README examples (example.ts, starttls-example.ts) unchanged against servers on loopback,
 * started with closenotify's own listen() and trusted through the test CA. The Node, Bun and Deno
 * tests all call these, so the examples are proven on each runtime through the export condition that
 * runtime picks.
 */
import { readFile } from 'node:fs/promises';
import { capabilities, listen, type SecureSocketError, type ShutdownableSecureSocket } from 'closenotify';
import { get } from './example.ts';
import { ask } from './sockets-example.ts';
import { helloOverTls } from './starttls-example.ts';

/** Written by test/write-pki.mjs; the `test` scripts run it first. */
const PKI_FILE = new URL('../.tmp/pki.json', import.meta.url);

export interface ExamplePki {
  ca: string;
  server: { cert: string; key: string };
}

export async function readPki(): Promise<ExamplePki> {
  try {
    return JSON.parse(await readFile(PKI_FILE, 'utf8')) as ExamplePki;
  } catch (error) {
    throw new Error(`cannot read ${PKI_FILE.pathname}: run \`node test/write-pki.mjs\` first`, {
      cause: error,
    });
  }
}

function responseFor(path: string): string {
  const body = `hello from closenotify: ${path}`;
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}

/** One HTTP exchange the way the example expects: the request ends with the client's close_notify. */
async function answer(socket: ShutdownableSecureSocket): Promise<void> {
  let request = '';
  const decoder = new TextDecoder();
  for await (const chunk of socket.readable) request += decoder.decode(chunk, { stream: true });
  const path = /^GET (\S+) HTTP\/1\.1\r\n/.exec(request)?.[1];
  if (path === undefined) throw new Error(`the server got no GET request: ${JSON.stringify(request)}`);
  await socket.write(responseFor(path));
  await socket.close();
}

/** The trust options for the test CA: on Deno, added to the default store (the CA is in no store). */
function trustOf(pki: ExamplePki) {
  return capabilities.exclusiveCa ? { ca: pki.ca } : { ca: pki.ca, caAddsToDefaultTrust: true };
}

export async function runExample(): Promise<void> {
  const pki = await readPki();
  let served: Promise<void> | undefined;
  // allowHalfOpen: the client's close_notify ends the request, and the response still has to go out.
  const server = await listen({ ...pki.server, alpn: ['http/1.1'], allowHalfOpen: true }, (socket) => {
    served = answer(socket);
    // Awaited below; handled now so that a failure is not reported as an unhandled rejection first.
    served.catch(() => {});
  });
  try {
    const { response, report } = await get(
      { hostname: 'localhost', port: server.address.port, ...trustOf(pki) },
      '/x',
    );
    await served;
    const expected = responseFor('/x');
    if (response !== expected) {
      throw new Error(`response: expected ${JSON.stringify(expected)}, got ${JSON.stringify(response)}`);
    }
    if (report.bytesRead !== new TextEncoder().encode(expected).byteLength) {
      throw new Error(`report.bytesRead ${report.bytesRead} does not match the response`);
    }
    // null is "this runtime cannot tell" (no truncation detection), never a false alarm.
    if (report.truncated === true || report.closeNotifyReceived === false) {
      throw new Error(`the server's close_notify was not seen: ${JSON.stringify(report)}`);
    }
  } finally {
    await server.close();
  }
}

/** One CRLF-terminated line from a client that waits for each reply before its next command. */
async function command(socket: ShutdownableSecureSocket): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  while (!text.endsWith('\r\n')) {
    const chunk = await socket.read();
    if (chunk === null) throw new Error(`the client hung up after ${JSON.stringify(text)}`);
    text += decoder.decode(chunk, { stream: true });
  }
  return text.slice(0, -2);
}

async function expectCommand(socket: ShutdownableSecureSocket, pattern: RegExp): Promise<void> {
  const line = await command(socket);
  if (!pattern.test(line)) throw new Error(`the server expected ${pattern}, got ${JSON.stringify(line)}`);
}

/** The SMTP side of the STARTTLS example: STARTTLS offered in plain TCP only, then QUIT over TLS. */
async function answerSmtp(plain: ShutdownableSecureSocket): Promise<void> {
  await plain.write('220 localhost ESMTP\r\n');
  await expectCommand(plain, /^EHLO /);
  await plain.write('250-localhost\r\n250 STARTTLS\r\n');
  await expectCommand(plain, /^STARTTLS$/);
  await plain.write('220 2.0.0 ready to start TLS\r\n');
  const socket = await plain.startTls();
  await expectCommand(socket, /^EHLO /);
  await socket.write('250-localhost\r\n250 SIZE 1000000\r\n');
  await expectCommand(socket, /^QUIT$/);
  await socket.write('221 2.0.0 bye\r\n');
  await socket.close();
}

const SMTP_CAPABILITIES_OVER_TLS = '250-localhost\r\n250 SIZE 1000000\r\n';

/**
 * Runs the STARTTLS example. Where the runtime has no STARTTLS yet (capabilities.startTls false) the
 * example must fail with ERR_UNSUPPORTED, at its first call, against an ordinary TLS server.
 */
export async function runStarttlsExample(): Promise<void> {
  const pki = await readPki();
  const trust = capabilities.exclusiveCa ? { ca: pki.ca } : { ca: pki.ca, caAddsToDefaultTrust: true };
  if (!capabilities.startTls) {
    const server = await listen(pki.server, (socket) => socket.abort());
    try {
      const outcome = await helloOverTls({ hostname: 'localhost', port: server.address.port, ...trust }).then(
        () => 'resolved',
        (error: SecureSocketError) => error.code,
      );
      if (outcome !== 'ERR_UNSUPPORTED') {
        throw new Error(`startTls: false, yet the STARTTLS example gave ${outcome}, not ERR_UNSUPPORTED`);
      }
    } finally {
      await server.close();
    }
    return;
  }
  let served: Promise<void> | undefined;
  const server = await listen({ ...pki.server, secureTransport: 'starttls' }, (socket) => {
    served = answerSmtp(socket);
    // Awaited below; handled now so that a failure is not reported as an unhandled rejection first.
    served.catch(() => {});
  });
  try {
    const {
      capabilities: offered,
      bye,
      report,
    } = await helloOverTls({
      hostname: 'localhost',
      port: server.address.port,
      ...trust,
    });
    await served;
    if (offered !== SMTP_CAPABILITIES_OVER_TLS) {
      throw new Error(
        `EHLO over TLS: expected ${JSON.stringify(SMTP_CAPABILITIES_OVER_TLS)}, got ${JSON.stringify(offered)}`,
      );
    }
    if (bye !== '221 2.0.0 bye\r\n') throw new Error(`QUIT: got ${JSON.stringify(bye)}`);
    if (!report.closeNotifySent || report.closeNotifyReceived === false || report.error) {
      throw new Error(
        `the upgraded session did not end with close_notify both ways: ${JSON.stringify(report)}`,
      );
    }
  } finally {
    await server.close();
  }
}

/** Answers every line with it in upper case, until the client's close_notify; then closes. */
async function shout(socket: ShutdownableSecureSocket): Promise<void> {
  let request = '';
  const decoder = new TextDecoder();
  for await (const chunk of socket.readable) request += decoder.decode(chunk, { stream: true });
  await socket.write(request.toUpperCase());
  await socket.close();
}

/** Runs the WinterTC Sockets API example (sockets-example.ts) unchanged against a local TLS server. */
export async function runSocketsExample(): Promise<void> {
  const pki = await readPki();
  let served: Promise<void> | undefined;
  const server = await listen({ ...pki.server, allowHalfOpen: true }, (socket) => {
    served = shout(socket);
    served.catch(() => {});
  });
  try {
    const reply = await ask('localhost', server.address.port, trustOf(pki));
    await served;
    if (reply !== 'HELLO\n') throw new Error(`reply: expected "HELLO\\n", got ${JSON.stringify(reply)}`);
  } finally {
    await server.close();
  }
}
