/** docs/BENCHMARKS.md keeps its prose; a full run replaces the tables between the two markers. */
import { readFileSync, writeFileSync } from 'node:fs';

const TABLES_START = '<!-- bench:tables:start (written by `node apps/bench/dist/cli.js`; do not edit) -->';
const TABLES_END = '<!-- bench:tables:end -->';

/** Returns false when the document or its markers are missing: the tables then stay in reports/ only. */
export function updateDocs(path: string, tables: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  const start = text.indexOf(TABLES_START);
  const end = text.indexOf(TABLES_END);
  if (start < 0 || end < start) return false;
  writeFileSync(path, `${text.slice(0, start + TABLES_START.length)}\n\n${tables}\n${text.slice(end)}`);
  return true;
}
