// Starts the peer daemon as a child process of a Node test run. The daemon reads its stdin and exits when
// it ends, so it cannot outlive this process even when stop() is never reached.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export interface PeerDaemon {
  controlUrl: string;
  pid: number;
  /** Closes the daemon's stdin and waits for it to exit; rejects if it exits abnormally. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

export async function spawnPeerDaemon(): Promise<PeerDaemon> {
  const daemonPath = fileURLToPath(new URL('../dist/peer/daemon.js', import.meta.url));
  if (!existsSync(daemonPath)) {
    throw new Error(`${daemonPath} is missing: build @closenotify/conformance first (npx tsup)`);
  }
  const child = spawn(process.execPath, [daemonPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  // The pipe breaks when the daemon exits first (POST /shutdown, SIGTERM); that is no error of ours.
  child.stdin.on('error', () => {});
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`));
  });
  let controlUrl: string;
  try {
    controlUrl = await readControlUrl(child, exited);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    controlUrl,
    pid: child.pid as number,
    stop: () => {
      stopping ??= stopDaemon(child, exited);
      return stopping;
    },
  };
}

type DaemonProcess = ChildProcessByStdio<Writable, Readable, null>;

async function readControlUrl(child: DaemonProcess, exited: Promise<string>): Promise<string> {
  const lines = createInterface({ input: child.stdout });
  let timer: NodeJS.Timeout | undefined;
  try {
    const line = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      exited.then((how) =>
        Promise.reject(new Error(`the peer daemon exited with ${how} before it was ready`)),
      ),
      new Promise<never>((_, reject) => {
        child.once('error', reject);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the peer daemon was not ready within ${STARTUP_TIMEOUT_MS} ms`)),
          STARTUP_TIMEOUT_MS,
        );
      }),
    ]);
    const { control } = JSON.parse(line) as { control?: unknown };
    if (typeof control !== 'string') throw new Error(`unexpected first line from the peer daemon: ${line}`);
    return control;
  } finally {
    clearTimeout(timer);
    lines.close();
    // Nothing else is expected on stdout; drain it so the daemon can never block on a full pipe.
    child.stdout.resume();
  }
}

async function stopDaemon(child: DaemonProcess, exited: Promise<string>): Promise<void> {
  child.stdin.end();
  let timer: NodeJS.Timeout | undefined;
  const how = await Promise.race([
    exited,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), EXIT_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (how === undefined) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`the peer daemon did not exit within ${EXIT_TIMEOUT_MS} ms of its stdin closing`);
  }
  if (how !== 'code 0') throw new Error(`the peer daemon exited with ${how}`);
}
