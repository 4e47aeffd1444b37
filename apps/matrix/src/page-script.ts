/**
 * The matrix page's behaviour, run in the browser. html.ts inlines this function's source text, so
 * it must stay self-contained: no imports at run time and no reference to anything outside its body
 * (type imports are fine, they are erased).
 */
import type { Matrix } from './merge.ts';

export function pageScript(): void {
  const data = JSON.parse(document.getElementById('matrix-data')!.textContent!) as Matrix;
  const caseFilter = document.getElementById('case-filter') as HTMLInputElement;
  const statusFilter = document.getElementById('status-filter') as HTMLSelectElement;
  const rowCount = document.getElementById('row-count')!;
  const details = document.getElementById('details')!;
  const rows = Array.from(document.querySelectorAll<HTMLTableRowElement>('#matrix tbody tr'));

  function matchesStatus(row: Matrix['rows'][number], wanted: string): boolean {
    if (wanted === '') return true;
    if (wanted === 'unexpected') return row.cells.some((cell) => cell.unexpected);
    return row.cells.some((cell) => cell.status === wanted);
  }

  function applyFilters(): void {
    const text = caseFilter.value.trim().toLowerCase();
    let shown = 0;
    rows.forEach((tr, index) => {
      const row = data.rows[index]!;
      const visible = row.key.toLowerCase().includes(text) && matchesStatus(row, statusFilter.value);
      tr.hidden = !visible;
      if (visible) shown += 1;
    });
    rowCount.textContent = `${shown} of ${rows.length} cases`;
  }

  function field(label: string, value: string): void {
    const term = document.createElement('dt');
    term.textContent = label;
    const description = document.createElement('dd');
    description.textContent = value;
    details.querySelector('dl')!.append(term, description);
  }

  function showDetails(rowIndex: number, columnIndex: number): void {
    const row = data.rows[rowIndex]!;
    const cell = row.cells[columnIndex]!;
    const column = data.runtimes[columnIndex]!;
    details.querySelector('h2')!.textContent = `${row.key} on ${column.name}`;
    details.querySelector('dl')!.replaceChildren();
    field('status', cell.status + (cell.unexpected ? ' (UNEXPECTED)' : ''));
    field('expected', cell.expected + (cell.reason ? ` — ${cell.reason}` : ''));
    field('message', cell.message || '(none)');
    field('duration', cell.durationMs === null ? '—' : `${cell.durationMs} ms`);
    field('requirement', row.requirement);
    field('source', row.source);
    details.hidden = false;
    document.querySelector('td.selected')?.classList.remove('selected');
    rows[rowIndex]!.cells[columnIndex + 1]!.classList.add('selected');
  }

  document.querySelector('#matrix tbody')!.addEventListener('click', (event) => {
    const td = (event.target as Element).closest('td[data-column]');
    if (!td) return;
    const tr = td.parentElement as HTMLTableRowElement;
    showDetails(rows.indexOf(tr), Number((td as HTMLElement).dataset.column));
  });
  // Cells are focusable (tabindex): Enter or Space opens the details, as a click does.
  document.querySelector('#matrix tbody')!.addEventListener('keydown', (event) => {
    const td = (event.target as Element).closest<HTMLElement>('td[data-column]');
    const key = (event as KeyboardEvent).key;
    if (td && (key === 'Enter' || key === ' ')) {
      event.preventDefault();
      td.click();
    }
  });
  details.querySelector('button')!.addEventListener('click', () => {
    details.hidden = true;
  });
  caseFilter.addEventListener('input', applyFilters);
  statusFilter.addEventListener('change', applyFilters);
  applyFilters();
}
