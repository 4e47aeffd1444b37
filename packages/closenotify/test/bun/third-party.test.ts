// MQTT.js and node-postgres over closenotify on Bun, against real Mosquitto and PostgreSQL servers.
import { test } from 'bun:test';
import { bridgeExample, mqttOverBridge, pgOverBridge } from '../third-party-cases.ts';

test(
  'MQTT.js: QoS 1 publish and subscribe against Mosquitto, then close_notify both ways',
  mqttOverBridge,
  60_000,
);
test(
  'node-postgres: SSLRequest and startTls() by closenotify, a query, then a clean close',
  pgOverBridge,
  60_000,
);
test('the README bridge example runs against Mosquitto', bridgeExample, 60_000);
