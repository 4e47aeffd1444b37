/**
 * Reads each runtime's report and expectations from disk. After a run, only a report that run wrote
 * counts: an older file on disk (a runtime that failed to start this time) would publish results
 * nobody just measured.
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { ConformanceReport } from '@closenotify/conformance';
import { loadExpectations, repoRoot, reportPath } from '@closenotify/conformance/node';
import type { RuntimeInput } from './merge.ts';

export interface ReadReportOptions {
  /** Epoch ms: reports started before this are stale. null: take whatever is on disk. */
  freshSince: number | null;
}

export function readReport(
  path: string,
  { freshSince }: ReadReportOptions,
): Pick<RuntimeInput, 'report' | 'absence'> {
  // Repository-relative: the reason ends up in the published docs.
  const shown = relative(repoRoot, path);
  if (!existsSync(path)) {
    return {
      report: null,
      absence: freshSince === null ? `no report at ${shown}` : 'this run wrote no report',
    };
  }
  let report: ConformanceReport;
  try {
    report = JSON.parse(readFileSync(path, 'utf8')) as ConformanceReport;
  } catch (error) {
    return { report: null, absence: `${shown} is not a readable report (${(error as Error).message})` };
  }
  if (freshSince !== null && !(Date.parse(report.startedAt) >= freshSince)) {
    return { report: null, absence: `this run wrote no report (${shown} is from ${report.startedAt})` };
  }
  return { report, absence: null };
}

export function readRuntimeInputs(names: readonly string[], options: ReadReportOptions): RuntimeInput[] {
  return names.map((name) => ({
    name,
    ...readReport(reportPath(name), options),
    expectations: loadExpectations(name),
  }));
}
