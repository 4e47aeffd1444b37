// Writes the test CA and server credential to .tmp/pki.json before the example runs on each runtime.
// The conformance peer daemon owns the test PKI (generated once, cached under .cache/pki); asking it
// here means Bun and Deno need neither the daemon nor node-forge, and Deno can read this one file only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { PeerClient } from '@closenotify/conformance';
import { spawnPeerDaemon } from '@closenotify/conformance/node';

const daemon = await spawnPeerDaemon();
try {
  const { ca, server } = await new PeerClient(daemon.controlUrl).pki();
  mkdirSync(new URL('../.tmp/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../.tmp/pki.json', import.meta.url), JSON.stringify({ ca, server }));
} finally {
  await daemon.stop();
}
