import { describe, expect, it } from 'vitest';
import { embedJson, escapeHtml, renderHtml } from '../src/html.ts';
import { BUN_FAIL_MESSAGE, fixtureMatrix } from './fixtures.ts';

describe('renderHtml', () => {
  const matrix = fixtureMatrix();
  const html = renderHtml(matrix);

  it('is self-contained: no URL to load, and a policy that forbids every request', () => {
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`,
    );
  });

  it('embeds the matrix as JSON that round-trips, and no message can close its script element', () => {
    const embedded = /<script type="application\/json" id="matrix-data">(.*?)<\/script>/s.exec(html)![1]!;
    expect(JSON.parse(embedded)).toEqual(matrix);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).toContain(escapeHtml(BUN_FAIL_MESSAGE));
  });

  it('renders a row per catalogue entry and the runtime versions and TLS libraries in the headers', () => {
    expect(html.match(/<tr data-key=/g)).toHaveLength(matrix.rows.length);
    expect(html).toContain('node<small>20.20.2 · OpenSSL 3.0.19</small>');
    expect(html).toContain('deno<small>2.9.6 · rustls</small>');
    expect(html).toContain('title="@closenotify/node 0.0.0, run 2026-01-01T00:00:00.000Z in 1234 ms"');
  });
});

describe('escaping', () => {
  it('escapes the characters that matter in text and attributes', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('keeps JSON valid while hiding every <', () => {
    const value = { message: '</script><!-- x' };
    expect(embedJson(value)).not.toContain('<');
    expect(JSON.parse(embedJson(value))).toEqual(value);
  });
});
