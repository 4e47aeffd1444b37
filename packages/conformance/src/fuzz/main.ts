/**
 * The entry every runtime's fuzz script calls: `--control <url>` (the peer daemon), `--runs n`,
 * `--seed s`, `--concurrency c`, `--shrink-ms t`. Progress and failures go to stderr, the JSON
 * summary to stdout.
 */
import type { AdapterUnderTest, RuntimeInfo } from '../case.ts';
import { PeerClient } from '../peer-client.ts';
import type { EscapedErrors } from '../runner.ts';
import { describeFailures, runFuzz } from './run.ts';

export interface FuzzCommandLine {
  adapter: AdapterUnderTest;
  runtime: RuntimeInfo;
  args: readonly string[];
  escaped: EscapedErrors;
  /** See RunOptions.runtimeResources; given the control URL so the daemon connections can be left out. */
  runtimeResources?: (controlUrl: string) => () => string[];
}

export async function runFuzzFromCommandLine({
  adapter,
  runtime,
  args,
  escaped,
  runtimeResources,
}: FuzzCommandLine): Promise<void> {
  const control = flag(args, '--control');
  if (!control)
    throw new Error('usage: <entry> --control <peer daemon url> [--runs n] [--seed s] [--concurrency c]');
  const peer = new PeerClient(control);
  const pki = await peer.pki();
  const summary = await runFuzz(
    {
      adapter,
      peer,
      pki,
      runtime,
      escaped,
      ...(runtimeResources ? { runtimeResources: runtimeResources(control) } : {}),
    },
    {
      runs: Number(flag(args, '--runs') ?? 100),
      seed: Number(flag(args, '--seed') ?? 1),
      concurrency: Number(flag(args, '--concurrency') ?? 4),
      shrinkLimitMs: Number(flag(args, '--shrink-ms') ?? 120_000),
    },
    (line) => console.error(line),
  );
  for (const line of describeFailures(summary)) console.error(line);
  console.log(JSON.stringify(summary));
}

function flag(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}
