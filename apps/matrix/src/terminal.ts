/**
 * The matrix for a terminal: plain text, no colour (CI logs stay readable), one symbol per cell,
 * then the capability table and one summary line per runtime.
 */
import { type Matrix, summaryLine } from './merge.ts';
import { capabilityText, cellSymbol, legendItems, STATUS_LABEL } from './symbols.ts';

function table(header: string[], body: string[][]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => cells[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)];
}

export function renderMatrixTable(matrix: Matrix): string[] {
  const body = matrix.rows.map((row) => [row.key, ...row.cells.map(cellSymbol)]);
  return table(['case', ...matrix.runtimes.map((column) => column.name)], body);
}

export function renderCapabilityTable(matrix: Matrix): string[] {
  const body = matrix.capabilities.map((row) => [row.name, ...row.values.map(capabilityText)]);
  return table(['capability', ...matrix.runtimes.map((column) => column.name)], body);
}

/** Each unexpected cell with what was expected and what the runtime said, then stale expectations. */
function unexpectedDetails(matrix: Matrix): string[] {
  const cells = matrix.rows.flatMap((row) =>
    row.cells.flatMap((cell, column) => {
      if (!cell.unexpected) return [];
      const runtime = matrix.runtimes[column]!.name;
      const message = cell.message ? ` — ${cell.message}` : '';
      return [
        `  UNEXPECTED ${runtime} ${row.key}: expected ${cell.expected}, got ${STATUS_LABEL[cell.status]}${message}`,
      ];
    }),
  );
  const stale = matrix.runtimes.flatMap((column) =>
    column.staleExpectations.map(
      (key) => `  UNEXPECTED ${column.name} ${key}: the expectations name no case in the catalogue (stale)`,
    ),
  );
  return [...cells, ...stale];
}

export function renderTerminal(matrix: Matrix): string {
  return [
    `Conformance matrix: ${matrix.rows.length} cases × ${matrix.runtimes.length} runtimes`,
    legendItems().join('  '),
    '',
    ...renderMatrixTable(matrix),
    '',
    ...renderCapabilityTable(matrix),
    '',
    ...matrix.runtimes.map(summaryLine),
    ...unexpectedDetails(matrix),
  ].join('\n');
}
