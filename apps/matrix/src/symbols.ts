/** How a cell and a capability look in text: shared by the terminal, Markdown and HTML renderers. */
import type { CellStatus, MatrixCell } from './merge.ts';

/** In legend order. */
export const CELL_STATUSES: readonly CellStatus[] = ['pass', 'fail', 'unsupported', 'not-run', 'error'];

export const STATUS_SYMBOL: Record<CellStatus, string> = {
  pass: '✓',
  fail: '✗',
  unsupported: '–',
  'not-run': '·',
  error: '!',
};

export const STATUS_LABEL: Record<CellStatus, string> = {
  pass: 'pass',
  fail: 'fail',
  unsupported: 'unsupported',
  'not-run': 'not run',
  error: 'error',
};

/** Marks a cell whose result is not what the runtime's expectations file says. */
export const UNEXPECTED_MARK = '*';

export function legendItems(): string[] {
  return [
    ...CELL_STATUSES.map((status) => `${STATUS_SYMBOL[status]} ${STATUS_LABEL[status]}`),
    `${UNEXPECTED_MARK} unexpected`,
  ];
}

export function cellSymbol(cell: Pick<MatrixCell, 'status' | 'unexpected'>): string {
  return `${STATUS_SYMBOL[cell.status]}${cell.unexpected ? UNEXPECTED_MARK : ''}`;
}

/** null: no report from that runtime. */
export function capabilityText(value: boolean | null): string {
  if (value === null) return STATUS_SYMBOL['not-run'];
  return value ? 'yes' : 'no';
}
