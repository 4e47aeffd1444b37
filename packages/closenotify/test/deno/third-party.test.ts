// MQTT.js and node-postgres over closenotify on Deno, against real Mosquitto and PostgreSQL servers.
import { bridgeExample, mqttOverBridge, pgOverBridge } from '../third-party-cases.ts';

Deno.test(
  'MQTT.js: QoS 1 publish and subscribe against Mosquitto, then close_notify both ways',
  mqttOverBridge,
);
Deno.test(
  'node-postgres: SSLRequest and startTls() by closenotify, a query, then a clean close',
  pgOverBridge,
);
Deno.test('the README bridge example runs against Mosquitto', bridgeExample);
