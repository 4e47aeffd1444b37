/** One side (raw or adapter) of one experiment: a fresh server process and a fresh client process. */
import type { Pki } from '@closenotify/test-pki';
import { type RunOutcome, readOutcome, type Side } from './outcomes.ts';
import { clientProgram, runtimeBinary } from './paths.ts';
import type { Experiment, RuntimeName } from './plan.ts';
import { runToCompletion } from './processes.ts';
import { startServer } from './server.ts';

interface Command {
  command: string;
  args: string[];
}

/** Each client runs in its own runtime; Deno gets loopback networking and nothing else. */
function clientCommand(runtime: RuntimeName, request: string): Command {
  switch (runtime) {
    case 'node':
      return { command: process.execPath, args: ['--expose-gc', clientProgram('node.mjs'), request] };
    case 'bun':
      return { command: runtimeBinary('bun'), args: [clientProgram('bun.ts'), request] };
    case 'deno':
      return {
        command: runtimeBinary('deno'),
        args: [
          'run',
          '--no-prompt',
          '--allow-net=127.0.0.1',
          '--v8-flags=--expose-gc',
          clientProgram('deno.ts'),
          request,
        ],
      };
  }
}

export async function runSide(
  runtime: RuntimeName,
  experiment: Experiment,
  side: Side,
  pki: Pki,
): Promise<RunOutcome> {
  const server = await startServer(experiment.server, experiment.serverBytes, pki.dir);
  try {
    const request = JSON.stringify({
      measure: experiment.measure,
      impl: side === 'adapter' ? 'adapter' : experiment.rawImpl,
      port: server.port,
      ca: pki.ca,
      params: experiment.params,
    });
    const { command, args } = clientCommand(runtime, request);
    const serverCpuBefore = server.cpuSeconds();
    const done = await runToCompletion(command, args, experiment.timeoutMs, 'client');
    const serverCpuAfter = server.cpuSeconds();
    if (!done.ok) {
      return { values: {}, errors: 1, failure: `${done.exit}: ${done.stderr.trim().slice(-1500)}` };
    }
    const outcome = readOutcome(experiment, done.stdout);
    if (outcome.activeMs && serverCpuBefore !== undefined && serverCpuAfter !== undefined) {
      outcome.serverCpu = (serverCpuAfter - serverCpuBefore) / (outcome.activeMs / 1000);
    }
    return outcome;
  } catch (error) {
    return { values: {}, errors: 1, failure: String(error) };
  } finally {
    await server.stop();
  }
}
