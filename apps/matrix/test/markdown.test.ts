import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../src/markdown.ts';
import { summaryLine } from '../src/merge.ts';
import {
  BUN_UNEXPECTED_FAIL,
  DENO_EXPECTED_FAIL,
  DENO_STALE_EXPECTATION,
  fixtureInputs,
  fixtureMatrix,
} from './fixtures.ts';

describe('renderMarkdown', () => {
  const matrix = fixtureMatrix();
  const markdown = renderMarkdown(matrix);
  const lines = markdown.split('\n');

  it('starts with the summary per runtime and links the page', () => {
    for (const column of matrix.runtimes) expect(markdown).toContain(`- ${summaryLine(column)}\n`);
    expect(markdown).toContain('[matrix.html](matrix.html)');
    expect(markdown.indexOf('## Summary')).toBeLessThan(markdown.indexOf('## Matrix'));
  });

  it('has a Markdown table row per catalogue entry with the terminal symbols', () => {
    expect(lines).toContain('| case | node | bun | deno |');
    const rows = lines.filter((line) => /^\| `[^`]+` \| [✓✗–·!]\*? \|/.test(line));
    expect(rows).toHaveLength(matrix.rows.length);
    expect(lines).toContain(`| \`${BUN_UNEXPECTED_FAIL}\` | ✓ | ✗* | ✓ |`);
  });

  it('has the capability table', () => {
    expect(lines).toContain('| capability | node | bun | deno |');
    expect(lines).toContain('| `sessionInfo.protocol` | yes | yes | no |');
  });

  it('gives the reason for every non-pass: the expectation, or the message when it was unexpected', () => {
    const why = markdown.slice(markdown.indexOf('## Why not pass'));
    for (const input of fixtureInputs()) {
      for (const [key, { reason }] of Object.entries(input.expectations.expected)) {
        if (key === DENO_STALE_EXPECTATION) continue;
        expect(why).toContain(`| \`${key}\` | `);
        expect(why).toContain(reason);
      }
    }
    expect(why).toContain(`| \`${DENO_EXPECTED_FAIL}\` | ✗ fail | TlsConn.handshake() gives no protocol |`);
    expect(why).toContain(
      `**UNEXPECTED** (expected pass): bytesDiscarded: expected 4096, got 0 &lt;/script>&lt;b>\\|pipe\\|&lt;/b>`,
    );
    expect(why).toContain(
      `| \`${DENO_STALE_EXPECTATION}\` |  | **UNEXPECTED**: the expectations name no case`,
    );
    expect(why).toContain('not run: gnutls-serv is not installed');
  });
});
