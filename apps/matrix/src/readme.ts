/**
 * Keeps the summary in the root README's "Conformance matrix" section the one docs/MATRIX.md
 * publishes: the lines between the two markers are rewritten on every run, nothing else.
 */
export const SUMMARY_START = '<!-- conformance-summary:start (written by npm run demo) -->';
export const SUMMARY_END = '<!-- conformance-summary:end -->';

/** The README with `lines` between the markers, or null when the markers are missing. */
export function withSummary(readme: string, lines: readonly string[]): string | null {
  const start = readme.indexOf(SUMMARY_START);
  const end = readme.indexOf(SUMMARY_END, start);
  if (start < 0 || end < 0) return null;
  const block = [SUMMARY_START, ...lines.map((line) => `- ${line}`), SUMMARY_END].join('\n');
  return readme.slice(0, start) + block + readme.slice(end + SUMMARY_END.length);
}
