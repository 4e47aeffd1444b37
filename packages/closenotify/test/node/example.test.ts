/**
 * The README example on Node, through the `node` export condition; and the README shows exactly
 * the example that runs here and under Bun and Deno.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runExample } from '../serve-example.ts';

const readText = (relative: string) => readFile(new URL(relative, import.meta.url), 'utf8');

/** The first TypeScript code block of a Markdown file. */
function firstTypeScriptBlock(markdown: string): string | undefined {
  return /```ts\n([\s\S]*?)```/.exec(markdown)?.[1];
}

describe('the portable example', () => {
  it('runs against a local TLS server', async () => {
    await runExample();
  });

  it.each(['../../../../README.md', '../../README.md'])(
    'is the first example in %s, unchanged',
    async (readme) => {
      expect(firstTypeScriptBlock(await readText(readme))).toBe(await readText('../example.ts'));
    },
  );
});
