/** The report (reports/bench.json): what a run measured, on what, and every run behind it. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PairedRun, ResultRow } from './aggregate.ts';
import type { Machine } from './machine.ts';
import type { Mode, RuntimeName } from './plan.ts';
import type { Reference } from './references.ts';

export interface BenchReport {
  machine: Machine;
  results: ResultRow[];
  mode: Mode;
  runtimes: RuntimeName[];
  startedAt: string;
  wallTimeSeconds: number;
  /** Interleaved raw/adapter pairs per experiment (rounds). */
  pairs: number;
  /** Server and client ran pinned to separate cores. */
  pinned: boolean;
  /** OpenSSL's tools on the same machine (full runs only). */
  references: Reference[];
  /** Every run of every round, both sides, as the clients reported them. */
  runs: PairedRun[];
}

export function writeFileCreatingDir(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
