/** Runs the built `closenotify` bin as a user would, under Node, Bun or Deno, with a hard time bound. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProbeReport } from '../../src/probe/types.ts';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const BIN = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

export type Runtime = 'node' | 'bun' | 'deno';

const COMMANDS: Record<Runtime, () => [string, string[]]> = {
  node: () => [process.execPath, [CLI]],
  bun: () => [BIN('bun'), [CLI]],
  deno: () => [BIN('deno'), ['run', '--allow-net', '--allow-read', '--allow-env', CLI]],
};

/** Far above any probe in these tests (a few seconds): it bounds a hang, it does not measure. */
const RUN_LIMIT_MS = 60_000;

export interface CliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  runtime: Runtime = 'node',
  env: Record<string, string> = {},
): Promise<CliResult> {
  const [command, prefix] = COMMANDS[runtime]();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.once('error', (error) => {
      clearTimeout(limit);
      reject(error);
    });
    child.once('close', (exitCode) => {
      clearTimeout(limit);
      resolve({ exitCode, stdout, stderr });
    });
  });
}

/** `closenotify probe ... --json`, parsed. */
export async function probeJson(
  args: string[],
  runtime: Runtime = 'node',
): Promise<{ exitCode: number | null; report: ProbeReport; stderr: string }> {
  const result = await runCli(['probe', ...args, '--json'], runtime);
  try {
    return {
      exitCode: result.exitCode,
      report: JSON.parse(result.stdout) as ProbeReport,
      stderr: result.stderr,
    };
  } catch (error) {
    throw new Error(`no JSON report (exit ${result.exitCode}): ${result.stdout}\n${result.stderr}`, {
      cause: error,
    });
  }
}

/** finding id -> [verdict, ending], the part of a report each server's known behaviour fixes. */
export function outline(report: ProbeReport): Record<string, [string, unknown]> {
  return Object.fromEntries(
    report.findings.map((finding) => [finding.id, [finding.verdict, finding.evidence.ending ?? null]]),
  );
}
