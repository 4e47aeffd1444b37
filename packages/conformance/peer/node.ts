/**
 * Node-only helpers of the suite (`@closenotify/conformance/node`): the peer daemon, the checked-in
 * expectations and the report files. The cases themselves never need them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConformanceReport, Expectations } from '../src/report.ts';

export { runtimeResources } from './runtime-resources.ts';
export { type PeerDaemon, spawnPeerDaemon } from './spawn.ts';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = join(packageRoot, '..', '..');

export function expectationsPath(runtime: string): string {
  return join(packageRoot, 'expectations', `${runtime}.json`);
}

export function loadExpectations(runtime: string): Expectations {
  const path = expectationsPath(runtime);
  if (!existsSync(path)) return { runtime, expected: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Expectations;
  for (const [key, entry] of Object.entries(parsed.expected)) {
    if (!entry.reason?.trim()) throw new Error(`${path}: "${key}" has no reason`);
  }
  return parsed;
}

export function reportPath(runtime: string): string {
  return join(repoRoot, 'reports', `conformance-${runtime}.json`);
}

export function writeReport(report: ConformanceReport): string {
  const path = reportPath(report.runtime.name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
