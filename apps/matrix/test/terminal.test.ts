import { describe, expect, it } from 'vitest';
import { summaryLine } from '../src/merge.ts';
import { renderCapabilityTable, renderMatrixTable, renderTerminal } from '../src/terminal.ts';
import {
  BUN_UNEXPECTED_FAIL,
  DENO_STALE_EXPECTATION,
  DENO_UNEXPECTED_ERROR,
  fixtureMatrix,
} from './fixtures.ts';

describe('renderTerminal', () => {
  const matrix = fixtureMatrix();
  const output = renderTerminal(matrix);

  it('prints the legend, the matrix, the capability table and one summary line per runtime, in that order', () => {
    const legend = output.indexOf('✓ pass  ✗ fail  – unsupported  · not run  ! error  * unexpected');
    const grid = output.indexOf('case ');
    const capabilities = output.indexOf('capability ');
    const summaries = matrix.runtimes.map((column) => output.indexOf(summaryLine(column)));
    expect(legend).toBeGreaterThanOrEqual(0);
    expect(grid).toBeGreaterThan(legend);
    expect(capabilities).toBeGreaterThan(grid);
    for (const position of summaries) expect(position).toBeGreaterThan(capabilities);
  });

  it('has one line per catalogue entry with the runtimes as aligned columns', () => {
    const [header, ...lines] = renderMatrixTable(matrix);
    expect(header).toMatch(/^case\s+node {2}bun {2}deno$/);
    expect(lines).toHaveLength(matrix.rows.length);
    const bunColumn = header!.indexOf('bun');
    const failing = lines.find((line) => line.startsWith(`${BUN_UNEXPECTED_FAIL} `))!;
    expect(failing.slice(bunColumn, bunColumn + 2)).toBe('✗*');
    expect(lines.every((line) => line.slice(header!.indexOf('node')).trim().length > 0)).toBe(true);
  });

  it('prints capabilities as yes/no per runtime', () => {
    const lines = renderCapabilityTable(matrix);
    expect(lines).toHaveLength(matrix.capabilities.length + 1);
    expect(lines.find((line) => line.startsWith('sessionInfo.protocol '))).toMatch(/yes\s+yes\s+no$/);
  });

  it('lists every unexpected result and stale expectation after the summary', () => {
    expect(output).toContain(
      `UNEXPECTED bun ${BUN_UNEXPECTED_FAIL}: expected pass, got fail — bytesDiscarded`,
    );
    expect(output).toContain(`UNEXPECTED deno ${DENO_UNEXPECTED_ERROR}: expected pass, got error`);
    expect(output).toContain(`UNEXPECTED deno ${DENO_STALE_EXPECTATION}: the expectations name no case`);
  });
});
