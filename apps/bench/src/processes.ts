/**
 * Every process the bench starts goes through here: each is tracked by pid and ended by pid (never
 * by name) when it outlives its time limit, when the bench ends, or when the bench is interrupted.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { benchDir } from './paths.ts';

const live = new Map<number, ChildProcess>();

function endTracked(): void {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

process.once('exit', endTracked);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    endTracked();
    process.exit(130);
  });
}

const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };

/** The bench's own processes: the TLS server and the measured client. */
export type ProcessRole = 'server' | 'client';

/** The core each role runs on, once pinProcesses() pinned them; undefined: the scheduler decides. */
let cores: Record<ProcessRole, number> | undefined;

/**
 * Pins the server to core 0 and the client to core 1 (taskset), so that the two never take turns on
 * one core and a run's figures do not hang on where the scheduler put them. Only with two cores or
 * more and taskset present; says whether it pinned.
 */
export function pinProcesses(): boolean {
  const usable = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '1', 'true']).status === 0;
  cores = usable ? { server: 0, client: 1 } : undefined;
  return usable;
}

/** Started in apps/bench unless told otherwise: its package.json and node_modules resolve the clients' imports. */
export function spawnTracked(
  command: string,
  args: string[],
  stdin: 'pipe' | 'ignore',
  cwd = benchDir,
  role?: ProcessRole,
): ChildProcess {
  // taskset execs the command in place: the pid tracked is the program's own.
  const [program, programArgs] =
    role && cores ? ['taskset', ['-c', String(cores[role]), command, ...args]] : [command, args];
  const child = spawn(program, programArgs, { stdio: [stdin, 'pipe', 'pipe'], env: childEnv, cwd });
  const { pid } = child;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  live.set(pid, child);
  child.once('exit', () => live.delete(pid));
  return child;
}

/** Ends one tracked process by its pid. */
export function endProcess(child: ChildProcess): void {
  if (child.pid === undefined || !live.has(child.pid)) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export interface Completed {
  stdout: string;
  stderr: string;
  /** 'exited 0', 'exited 1', 'killed by SIGKILL', 'timed out after N ms'. */
  exit: string;
  ok: boolean;
  wallMs: number;
}

/** Runs a program to its end, or ends it by pid after `timeoutMs`. */
export function runToCompletion(
  command: string,
  args: string[],
  timeoutMs: number,
  role?: ProcessRole,
): Promise<Completed> {
  const startedAt = performance.now();
  const child = spawnTracked(command, args, 'ignore', benchDir, role);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      endProcess(child);
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const exit = timedOut
        ? `timed out after ${timeoutMs} ms`
        : signal
          ? `killed by ${signal}`
          : `exited ${code}`;
      resolve({ stdout, stderr, exit, ok: exit === 'exited 0', wallMs: performance.now() - startedAt });
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ stdout, stderr: `${stderr}${error.message}`, exit: 'failed to start', ok: false, wallMs: 0 });
    });
  });
}

/** The process's user + system CPU seconds so far, from /proc (Linux counts in 1/100 s ticks). */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the parenthesised command name: field 3 (state) first, so utime (14) and stime (15) are 11 and 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
