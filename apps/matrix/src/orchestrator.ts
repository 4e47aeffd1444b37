/** Runs the conformance orchestrator (packages/conformance/dist/cli.js) with its progress on our stderr. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@closenotify/conformance/node';

export const ORCHESTRATOR = join(repoRoot, 'packages', 'conformance', 'dist', 'cli.js');

/** Resolves with the orchestrator's exit code (1 when it is not built, could not start or was killed). */
export function runOrchestrator(args: readonly string[], script = ORCHESTRATOR): Promise<number> {
  if (!existsSync(script)) {
    console.error(`${script} is missing: build @closenotify/conformance first (npm run build)`);
    return Promise.resolve(1);
  }
  return new Promise((resolve) => {
    // Its stdout carries only its per-runtime verdict lines; they stay visible above our matrix.
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', (error) => {
      console.error(`could not start ${script}: ${error.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      if (signal) console.error(`${script} was killed (${signal})`);
      resolve(code ?? 1);
    });
  });
}
