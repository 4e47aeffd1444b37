/**
 * Unchanged third-party client libraries over closenotify through the Node-stream bridge, against
 * real servers that test/with-servers.mjs started (.tmp/servers.json): MQTT.js against Mosquitto,
 * node-postgres against PostgreSQL with the SSLRequest and the TLS upgrade done by closenotify.
 * test/node, test/bun and test/deno run the same cases. A server that is not installed makes its case
 * "not run" (printed, and a failure under CI=true).
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { type CloseReport, capabilities, connect, isSecureSocketError } from 'closenotify';
import { toNodeDuplex } from 'closenotify/node-stream';
import { MqttClient } from 'mqtt';
import pg from 'pg';
import { publish } from './bridge-example.ts';
import { readPki } from './serve-example.ts';

interface Absent {
  absent: string;
}
interface Servers {
  mosquitto: { hostname: string; port: number } | Absent;
  postgres: { hostname: string; port: number; user: string; database: string } | Absent;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function readServers(): Promise<Servers> {
  const file = new URL('../.tmp/servers.json', import.meta.url);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Servers;
  } catch (error) {
    throw new Error(`cannot read ${file.pathname}: run the tests through test/with-servers.mjs`, {
      cause: error,
    });
  }
}

/** True when the case should run; prints "not run" (or throws under CI) when its server is absent. */
function present<T extends object>(server: T | Absent, name: string): server is T {
  if (!('absent' in server)) return true;
  if (process.env.CI === 'true') throw new Error(`${name}: ${server.absent}, and CI must run it`);
  console.log(`not run: ${name}: ${server.absent}`);
  return false;
}

async function trust() {
  const { ca } = await readPki();
  return capabilities.exclusiveCa ? { ca } : { ca, caAddsToDefaultTrust: true };
}

function cleanEnd(report: CloseReport, who: string): void {
  check(report.error === undefined, `${who}: the close report has an error: ${report.error?.code}`);
  check(report.closeNotifySent, `${who}: our close_notify was not sent`);
  // null is "this runtime cannot tell", never a false alarm.
  check(report.closeNotifyReceived !== false, `${who}: the server's close_notify was not received`);
  check(report.truncated !== true, `${who}: the server's stream was truncated`);
}

export async function mqttOverBridge(): Promise<void> {
  const { mosquitto } = await readServers();
  if (!present(mosquitto, 'MQTT.js against Mosquitto')) return;
  const socket = await connect({ hostname: mosquitto.hostname, port: mosquitto.port, ...(await trust()) });
  const duplex = toNodeDuplex(socket);
  const duplexClosed = once(duplex, 'close');
  // The stream builder hands MQTT.js the connected, verified socket; no reconnect would get another.
  const client = new MqttClient(() => duplex, {
    clientId: `closenotify-${Math.random().toString(16).slice(2)}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
    clean: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const topic = 'closenotify/bridge';
    const granted = await client.subscribeAsync(topic, { qos: 1 });
    check(granted[0]?.qos === 1, `subscription granted ${JSON.stringify(granted)}`);
    const message = new Promise<[string, Uint8Array]>((resolve) => {
      client.once('message', (receivedTopic, payload) => resolve([receivedTopic, payload]));
    });
    const packet = await client.publishAsync(topic, 'over closenotify', { qos: 1 });
    check(packet?.messageId !== undefined, 'the QoS 1 publish has no message id (no PUBACK awaited)');
    const [receivedTopic, payload] = await message;
    check(receivedTopic === topic, `message on ${receivedTopic}`);
    check(new TextDecoder().decode(payload) === 'over closenotify', 'the payload came back changed');
  } finally {
    await client.endAsync();
  }
  await duplexClosed;
  const report = await socket.closed;
  // Our close_notify went out after DISCONNECT, and Mosquitto answered with its own (read() gave null,
  // not ERR_TLS_TRUNCATED), so both directions ended cleanly.
  cleanEnd(report, 'MQTT.js over closenotify');
}

/** The README's bridge example, unchanged, against Mosquitto. */
export async function bridgeExample(): Promise<void> {
  const { mosquitto } = await readServers();
  if (!present(mosquitto, 'the bridge example against Mosquitto')) return;
  const broker = { hostname: mosquitto.hostname, port: mosquitto.port, ...(await trust()) };
  cleanEnd(await publish(broker, 'closenotify/example', 'hello'), 'the bridge example');
}

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export async function pgOverBridge(): Promise<void> {
  const { postgres } = await readServers();
  if (!present(postgres, 'node-postgres against PostgreSQL')) return;
  const options = { hostname: postgres.hostname, port: postgres.port, ...(await trust()) };
  if (!capabilities.startTls) {
    // Fails loudly once the capability is true: this branch must then go.
    const refused = await connect({ ...options, secureTransport: 'starttls' }).catch(
      (error: unknown) => error,
    );
    check(
      isSecureSocketError(refused) && refused.code === 'ERR_UNSUPPORTED',
      `startTls is false, yet secureTransport: 'starttls' gave ${String(refused)}`,
    );
    console.log('not run: node-postgres over closenotify: capabilities.startTls is false on this runtime');
    return;
  }
  const plain = await connect({ ...options, secureTransport: 'starttls' });
  await plain.write(SSL_REQUEST);
  const answer = await plain.read();
  check(
    answer !== null && answer.byteLength === 1 && answer[0] === 0x53,
    `SSLRequest answered ${String(answer)}`,
  );
  const secure = await plain.startTls();
  const duplex = toNodeDuplex(secure);
  // ssl: false: the connection is already TLS, pg must not negotiate again.
  const client = new pg.Client({
    host: postgres.hostname,
    port: postgres.port,
    user: postgres.user,
    database: postgres.database,
    ssl: false,
    stream: () => duplex,
  });
  try {
    await client.connect();
    const result = await client.query<{ answer: number; ssl: boolean }>(
      'SELECT 41 + 1 AS answer, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    check(result.rows[0]?.answer === 42, `query gave ${JSON.stringify(result.rows)}`);
    check(result.rows[0]?.ssl === true, 'PostgreSQL does not see this connection as TLS');
  } finally {
    await client.end();
  }
  const report = await secure.closed;
  // Terminate, our close_notify, then PostgreSQL's close_notify as its backend exits.
  cleanEnd(report, 'node-postgres over closenotify');
}
