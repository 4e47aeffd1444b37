/** The README's STARTTLS example on Node (readme-examples.test.ts checks the README shows it). */
import { describe, it } from 'vitest';
import { runStarttlsExample } from '../serve-example.ts';

describe('the STARTTLS example', () => {
  it('runs against a local SMTP-style server', async () => {
    await runStarttlsExample();
  });
});
