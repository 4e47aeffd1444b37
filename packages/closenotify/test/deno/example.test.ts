// The README example on Deno, through the `deno` export condition. Permissions: loopback
// networking and reading .tmp/pki.json, nothing else (see the package's test scripts).
import * as denoAdapter from '@closenotify/deno';
import * as picked from 'closenotify';
import { runExample, runSocketsExample } from '../serve-example.ts';

Deno.test('closenotify is @closenotify/deno under Deno', () => {
  if (picked.connect !== denoAdapter.connect || picked.capabilities !== denoAdapter.capabilities) {
    throw new Error('the deno export condition did not pick @closenotify/deno');
  }
});

Deno.test('the portable example runs against a local TLS server', async () => {
  await runExample();
});

Deno.test('the WinterTC Sockets API example runs against a local TLS server', async () => {
  await runSocketsExample();
});
