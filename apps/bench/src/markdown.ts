/** The Markdown tables of a run: what docs/BENCHMARKS.md embeds and reports/bench.md holds. */
import type { ResultRow } from './aggregate.ts';
import type { Machine } from './machine.ts';
import { METRICS, type MetricName, RUNTIMES, type RuntimeName } from './plan.ts';
import type { BenchReport } from './report.ts';
import type { Spread } from './stats.ts';

const DIGITS: Record<string, number> = { 'MB/s': 0, 'cycles/s': 0, 'handshakes/s': 0, ms: 3, 'KiB/conn': 1 };

function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toFixed(DIGITS[unit] ?? 2);
}

function range(spread: Spread, unit: string): string {
  return `[${format(spread.min, unit)}–${format(spread.max, unit)}]`;
}

/** The headline value: the pooled percentile for latency, else the median over rounds; then the per-round range. */
function sideCell(row: ResultRow, side: 'raw' | 'adapter'): string {
  const headline = row.pooled ? row.pooled[side] : row[side].median;
  return `${format(headline, row.unit)} ${range(row[side], row.unit)}`;
}

function ratioCell(row: ResultRow): string {
  if (!Number.isFinite(row.ratio)) return 'n/a';
  return `**${row.ratio.toFixed(2)}** [${row.min.toFixed(2)}–${row.max.toFixed(2)}]`;
}

function targetCell(row: ResultRow): string {
  if (!row.target) return '–';
  const differences = row.differences;
  const margin = differences
    ? ` (Δ per pair ${format(differences.median, row.unit)} [${format(differences.min, row.unit)} … ${format(differences.max, row.unit)}])`
    : '';
  return `${row.target.met ? '✓' : '✗'} ${row.target.description}${margin}`;
}

function notes(row: ResultRow): string {
  const parts: string[] = [];
  if (row.verified !== undefined) parts.push(row.verified ? 'bytes verified' : '**bytes NOT verified**');
  if (row.pooled) parts.push(`${row.pooled.samples.raw} / ${row.pooled.samples.adapter} connections`);
  if (row.errors > 0) parts.push(`**${row.errors} errors**`);
  return parts.join(', ');
}

function runtimeTitle(runtime: RuntimeName, machine: Machine): string {
  const { version, tls } = machine[runtime];
  return `${runtime} ${version} (${tls})`;
}

function resultsTable(rows: ResultRow[]): string[] {
  const lines = [
    '| metric | unit | raw | adapter | ratio (higher is better) | target | notes |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.metric} | ${row.unit} | ${sideCell(row, 'raw')} | ${sideCell(row, 'adapter')} | ${ratioCell(row)} | ${targetCell(row)} | ${notes(row)} |`,
    );
  }
  return lines;
}

function cpuTable(rows: ResultRow[]): string[] {
  const withCpu = rows.filter((row) => row.cpu);
  if (withCpu.length === 0) return [];
  const share = (value: number) => (Number.isFinite(value) ? `${Math.round(value * 100)} %` : 'n/a');
  return [
    '',
    'CPU, as a share of one core during the timed interval (median over rounds; client / Node server):',
    '',
    '| metric | raw: client / server | adapter: client / server |',
    '|---|---|---|',
    ...withCpu.map(
      (row) =>
        `| ${row.metric} | ${share(row.cpu!.raw.client)} / ${share(row.cpu!.raw.server)} | ${share(row.cpu!.adapter.client)} / ${share(row.cpu!.adapter.server)} |`,
    ),
  ];
}

function machineTable(machine: Machine): string[] {
  return [
    '| | |',
    '|---|---|',
    `| CPU | ${machine.cpu}; ${machine.cores} cores; ${machine.cpuFeatures.join(', ')} |`,
    `| Memory | ${machine.memoryGiB} GiB |`,
    `| OS / kernel | ${machine.os}; Linux ${machine.kernel} |`,
    `| Node | ${machine.node.version}, ${machine.node.tls} |`,
    `| Bun | ${machine.bun.version}, ${machine.bun.tls} |`,
    `| Deno | ${machine.deno.version} (V8 ${machine.deno.v8}), ${machine.deno.tls} |`,
    `| OpenSSL CLI | ${machine.openssl} |`,
  ];
}

function summaryTable(report: BenchReport): string[] {
  const targeted = (Object.keys(METRICS) as MetricName[]).filter((metric) => METRICS[metric].target);
  const runtimes = RUNTIMES.filter((runtime) => report.runtimes.includes(runtime));
  const lines = [`| target | ${runtimes.join(' | ')} |`, `|---|${runtimes.map(() => ':-:').join('|')}|`];
  for (const metric of targeted) {
    const cells = runtimes.map((runtime) => {
      const row = report.results.find((result) => result.runtime === runtime && result.metric === metric);
      if (!row?.target) return '–';
      const spread = row.differences
        ? `Δ ${format(row.differences.min, row.unit)} … ${format(row.differences.max, row.unit)}`
        : `${row.min.toFixed(2)}–${row.max.toFixed(2)}`;
      return `${row.target.met ? '✓' : '✗'} ${spread}`;
    });
    if (cells.every((cell) => cell === '–')) continue;
    lines.push(
      `| ${metric} (${METRICS[metric].target!.kind === 'ratio' ? 'ratio' : 'difference'}: ${describe(metric)}) | ${cells.join(' | ')} |`,
    );
  }
  return lines;
}

function describe(metric: MetricName): string {
  const target = METRICS[metric].target!;
  return target.kind === 'ratio' ? `≥ ${target.atLeast}` : `≤ +${target.atMost} ${METRICS[metric].unit}`;
}

export function renderMarkdown(report: BenchReport): string {
  const lines = [
    `Run: ${report.mode} mode, ${report.startedAt}, ${Math.round(report.wallTimeSeconds)} s wall time, runtimes: ${report.runtimes.join(', ')}.`,
    '',
    '### Machine',
    '',
    ...machineTable(report.machine),
    '',
    '### Targets (spec §8)',
    '',
    `Each cell: met or not, and the spread (min–max) over the interleaved pairs (up to ${report.pairs} per experiment, see each table's range) of the per-pair ratio (adapter/raw for rates) or difference (adapter − raw for latency and memory). A target is met only when the whole spread is on the right side of the line.${report.pinned ? ' Server and client were pinned to separate cores (taskset).' : ''}`,
    '',
    ...summaryTable(report),
  ];
  for (const runtime of RUNTIMES) {
    const rows = report.results.filter((row) => row.runtime === runtime);
    if (rows.length === 0) continue;
    lines.push(
      '',
      `### ${runtimeTitle(runtime, report.machine)}`,
      '',
      ...resultsTable(rows),
      ...cpuTable(rows),
    );
  }
  if (report.references.length > 0) {
    lines.push(
      '',
      '### Reference lines (OpenSSL on the same machine)',
      '',
      '| reference | value | command |',
      '|---|---|---|',
      ...report.references.map(
        (reference) =>
          `| ${reference.name} | ${reference.failure ? `n/a (${reference.failure})` : `${format(reference.value, reference.unit)} ${reference.unit}`} | \`${reference.command}\` |`,
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
