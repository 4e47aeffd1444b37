/**
 * The entry every runtime's conformance script calls: reads `--control <url>` (the peer daemon,
 * started by the orchestrator) and `--filter <text>`, runs the catalogue, prints progress to stderr
 * and the JSON report to stdout. Needs nothing but loopback networking (Deno: --allow-net only).
 */
import type { AdapterUnderTest, RuntimeInfo } from './case.ts';
import { PeerClient } from './peer-client.ts';
import { resultKey } from './report.ts';
import { type EscapedErrors, runConformance } from './runner.ts';

export interface CommandLineRun {
  adapter: AdapterUnderTest;
  runtime: RuntimeInfo;
  args: readonly string[];
  escaped: EscapedErrors;
  /** See RunOptions.runtimeResources; given the control URL so the daemon connections can be left out. */
  runtimeResources?: (controlUrl: string) => () => string[];
}

export async function runFromCommandLine({
  adapter,
  runtime,
  args,
  escaped,
  runtimeResources,
}: CommandLineRun): Promise<void> {
  const control = flagValue(args, '--control');
  if (!control) throw new Error('usage: <entry> --control <peer daemon url> [--filter <text>]...');
  const filter = args.flatMap((arg, i) => (args[i - 1] === '--filter' ? [arg] : []));
  const report = await runConformance({
    adapter,
    runtime,
    peer: new PeerClient(control),
    escaped,
    filter,
    ...(runtimeResources ? { runtimeResources: runtimeResources(control) } : {}),
    onResult: (result, index, total) => {
      const mark = { pass: 'ok  ', fail: 'FAIL', unsupported: 'n/a ', error: 'ERR ' }[result.status];
      const detail = result.status === 'pass' ? '' : `  ${result.message}`;
      console.error(
        `[${runtime.name} ${index + 1}/${total}] ${mark} ${resultKey(result)} (${result.durationMs} ms)${detail}`,
      );
    },
  });
  console.log(JSON.stringify(report));
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}
