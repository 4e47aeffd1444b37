// The README's STARTTLS example on Deno, through the `deno` export condition (same permissions as
// example.test.ts).
import { runStarttlsExample } from '../serve-example.ts';

Deno.test('the STARTTLS example runs against a local SMTP-style server', async () => {
  await runStarttlsExample();
});
