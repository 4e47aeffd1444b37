/** The Node TLS server process every run talks to (servers/node-server.mjs), one fresh per run. */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { serverProgram } from './paths.ts';
import { cpuSecondsOf, endProcess, spawnTracked } from './processes.ts';

export type ServerMode = 'send' | 'sink' | 'echo';

export interface BenchServer {
  port: number;
  /** CPU seconds the server has used so far. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 5_000;

export async function startServer(mode: ServerMode, bytes: number, pkiDir: string): Promise<BenchServer> {
  const child = spawnTracked(
    process.execPath,
    [serverProgram, JSON.stringify({ mode, bytes, pkiDir })],
    'pipe',
    undefined,
    'server',
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const port = await readPort(child).catch((error: unknown) => {
    endProcess(child);
    throw new Error(`the bench server did not start: ${String(error)} ${stderr}`);
  });
  const pid = child.pid!;
  return {
    port,
    cpuSeconds: () => cpuSecondsOf(pid),
    stop: () => stopServer(child),
  };
}

function readPort(child: ChildProcess): Promise<number> {
  const lines = createInterface({ input: child.stdout! });
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`not ready within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      const { port } = JSON.parse(line) as { port?: unknown };
      if (typeof port === 'number') resolve(port);
      else reject(new Error(`unexpected first line: ${line}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with code ${code}`));
    });
  }).finally(() => lines.close());
}

/** Closing stdin ends the server; one that does not exit in time is ended by pid. */
function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => endProcess(child), EXIT_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}
