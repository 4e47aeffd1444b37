/** `cli.js [--quick] [--runtime node|bun|deno]... [--out <dir>] [--no-docs] [--no-pin] [--only <experiment>]... [--idle-connections <n>]` */
import { defaultReportDir } from './paths.ts';
import { type Mode, RUNTIMES, type RuntimeName } from './plan.ts';

export interface Options {
  mode: Mode;
  runtimes: RuntimeName[];
  /** Where bench.json and bench.md go. */
  outDir: string;
  /** Only a full run over every runtime rewrites the tables in docs/BENCHMARKS.md. */
  updateDocs: boolean;
  /** Pin the server and the client to separate cores where the machine allows it (default). */
  pin: boolean;
  /** Only these experiments (by name); empty: all. */
  only: string[];
  /** Idle connections per idle-memory run, instead of the mode's count. */
  idleConnections: number | undefined;
}

const USAGE = `usage: node apps/bench/dist/cli.js [--quick] [--runtime ${RUNTIMES.join('|')}]... [--out <dir>] [--no-docs] [--no-pin] [--only <experiment>]... [--idle-connections <n>]`;

export function parseOptions(args: readonly string[]): Options {
  let mode: Mode = 'full';
  const runtimes: RuntimeName[] = [];
  let outDir = defaultReportDir;
  let docs = true;
  let pin = true;
  const only: string[] = [];
  let idleConnections: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === '--quick') mode = 'quick';
    else if (arg === '--no-docs') docs = false;
    else if (arg === '--no-pin') pin = false;
    else if (arg === '--out') outDir = value();
    else if (arg === '--only') only.push(...value().split(','));
    else if (arg === '--idle-connections') {
      idleConnections = Number(value());
      if (!Number.isInteger(idleConnections) || idleConnections < 1) {
        throw new Error(`--idle-connections takes a positive integer\n${USAGE}`);
      }
    } else if (arg === '--runtime') {
      for (const name of value().split(',')) {
        if (name === 'all') runtimes.push(...RUNTIMES);
        else if ((RUNTIMES as readonly string[]).includes(name)) runtimes.push(name as RuntimeName);
        else throw new Error(`unknown runtime ${name}\n${USAGE}`);
      }
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  const selected = runtimes.length === 0 ? [...RUNTIMES] : RUNTIMES.filter((name) => runtimes.includes(name));
  return {
    mode,
    runtimes: selected,
    outDir,
    // A partial run (some experiments, other sizes) never rewrites the published tables.
    updateDocs:
      docs && mode === 'full' && selected.length === RUNTIMES.length && only.length === 0 && !idleConnections,
    pin,
    only,
    idleConnections,
  };
}
