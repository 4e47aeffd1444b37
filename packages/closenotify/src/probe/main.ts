/** `closenotify <command> ...` for a given adapter and output streams: returns the exit code. */
import { readFile } from 'node:fs/promises';
import { parseProbeArgs, USAGE, UsageError } from './args.ts';
import type { Progress } from './checks.ts';
import { renderHuman } from './render-human.ts';
import { renderJson } from './render-json.ts';
import { runProbe } from './run.ts';
import { EXIT, type ExitCode, type ProbeAdapter } from './types.ts';

export interface Output {
  write(text: string): void;
  isTTY: boolean;
}

export interface Streams {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
}

/** Waits of this length or more are announced even when stderr is not a terminal. */
const ANNOUNCE_WAIT_MS = 15_000;

/** A ticking line on a terminal; otherwise one line for a long wait. */
function progressOn(stderr: Output): Progress {
  return {
    wait(label, ms) {
      const started = Date.now();
      if (!stderr.isTTY) {
        if (ms >= ANNOUNCE_WAIT_MS) stderr.write(`waiting up to ${Math.round(ms / 1000)} s for ${label}\n`);
        return () => {};
      }
      const draw = () =>
        stderr.write(
          `\r\u001b[2Kwaiting for ${label}: ${Math.round((Date.now() - started) / 1000)} s of ${Math.round(ms / 1000)} s`,
        );
      draw();
      const ticker = setInterval(draw, 1000);
      return () => {
        clearInterval(ticker);
        stderr.write('\r\u001b[2K');
      };
    },
  };
}

function wantsColour(explicit: boolean | null, streams: Streams): boolean {
  if (explicit !== null) return explicit;
  if (streams.env.NO_COLOR) return false;
  if (streams.env.FORCE_COLOR && streams.env.FORCE_COLOR !== '0') return true;
  return streams.stdout.isTTY && streams.env.TERM !== 'dumb';
}

export async function main(
  argv: readonly string[],
  adapter: ProbeAdapter,
  streams: Streams,
): Promise<ExitCode> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    streams.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (command !== 'probe') {
    streams.stderr.write(
      `closenotify: ${command === undefined ? 'missing command' : `unknown command "${command}"`}\n\n${USAGE}\n`,
    );
    return EXIT.usage;
  }
  let parsed: ReturnType<typeof parseProbeArgs>;
  try {
    parsed = parseProbeArgs(rest);
    if (parsed.help) {
      streams.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (parsed.caPath !== null) {
      const path = parsed.caPath;
      const pem = await readFile(path, 'utf8').catch((error: Error) => {
        throw new UsageError(`--ca: cannot read ${path}: ${error.message}`);
      });
      if (!pem.includes('-----BEGIN CERTIFICATE-----'))
        throw new UsageError(`--ca: ${path} holds no PEM certificate`);
      parsed.options.ca = { path, pem };
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    streams.stderr.write(`closenotify probe: ${error.message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { options } = parsed;
  const report = await runProbe(adapter, options, progressOn(streams.stderr));
  streams.stdout.write(
    options.json ? renderJson(report) : renderHuman(report, wantsColour(options.color, streams)),
  );
  return report.exitCode;
}
