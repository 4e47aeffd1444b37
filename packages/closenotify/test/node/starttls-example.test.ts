/**
 * The README's STARTTLS example on Node, and the repository README shows exactly the example that
 * runs here and under Bun and Deno.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runStarttlsExample } from '../serve-example.ts';

const readText = (relative: string) => readFile(new URL(relative, import.meta.url), 'utf8');

/** The first TypeScript code block of the README's STARTTLS section. */
function starttlsBlock(markdown: string): string | undefined {
  const start = markdown.indexOf('\n### STARTTLS');
  if (start < 0) return undefined;
  const section = markdown.slice(start);
  return /```ts\n([\s\S]*?)```/.exec(section)?.[1];
}

describe('the STARTTLS example', () => {
  it('runs against a local SMTP-style server', async () => {
    await runStarttlsExample();
  });

  it("is the example of the repository README's STARTTLS section, unchanged", async () => {
    expect(starttlsBlock(await readText('../../../../README.md'))).toBe(
      await readText('../starttls-example.ts'),
    );
  });
});
