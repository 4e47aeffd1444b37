/**
 * Merges the per-runtime conformance reports into one runtime × case matrix, judged against each
 * runtime's checked-in expectations. Pure data in, data out: the terminal, Markdown and HTML
 * renderers all draw this one model, so they can never disagree.
 */

import {
  type CaseStatus,
  type CatalogueEntry,
  type ConformanceReport,
  type Expectations,
  expectedStatus,
  meetsExpectation,
  NOT_RUN_PREFIX,
  type RuntimeInfo,
  resultKey,
} from '@closenotify/conformance';
import type { Capabilities } from '@closenotify/core';

/** The runtimes every matrix has a column for, in column order. */
export const RUNTIME_NAMES = ['node', 'bun', 'deno'] as const;

/** A report status, or `not-run`: no report, no result for the entry, or a third-party peer absent. */
export type CellStatus = CaseStatus | 'not-run';

export interface RuntimeInput {
  name: string;
  /** null when this run produced no usable report; `absence` says why. */
  report: ConformanceReport | null;
  absence: string | null;
  expectations: Expectations;
}

export interface MergeOptions {
  /** As the orchestrator judges in CI: an interop case whose third-party peer is absent is unexpected. */
  notRunFails: boolean;
}

export interface MatrixCell {
  status: CellStatus;
  message: string;
  durationMs: number | null;
  expected: CaseStatus;
  /** Why the expectations file expects a non-pass; null when it expects a pass. */
  reason: string | null;
  unexpected: boolean;
}

export interface MatrixRow {
  key: string;
  requirement: string;
  source: string;
  /** One per runtime, in `Matrix.runtimes` order. */
  cells: MatrixCell[];
}

/** What a report says about its run. */
export interface RunInfo {
  runtime: RuntimeInfo;
  adapter: { name: string; version: string };
  startedAt: string;
  durationMs: number;
}

export interface RuntimeColumn {
  name: string;
  /** null without a report; `absence` says why. */
  run: RunInfo | null;
  absence: string | null;
  counts: Record<CellStatus, number>;
  /** Keys whose result is not the expected one. */
  unexpected: string[];
  /** Expectations that name no catalogue entry: stale, so unexpected too. */
  staleExpectations: string[];
}

export interface CapabilityRow {
  /** A capability flag, or one session-info field as `sessionInfo.<field>`. */
  name: string;
  /** One per runtime; null without a report. */
  values: Array<boolean | null>;
}

export interface Matrix {
  runtimes: RuntimeColumn[];
  rows: MatrixRow[];
  capabilities: CapabilityRow[];
}

export function mergeReports(
  entries: readonly CatalogueEntry[],
  inputs: readonly RuntimeInput[],
  options: MergeOptions,
): Matrix {
  const resultsByRuntime = inputs.map(
    (input) => new Map((input.report?.results ?? []).map((result) => [resultKey(result), result])),
  );
  const rows = entries.map(
    (entry): MatrixRow => ({
      key: entry.key,
      requirement: entry.case.requirement,
      source: entry.case.source,
      cells: inputs.map((input, column) => cellFor(entry.key, input, resultsByRuntime[column]!, options)),
    }),
  );
  const catalogueKeys = new Set(entries.map((entry) => entry.key));
  const runtimes = inputs.map((input, column): RuntimeColumn => {
    const cells = rows.map((row) => row.cells[column]!);
    const counts: Record<CellStatus, number> = { pass: 0, fail: 0, unsupported: 0, 'not-run': 0, error: 0 };
    for (const cell of cells) counts[cell.status] += 1;
    const stale = input.report
      ? Object.keys(input.expectations.expected).filter((key) => !catalogueKeys.has(key))
      : [];
    return {
      name: input.name,
      run: input.report && {
        runtime: input.report.runtime,
        adapter: { name: input.report.adapter.name, version: input.report.adapter.version },
        startedAt: input.report.startedAt,
        durationMs: input.report.durationMs,
      },
      absence: input.report ? null : input.absence,
      counts,
      unexpected: rows.filter((_, i) => cells[i]!.unexpected).map((row) => row.key),
      staleExpectations: stale,
    };
  });
  return { runtimes, rows, capabilities: capabilityRows(inputs.map((input) => input.report)) };
}

function cellFor(
  key: string,
  input: RuntimeInput,
  results: ReadonlyMap<string, ConformanceReport['results'][number]>,
  options: MergeOptions,
): MatrixCell {
  const expected = expectedStatus(input.expectations, key);
  const reason = input.expectations.expected[key]?.reason ?? null;
  if (!input.report) {
    return {
      status: 'not-run',
      message: input.absence ?? 'no report',
      durationMs: null,
      expected,
      reason,
      unexpected: false,
    };
  }
  const result = results.get(key);
  if (!result) {
    // A full run reports every catalogue entry: a gap means the report and the catalogue disagree.
    return {
      status: 'not-run',
      message: 'no result in the report',
      durationMs: null,
      expected,
      reason,
      unexpected: true,
    };
  }
  const notRun = result.status === 'unsupported' && result.message.startsWith(NOT_RUN_PREFIX);
  return {
    status: notRun ? 'not-run' : result.status,
    message: result.message,
    durationMs: result.durationMs,
    expected,
    reason,
    unexpected: !meetsExpectation(result, expected, options),
  };
}

/** Every flag in the order the reports list them, `sessionInfo` spelled out field by field. */
function capabilityRows(reports: ReadonlyArray<ConformanceReport | null>): CapabilityRow[] {
  const flattened = reports.map((report) =>
    report ? flattenCapabilities(report.adapter.capabilities) : null,
  );
  const names = [...new Set(flattened.flatMap((flags) => (flags ? [...flags.keys()] : [])))];
  return names.map((name) => ({ name, values: flattened.map((flags) => flags?.get(name) ?? null) }));
}

function flattenCapabilities(capabilities: Capabilities): Map<string, boolean> {
  const flags = new Map<string, boolean>();
  for (const [name, value] of Object.entries(capabilities)) {
    if (typeof value === 'boolean') flags.set(name, value);
    else
      for (const [field, supported] of Object.entries(value))
        flags.set(`${name}.${field}`, supported === true);
  }
  return flags;
}

/** `node 20.20.2 (OpenSSL 3.0.19): 72 pass, 0 fail, 7 unsupported, 0 error — as expected` */
export function summaryLine(column: RuntimeColumn): string {
  if (!column.run) return `${column.name}: no report — ${column.absence ?? 'not run'}`;
  const { runtime } = column.run;
  const { counts } = column;
  const notRun = counts['not-run'] > 0 ? `, ${counts['not-run']} not run` : '';
  const unexpected = unexpectedCount(column);
  const verdict = unexpected === 0 ? 'as expected' : `${unexpected} UNEXPECTED`;
  return (
    `${column.name} ${runtime.version} (${runtime.tls}): ${counts.pass} pass, ${counts.fail} fail, ` +
    `${counts.unsupported} unsupported, ${counts.error} error${notRun} — ${verdict}`
  );
}

export function unexpectedCount(column: RuntimeColumn): number {
  return column.unexpected.length + column.staleExpectations.length;
}

export function isAsExpected(matrix: Matrix): boolean {
  return matrix.runtimes.every((column) => unexpectedCount(column) === 0);
}
