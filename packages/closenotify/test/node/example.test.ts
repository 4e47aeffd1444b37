/**
 * The README example on Node, through the `node` export condition; and the README shows exactly
 * the example that runs here and under Bun and Deno.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runExample, runSocketsExample } from '../serve-example.ts';

const readText = (relative: string) => readFile(new URL(relative, import.meta.url), 'utf8');

/** The TypeScript code blocks of a Markdown file, in order. */
function typeScriptBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

describe('the portable example', () => {
  it('runs against a local TLS server', async () => {
    await runExample();
  });

  it.each(['../../../../README.md', '../../README.md'])(
    'is the first example in %s, unchanged',
    async (readme) => {
      expect(typeScriptBlocks(await readText(readme))[0]).toBe(await readText('../example.ts'));
    },
  );
});

describe('the WinterTC Sockets API example', () => {
  it('runs against a local TLS server', async () => {
    await runSocketsExample();
  });

  it("is in the package's README, unchanged", async () => {
    expect(typeScriptBlocks(await readText('../../README.md'))).toContain(
      await readText('../sockets-example.ts'),
    );
  });
});
