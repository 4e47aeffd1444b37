// The README's STARTTLS example on Bun, through the `bun` export condition.
import { test } from 'bun:test';
import { runStarttlsExample } from '../serve-example.ts';

test('the STARTTLS example runs against a local SMTP-style server', async () => {
  await runStarttlsExample();
});
