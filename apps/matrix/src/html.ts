/**
 * docs/matrix.html: one self-contained static page (inline CSS and JS, the matrix embedded as JSON,
 * a Content-Security-Policy that forbids every request) with a filterable runtime × case grid, a
 * details panel per cell and the capability table. The grid is rendered here, so the page reads
 * without JavaScript too; page-script.ts adds the filters and the details panel.
 */
import { type Matrix, type RuntimeColumn, summaryLine } from './merge.ts';
import { pageScript } from './page-script.ts';
import { CELL_STATUSES, capabilityText, cellSymbol, legendItems, STATUS_LABEL } from './symbols.ts';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON inside a <script> element: `<` escaped so no string can close the element or open a comment. */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; font-size: 14px; }
body { margin: 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
#summary { margin: 0 0 1rem; padding-left: 1.2rem; }
#controls { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; margin-bottom: .5rem; }
#case-filter { width: 18rem; }
.legend span { margin-right: 1rem; }
table { border-collapse: collapse; }
th, td { border: 1px solid #8884; padding: .2rem .5rem; }
thead th { position: sticky; top: 0; background: Canvas; text-align: center; }
thead small { display: block; font-weight: normal; opacity: .75; }
tbody th { text-align: left; font-weight: normal; font-family: ui-monospace, monospace; }
td.cell { text-align: center; cursor: pointer; min-width: 4.5rem; }
td.cell:focus-visible, td.selected { outline: 2px solid #36c; outline-offset: -2px; }
.status-pass { background: #2a2a; }
.status-fail { background: #d33c; color: #fff; }
.status-unsupported { background: #8884; }
.status-not-run { background: transparent; opacity: .7; }
.status-error { background: #e90c; }
#capabilities td { text-align: center; }
.capability-true { background: #2a2a; }
.capability-false { background: #8884; }
td.unexpected { box-shadow: inset 0 0 0 3px #d33; font-weight: bold; }
#details { position: fixed; right: 1rem; bottom: 1rem; max-width: 32rem; max-height: 70vh; overflow: auto;
  background: Canvas; border: 1px solid #8888; border-radius: 6px; padding: .75rem 1rem; box-shadow: 0 4px 16px #0004; }
#details h2 { margin-top: 0; font-family: ui-monospace, monospace; font-size: 1rem; }
#details dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem .75rem; margin: 0; }
#details dt { font-weight: bold; }
#details dd { margin: 0; white-space: pre-wrap; word-break: break-word; }
#details button { float: right; }
`;

function columnHeader(column: RuntimeColumn): string {
  if (!column.run) {
    const why = escapeHtml(column.absence ?? 'no report');
    return `<th scope="col" data-runtime="${escapeHtml(column.name)}" title="${why}">${escapeHtml(column.name)}<small>no report</small></th>`;
  }
  const { runtime, adapter, startedAt, durationMs } = column.run;
  const run = `${adapter.name} ${adapter.version}, run ${startedAt} in ${durationMs} ms`;
  const about = `${runtime.version} · ${runtime.tls}`;
  return `<th scope="col" data-runtime="${escapeHtml(column.name)}" title="${escapeHtml(run)}">${escapeHtml(column.name)}<small>${escapeHtml(about)}</small></th>`;
}

function cellTitle(runtime: string, status: string, message: string, durationMs: number | null): string {
  const duration = durationMs === null ? '' : ` (${durationMs} ms)`;
  return `${runtime}: ${status}${duration}${message ? ` — ${message}` : ''}`;
}

function gridRows(matrix: Matrix): string {
  return matrix.rows
    .map((row) => {
      const cells = row.cells.map((cell, column) => {
        const classes = ['cell', `status-${cell.status}`, ...(cell.unexpected ? ['unexpected'] : [])];
        const status = STATUS_LABEL[cell.status] + (cell.unexpected ? ', UNEXPECTED' : '');
        const title = cellTitle(matrix.runtimes[column]!.name, status, cell.message, cell.durationMs);
        return `<td class="${classes.join(' ')}" data-column="${column}" data-status="${cell.status}" tabindex="0" title="${escapeHtml(title)}">${cellSymbol(cell)}</td>`;
      });
      return `<tr data-key="${escapeHtml(row.key)}"><th scope="row" title="${escapeHtml(row.requirement)}">${escapeHtml(row.key)}</th>${cells.join('')}</tr>`;
    })
    .join('\n');
}

function capabilityRows(matrix: Matrix): string {
  return matrix.capabilities
    .map((row) => {
      const cells = row.values.map(
        (value) => `<td class="capability-${value}">${capabilityText(value)}</td>`,
      );
      return `<tr><th scope="row">${escapeHtml(row.name)}</th>${cells.join('')}</tr>`;
    })
    .join('\n');
}

export function renderHtml(matrix: Matrix): string {
  const headers = matrix.runtimes.map(columnHeader).join('');
  const statusOptions = CELL_STATUSES.map(
    (status) => `<option value="${status}">${escapeHtml(STATUS_LABEL[status])}</option>`,
  ).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>closenotify conformance matrix</title>
<style>${STYLE}</style>
</head>
<body>
<h1>closenotify conformance matrix</h1>
<ul id="summary">
${matrix.runtimes.map((column) => `<li>${escapeHtml(summaryLine(column))}</li>`).join('\n')}
</ul>
<div id="controls">
<label>Case <input id="case-filter" type="search" placeholder="filter by case id" autocomplete="off"></label>
<label>Status <select id="status-filter"><option value="">any</option>${statusOptions}<option value="unexpected">unexpected</option></select></label>
<span id="row-count"></span>
</div>
<p class="legend">${legendItems()
    .map((item) => `<span>${escapeHtml(item)}</span>`)
    .join('')} — hover a cell for its message, click it for the details.</p>
<table id="matrix">
<thead><tr><th scope="col">case</th>${headers}</tr></thead>
<tbody>
${gridRows(matrix)}
</tbody>
</table>
<h2>Capabilities</h2>
<table id="capabilities">
<thead><tr><th scope="col">capability</th>${headers}</tr></thead>
<tbody>
${capabilityRows(matrix)}
</tbody>
</table>
<aside id="details" hidden><button type="button" aria-label="close">×</button><h2></h2><dl></dl></aside>
<script type="application/json" id="matrix-data">${embedJson(matrix)}</script>
<script>(${pageScript.toString()})();</script>
</body>
</html>
`;
}
