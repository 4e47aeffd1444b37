// The Node-stream bridge on Node, over real loopback TLS (the cases are shared with Bun and Deno).
import { describe, it } from 'vitest';
import { bridgeCases, refusesBadInput, runBridgeCase } from '../bridge-cases.ts';

describe('toNodeDuplex on Node', () => {
  it.each(Object.keys(bridgeCases))('%s', (name) => runBridgeCase(name), 150_000);
  it('refuses what is not a socket with ERR_INVALID_OPTION', refusesBadInput);
});
