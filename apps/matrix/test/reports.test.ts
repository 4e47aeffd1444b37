import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from '@closenotify/conformance/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readReport } from '../src/reports.ts';
import { fixtureInputs, STARTED_AT } from './fixtures.ts';

describe('readReport', () => {
  let dir: string;
  let path: string;
  const report = fixtureInputs()[0]!.report!;
  const startedAt = Date.parse(STARTED_AT);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'matrix-reports-'));
    path = join(dir, 'conformance-node.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a report this run wrote', () => {
    writeFileSync(path, JSON.stringify(report));
    expect(readReport(path, { freshSince: startedAt })).toEqual({ report, absence: null });
  });

  it('refuses a report from before this run, saying when it is from', () => {
    writeFileSync(path, JSON.stringify(report));
    const { report: read, absence } = readReport(path, { freshSince: startedAt + 1 });
    expect(read).toBeNull();
    expect(absence).toBe(`this run wrote no report (${relative(repoRoot, path)} is from ${STARTED_AT})`);
  });

  it('takes any report on disk when nothing was run', () => {
    writeFileSync(path, JSON.stringify(report));
    expect(readReport(path, { freshSince: null }).report).toEqual(report);
  });

  it('says why there is no report: none written by this run, none on disk, or unreadable', () => {
    expect(readReport(path, { freshSince: startedAt }).absence).toBe('this run wrote no report');
    expect(readReport(path, { freshSince: null }).absence).toBe(`no report at ${relative(repoRoot, path)}`);
    writeFileSync(path, '{"runtime":');
    expect(readReport(path, { freshSince: null }).absence).toMatch(/is not a readable report/);
  });
});
