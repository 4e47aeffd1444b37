// MQTT.js and node-postgres over closenotify on Node, against real Mosquitto and PostgreSQL servers.
import { describe, it } from 'vitest';
import { bridgeExample, mqttOverBridge, pgOverBridge } from '../third-party-cases.ts';

describe('third-party clients through toNodeDuplex on Node', () => {
  it(
    'MQTT.js: QoS 1 publish and subscribe against Mosquitto, then close_notify both ways',
    mqttOverBridge,
    60_000,
  );
  it(
    'node-postgres: SSLRequest and startTls() by closenotify, a query, then a clean close',
    pgOverBridge,
    60_000,
  );
  it('the README bridge example runs against Mosquitto', bridgeExample, 60_000);
});
