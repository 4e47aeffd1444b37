/**
 * The conformance report (one JSON file per runtime) and the checked-in expectations it is judged
 * against: any result other than the expected one, better or worse, fails the run.
 */
import type { Capabilities } from '@closenotify/core';
import { NOT_RUN_PREFIX } from './assert.ts';
import type { RuntimeInfo } from './case.ts';
import type { TlsVersion } from './peer-client.ts';

export type CaseStatus = 'pass' | 'fail' | 'unsupported' | 'error';

export interface CaseResult {
  id: string;
  tls: TlsVersion | null;
  status: CaseStatus;
  message: string;
  durationMs: number;
}

export interface ConformanceReport {
  runtime: RuntimeInfo;
  adapter: { name: string; version: string; capabilities: Capabilities };
  startedAt: string;
  durationMs: number;
  results: CaseResult[];
}

/** Every result that is not `pass`, with the reason it is expected. */
export interface Expectations {
  runtime: string;
  expected: Record<string, { status: Exclude<CaseStatus, 'pass'>; reason: string }>;
}

export function resultKey(result: Pick<CaseResult, 'id' | 'tls'>): string {
  return result.tls ? `${result.id}@${result.tls}` : result.id;
}

export interface Verdict {
  unexpected: Array<{ key: string; expected: CaseStatus; actual: CaseStatus; message: string }>;
  /** Expectations that name no case in the run: stale entries are errors too. */
  stale: string[];
  counts: Record<CaseStatus, number>;
}

export function expectedStatus(expectations: Expectations, key: string): CaseStatus {
  return expectations.expected[key]?.status ?? 'pass';
}

/** A result meets its expectation, or is an interop case whose peer is not installed here (outside CI). */
export function meetsExpectation(
  result: Pick<CaseResult, 'status' | 'message'>,
  expected: CaseStatus,
  options: Pick<JudgeOptions, 'notRunFails'> = {},
): boolean {
  if (result.status === expected) return true;
  return result.status === 'unsupported' && result.message.startsWith(NOT_RUN_PREFIX) && !options.notRunFails;
}

export interface JudgeOptions {
  /** A filtered run: expectations for entries not in it are not stale. */
  partial?: boolean;
  /** In CI every third-party peer is installed, so a "not run" interop case is a failure there. */
  notRunFails?: boolean;
}

export function judge(
  report: ConformanceReport,
  expectations: Expectations,
  options: JudgeOptions = {},
): Verdict {
  const counts: Record<CaseStatus, number> = { pass: 0, fail: 0, unsupported: 0, error: 0 };
  const unexpected: Verdict['unexpected'] = [];
  const seen = new Set<string>();
  for (const result of report.results) {
    counts[result.status] += 1;
    const key = resultKey(result);
    seen.add(key);
    const expected = expectedStatus(expectations, key);
    if (!meetsExpectation(result, expected, options)) {
      unexpected.push({ key, expected, actual: result.status, message: result.message });
    }
  }
  const stale = options.partial ? [] : Object.keys(expectations.expected).filter((key) => !seen.has(key));
  return { unexpected, stale, counts };
}

/** The plain closing line: passes, unexpected results, and the expected non-passes (unsupported ones). */
export function summaryLine(verdict: Verdict): string {
  const total = Object.values(verdict.counts).reduce((sum, n) => sum + n, 0);
  const failed = verdict.unexpected.length + verdict.stale.length;
  const skipped = total - verdict.counts.pass - verdict.unexpected.filter((u) => u.actual !== 'pass').length;
  return `${verdict.counts.pass} passed, ${failed} failed, ${skipped} skipped`;
}
