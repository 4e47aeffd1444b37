import { existsSync } from 'node:fs';
import { createRequire as createResolver } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/bench: the bundle (dist/cli.js) and the sources (src/*.ts) both sit one level below it. */
export const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = join(benchDir, '..', '..');
export const serverProgram = join(benchDir, 'servers', 'node-server.mjs');
export const docsPath = join(repoRoot, 'docs', 'BENCHMARKS.md');
export const defaultReportDir = join(repoRoot, 'reports');

export function clientProgram(file: string): string {
  return join(benchDir, 'clients', file);
}

const resolveFromBench = createResolver(join(benchDir, 'package.json'));

/**
 * The runtime binaries themselves (the pinned npm packages), not node_modules/.bin shims: every
 * spawned process must be the one whose pid we track and end.
 */
export function runtimeBinary(runtime: 'bun' | 'deno'): string {
  const packageDir = dirname(resolveFromBench.resolve(`${runtime}/package.json`));
  const binary = runtime === 'bun' ? join(packageDir, 'bin', 'bun.exe') : join(packageDir, 'deno');
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run the install first`);
  return binary;
}
