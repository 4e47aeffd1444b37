import { type ConnectOptions, connect } from 'closenotify'; // @closenotify/node, /bun or /deno
import { toNodeDuplex } from 'closenotify/node-stream';
import { MqttClient } from 'mqtt';

type Broker = Pick<ConnectOptions, 'hostname' | 'port' | 'ca' | 'caAddsToDefaultTrust'>;

/** MQTT.js, unchanged, over closenotify: one QoS 1 publish, then a clean disconnect. */
export async function publish(broker: Broker, topic: string, message: string) {
  const socket = await connect(broker);
  // A Node Duplex: end() is shutdown('write'), 'end' is the broker's close_notify, a truncation or
  // a reset is an 'error' with its code (ERR_TLS_TRUNCATED, ...), destroy(error) is abort().
  const stream = toNodeDuplex(socket);
  const client = new MqttClient(() => stream, { reconnectPeriod: 0 });
  await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
  await client.publishAsync(topic, message, { qos: 1 }); // resolves at the broker's PUBACK
  await client.endAsync(); // DISCONNECT, then close_notify both ways
  return socket.closed; // the CloseReport: closeNotifySent, closeNotifyReceived, truncated, ...
}
