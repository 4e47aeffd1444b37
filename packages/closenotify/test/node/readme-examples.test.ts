/**
 * The README shows exactly the examples the tests run on Node, Bun and Deno: each section's first
 * TypeScript block is that file, unchanged (the first example, before any section, is checked in
 * example.test.ts).
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const readText = (relative: string) => readFile(new URL(relative, import.meta.url), 'utf8');

/** The first TypeScript code block after the README heading `heading`. */
function blockAfter(markdown: string, heading: string): string | undefined {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) return undefined;
  return /```ts\n([\s\S]*?)```/.exec(markdown.slice(start))?.[1];
}

const SECTIONS: Array<[heading: string, file: string]> = [
  ['### STARTTLS', '../starttls-example.ts'],
  ['### The WinterTC Sockets API: `closenotify/sockets`', '../sockets-example.ts'],
  ['### Libraries that take a Node stream', '../bridge-example.ts'],
];

describe('the README examples', () => {
  it.each(SECTIONS)('%s shows %s, unchanged', async (heading, file) => {
    expect(blockAfter(await readText('../../../../README.md'), heading)).toBe(await readText(file));
  });
});
