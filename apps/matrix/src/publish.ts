/**
 * Publishing a generated page without churn: each run's timings differ (when it ran, how long each
 * case took), so a page rewritten on every `npm run demo` would leave the repository modified although
 * no result changed. Each page carries a fingerprint of its rendering without timings; a run whose
 * fingerprint matches the page on disk leaves the page, timings and all, as it is.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Matrix } from './merge.ts';

/** The matrix with every timing blanked: what two runs with the same results have in common. */
export function withoutTimings(matrix: Matrix): Matrix {
  return {
    ...matrix,
    runtimes: matrix.runtimes.map((column) => ({
      ...column,
      run: column.run && { ...column.run, startedAt: '', durationMs: 0 },
    })),
    rows: matrix.rows.map((row) => ({
      ...row,
      cells: row.cells.map((cell) => ({ ...cell, durationMs: null })),
    })),
  };
}

/** The line that ends a published page: an HTML comment, invisible in Markdown and in the page. */
export function fingerprintLine(render: (matrix: Matrix) => string, matrix: Matrix): string {
  const digest = createHash('sha256')
    .update(render(withoutTimings(matrix)))
    .digest('hex');
  return `<!-- results fingerprint (timings excluded): ${digest} -->\n`;
}

/** Writes `render(matrix)` to `path` unless the page there differs only in timings; true if written. */
export function publishPage(path: string, render: (matrix: Matrix) => string, matrix: Matrix): boolean {
  const fingerprint = fingerprintLine(render, matrix);
  if (existsSync(path) && readFileSync(path, 'utf8').endsWith(fingerprint)) return false;
  writeFileSync(path, `${render(matrix)}${fingerprint}`);
  return true;
}
