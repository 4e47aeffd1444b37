// The scriptable TLS peer as a process (built to dist/peer/daemon.js). Prints one line,
// {"control":"http://127.0.0.1:PORT"}, once ready; exits after closing every peer on SIGTERM, on the end
// of stdin (so it dies with the parent that piped it) and on POST /shutdown.
import { ensurePki } from '@closenotify/test-pki';
import { ControlServer } from './control.ts';

/** After shutdown nothing should be left to keep the process alive; if something is, say what and exit. */
const EXIT_GRACE_MS = 5_000;

// A misbehaving socket must never take the daemon (and every peer of a test run) down; its errors are
// recorded by the peers, so anything reaching these handlers is a daemon bug worth a loud trace.
process.on('uncaughtException', (error) => {
  process.stderr.write(`peer daemon: uncaught exception: ${error.stack ?? error}\n`);
});
process.on('unhandledRejection', (reason) => {
  process.stderr.write(
    `peer daemon: unhandled rejection: ${reason instanceof Error ? reason.stack : reason}\n`,
  );
});

const pki = await ensurePki();
const control = new ControlServer(pki, () => void shutdown());
const controlUrl = await control.listen();

let shuttingDown: Promise<void> | undefined;
function shutdown(): Promise<void> {
  shuttingDown ??= (async () => {
    await control.close();
    process.stdin.destroy();
    process.off('SIGTERM', onSigterm);
    setTimeout(() => {
      process.stderr.write(
        `peer daemon: still alive after shutdown: ${process.getActiveResourcesInfo().join(', ')}\n`,
      );
      process.exit(1);
    }, EXIT_GRACE_MS).unref();
  })();
  return shuttingDown;
}

const onSigterm = () => void shutdown();
process.on('SIGTERM', onSigterm);
process.stdin.on('end', () => void shutdown());
process.stdin.on('error', () => void shutdown());
process.stdin.resume();

process.stdout.write(`${JSON.stringify({ control: controlUrl })}\n`);
