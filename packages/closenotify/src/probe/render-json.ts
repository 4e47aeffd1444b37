/** `--json`: the report as is, one object (schema closenotify.probe/1, documented in docs/probe.md). */
import type { ProbeReport } from './types.ts';

export function renderJson(report: ProbeReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
