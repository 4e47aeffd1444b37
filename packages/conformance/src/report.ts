/**
 * The conformance report (one JSON file per runtime) and the checked-in expectations it is judged
 * against: any result other than the expected one, better or worse, fails the run.
 */
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
  adapter: { name: string; version: string };
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

export function judge(
  report: ConformanceReport,
  expectations: Expectations,
  options: { partial?: boolean } = {},
): Verdict {
  const counts: Record<CaseStatus, number> = { pass: 0, fail: 0, unsupported: 0, error: 0 };
  const unexpected: Verdict['unexpected'] = [];
  const seen = new Set<string>();
  for (const result of report.results) {
    counts[result.status] += 1;
    const key = resultKey(result);
    seen.add(key);
    const expected = expectations.expected[key]?.status ?? 'pass';
    if (expected !== result.status)
      unexpected.push({ key, expected, actual: result.status, message: result.message });
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
