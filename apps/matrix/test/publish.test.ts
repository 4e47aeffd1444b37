import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderHtml } from '../src/html.ts';
import { renderMarkdown } from '../src/markdown.ts';
import type { Matrix } from '../src/merge.ts';
import { publishPage } from '../src/publish.ts';
import { fixtureMatrix } from './fixtures.ts';

/** The same results, run at another time and at other speeds. */
function rerun(matrix: Matrix): Matrix {
  return {
    ...matrix,
    runtimes: matrix.runtimes.map((column) => ({
      ...column,
      run: column.run && { ...column.run, startedAt: '2026-02-02T02:02:02.000Z', durationMs: 123_456 },
    })),
    rows: matrix.rows.map((row) => ({
      ...row,
      cells: row.cells.map((cell) => ({ ...cell, durationMs: (cell.durationMs ?? 0) + 17 })),
    })),
  };
}

describe('publishPage', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'matrix-publish-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['matrix.html', renderHtml],
    ['MATRIX.md', renderMarkdown],
  ])('leaves %s as it is when only timings changed, and rewrites it when a result did', (name, render) => {
    const path = join(dir, name);
    const matrix = fixtureMatrix();
    expect(publishPage(path, render, matrix)).toBe(true);
    const first = readFileSync(path, 'utf8');
    expect(first.startsWith(render(matrix))).toBe(true);

    expect(publishPage(path, render, rerun(matrix))).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe(first);

    const changed = rerun(matrix);
    const [row] = changed.rows;
    if (!row?.cells[0]) throw new Error('the fixture has no cell');
    row.cells[0] = { ...row.cells[0], status: 'fail', message: 'a new failure', unexpected: true };
    expect(publishPage(path, render, changed)).toBe(true);
    expect(readFileSync(path, 'utf8').startsWith(render(changed))).toBe(true);
  });
});
