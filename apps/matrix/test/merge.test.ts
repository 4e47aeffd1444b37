import { catalogueEntries } from '@closenotify/conformance';
import { describe, expect, it } from 'vitest';
import { isAsExpected, mergeReports, summaryLine } from '../src/merge.ts';
import {
  BUN_FAIL_MESSAGE,
  BUN_UNEXPECTED_FAIL,
  capabilities,
  DENO_EXPECTED_FAIL,
  DENO_STALE_EXPECTATION,
  DENO_UNEXPECTED_ERROR,
  fixtureInputs,
  fixtureMatrix,
} from './fixtures.ts';

const entries = catalogueEntries();
const cellOf = (key: string, runtime: 'node' | 'bun' | 'deno') => {
  const matrix = fixtureMatrix();
  const column = matrix.runtimes.findIndex((candidate) => candidate.name === runtime);
  return matrix.rows.find((row) => row.key === key)!.cells[column]!;
};

describe('mergeReports', () => {
  it('has one row per catalogue entry, in catalogue order, and one cell per runtime', () => {
    const matrix = fixtureMatrix();
    expect(matrix.rows.map((row) => row.key)).toEqual(entries.map((entry) => entry.key));
    expect(matrix.runtimes.map((column) => column.name)).toEqual(['node', 'bun', 'deno']);
    for (const row of matrix.rows) expect(row.cells).toHaveLength(3);
    expect(matrix.rows[0]!.requirement).toBe(entries[0]!.case.requirement);
  });

  it('takes expected non-passes with their reasons, and flags results nobody expected', () => {
    const truncation = entries.find((entry) => entry.key.startsWith('truncation.'))!.key;
    expect(cellOf(truncation, 'node')).toMatchObject({
      status: 'unsupported',
      expected: 'unsupported',
      unexpected: false,
    });
    expect(cellOf(truncation, 'node').reason).toMatch(/bare FIN/);
    expect(cellOf(BUN_UNEXPECTED_FAIL, 'bun')).toMatchObject({
      status: 'fail',
      expected: 'pass',
      reason: null,
      unexpected: true,
      message: BUN_FAIL_MESSAGE,
    });
    expect(cellOf(DENO_EXPECTED_FAIL, 'deno')).toMatchObject({
      status: 'fail',
      expected: 'fail',
      unexpected: false,
    });
    expect(cellOf(DENO_UNEXPECTED_ERROR, 'deno')).toMatchObject({ status: 'error', unexpected: true });
  });

  it('shows an interop case whose peer is absent as not run, unexpected only when that fails the run (CI)', () => {
    const gnutls = entries.find((entry) => entry.key.startsWith('interop.gnutls.'))!.key;
    expect(cellOf(gnutls, 'bun')).toMatchObject({ status: 'not-run', unexpected: false });
    const strict = mergeReports(entries, fixtureInputs(), { notRunFails: true });
    expect(strict.rows.find((row) => row.key === gnutls)!.cells[1]).toMatchObject({
      status: 'not-run',
      unexpected: true,
    });
  });

  it('counts every cell once and lists unexpected keys and stale expectations per runtime', () => {
    const [node, bun, deno] = fixtureMatrix().runtimes;
    for (const column of [node!, bun!, deno!]) {
      expect(Object.values(column.counts).reduce((sum, n) => sum + n, 0)).toBe(entries.length);
    }
    expect(node).toMatchObject({ unexpected: [], staleExpectations: [], counts: { fail: 0, error: 0 } });
    expect(bun!.unexpected).toEqual([BUN_UNEXPECTED_FAIL]);
    expect(bun!.counts['not-run']).toBe(
      entries.filter((entry) => entry.key.startsWith('interop.gnutls.')).length,
    );
    expect(deno).toMatchObject({
      unexpected: [DENO_UNEXPECTED_ERROR],
      staleExpectations: [DENO_STALE_EXPECTATION],
    });
    expect(isAsExpected(fixtureMatrix())).toBe(false);
  });

  it('spells out every capability flag, session-info field by field', () => {
    const matrix = fixtureMatrix();
    const names = matrix.capabilities.map((row) => row.name);
    expect(names).toContain('halfClose');
    expect(names).toContain('sessionInfo.peerCertificate');
    expect(names).not.toContain('sessionInfo');
    const { sessionInfo, ...flags } = capabilities();
    expect(names).toHaveLength(Object.keys(flags).length + Object.keys(sessionInfo).length);
    expect(matrix.capabilities.find((row) => row.name === 'sessionInfo.protocol')!.values).toEqual([
      true,
      true,
      false,
    ]);
    expect(matrix.capabilities.find((row) => row.name === 'abortiveReset')!.values).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('gives a runtime without a report a column of not-run cells that says why', () => {
    const [node, , deno] = fixtureInputs();
    const matrix = mergeReports(
      entries,
      [
        node!,
        {
          name: 'bun',
          report: null,
          absence: 'this run wrote no report',
          expectations: { runtime: 'bun', expected: {} },
        },
        deno!,
      ],
      { notRunFails: false },
    );
    expect(new Set(matrix.rows.map((row) => row.cells[1]!.status))).toEqual(new Set(['not-run']));
    expect(matrix.rows[0]!.cells[1]!.message).toBe('this run wrote no report');
    expect(matrix.capabilities.every((row) => row.values[1] === null)).toBe(true);
    expect(summaryLine(matrix.runtimes[1]!)).toBe('bun: no report — this run wrote no report');
  });

  it('flags a catalogue entry missing from a report as not run and unexpected', () => {
    const [node, bun, deno] = fixtureInputs();
    const dropped = entries[0]!.key;
    node!.report!.results = node!.report!.results.slice(1);
    const matrix = mergeReports(entries, [node!, bun!, deno!], { notRunFails: false });
    expect(matrix.rows[0]!.cells[0]).toMatchObject({ status: 'not-run', unexpected: true });
    expect(matrix.runtimes[0]!.unexpected).toEqual([dropped]);
  });
});

describe('summaryLine', () => {
  it('gives version, TLS library, counts and the verdict', () => {
    const [node, bun, deno] = fixtureMatrix().runtimes;
    const truncation = entries.filter(
      (entry) => entry.key.startsWith('truncation.') || entry.key.startsWith('server.truncation.'),
    ).length;
    expect(summaryLine(node!)).toBe(
      `node 20.20.2 (OpenSSL 3.0.19): ${entries.length - truncation} pass, 0 fail, ${truncation} unsupported, 0 error — as expected`,
    );
    expect(summaryLine(bun!)).toMatch(
      /^bun 1\.4\.5 \(BoringSSL\): \d+ pass, 1 fail, \d+ unsupported, 0 error, \d+ not run — 1 UNEXPECTED$/,
    );
    expect(summaryLine(deno!)).toMatch(
      /^deno 2\.9\.6 \(rustls\): \d+ pass, 1 fail, 0 unsupported, 1 error — 2 UNEXPECTED$/,
    );
  });
});
