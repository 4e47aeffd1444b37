// The Node-stream bridge on Deno (its node:stream), over real loopback TLS. Deno's sanitizers also
// check that no resource, op or timer outlives a case.
import { bridgeCases, refusesBadInput, runBridgeCase } from '../bridge-cases.ts';

for (const name of Object.keys(bridgeCases)) Deno.test(name, () => runBridgeCase(name));
Deno.test('refuses what is not a socket with ERR_INVALID_OPTION', refusesBadInput);
