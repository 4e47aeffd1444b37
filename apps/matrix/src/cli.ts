/**
 * `npm run demo` (`node apps/matrix/dist/cli.js [--no-run]`): runs the conformance suite on Node, Bun
 * and Deno through the orchestrator, merges the reports into one matrix, prints it, and publishes it
 * as docs/MATRIX.md, docs/matrix.html and the summary in README.md. `--no-run` republishes the
 * reports already on disk.
 * Exits non-zero when the orchestrator failed or a result is not the expected one.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { catalogueEntries } from '@closenotify/conformance';
import { repoRoot } from '@closenotify/conformance/node';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { isAsExpected, type Matrix, mergeReports, RUNTIME_NAMES, summaryLine } from './merge.ts';
import { runOrchestrator } from './orchestrator.ts';
import { publishPage } from './publish.ts';
import { withSummary } from './readme.ts';
import { readRuntimeInputs } from './reports.ts';
import { renderTerminal } from './terminal.ts';

function isCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/** The page's path, and whether this run changed it (a run whose only news is its timings does not). */
function publish(name: string, render: (matrix: Matrix) => string, matrix: Matrix): string {
  const path = join(repoRoot, 'docs', name);
  mkdirSync(join(repoRoot, 'docs'), { recursive: true });
  const written = publishPage(path, render, matrix);
  return `${relative(repoRoot, path)}${written ? '' : ' (unchanged but for timings: left as it was)'}`;
}

/** Rewrites the summary block of the root README; says so when its markers are gone. */
function publishReadmeSummary(matrix: Matrix): string[] {
  const path = join(repoRoot, 'README.md');
  const updated = withSummary(readFileSync(path, 'utf8'), matrix.runtimes.map(summaryLine));
  if (updated === null) {
    console.error('README.md has no conformance-summary markers: its summary was left as it is');
    return [];
  }
  writeFileSync(path, updated);
  return ['README.md'];
}

async function main(): Promise<number> {
  const run = !process.argv.slice(2).includes('--no-run');
  const startedAt = Date.now();
  const orchestratorExit = run ? await runOrchestrator(['--runtime', 'all']) : 0;
  const inputs = readRuntimeInputs(RUNTIME_NAMES, { freshSince: run ? startedAt : null });
  const matrix = mergeReports(catalogueEntries(), inputs, { notRunFails: isCi() });
  console.log(`\n${renderTerminal(matrix)}\n`);
  const published = [
    publish('MATRIX.md', renderMarkdown, matrix),
    publish('matrix.html', renderHtml, matrix),
    ...publishReadmeSummary(matrix),
  ];
  console.log(`Published ${published.join(', ')}`);
  if (orchestratorExit !== 0) {
    console.error(`The conformance run failed (exit code ${orchestratorExit}).`);
    return orchestratorExit;
  }
  return isAsExpected(matrix) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
