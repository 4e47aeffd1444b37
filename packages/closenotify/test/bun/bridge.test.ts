// The Node-stream bridge on Bun (its node:stream), over real loopback TLS.
import { test } from 'bun:test';
import { bridgeCases, refusesBadInput, runBridgeCase } from '../bridge-cases.ts';

for (const name of Object.keys(bridgeCases)) test(name, () => runBridgeCase(name), 150_000);
test('refuses what is not a socket with ERR_INVALID_OPTION', refusesBadInput);
