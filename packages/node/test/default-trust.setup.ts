/**
 * Vitest global setup: the test PKI's default-trust CA becomes an extra root of the worker's default
 * trust (NODE_EXTRA_CA_CERTS), as the conformance CLI does for every runtime. Node reads the variable
 * at startup, so it is set here, in the main process, before vitest spawns the worker with this
 * environment; the PKI is created first so that the file exists by then.
 */
import { join } from 'node:path';
import { AUTHORITY_FILES, ensurePki } from '@closenotify/test-pki';

export default async function setup(): Promise<void> {
  const pki = await ensurePki();
  process.env.NODE_EXTRA_CA_CERTS = join(pki.dir, AUTHORITY_FILES.defaultTrustCa);
}
