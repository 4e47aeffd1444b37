/**
 * Judges one observed run against the model: legal when some world of `worlds()` explains every
 * outcome and the close report; otherwise the nearest world says what went wrong.
 */
import type { ErrorCode } from '../errors.ts';
import type { CloseReport, SocketState } from '../types.ts';
import { describeCommand, type FuzzScenario, type ModelCapabilities } from './commands.ts';
import { finalCloseIndex, type Outcome, type PredictedReport, type World, worlds } from './simulate.ts';

export interface Observation {
  /** What each of our calls ended with, by command index (the final close() is `commands.length`). */
  outcomes: Map<number, Outcome>;
  /** `state` read right after each of our calls returned, by command index. */
  states?: Map<number, SocketState>;
  report: Pick<CloseReport, 'initiator' | 'closeNotifySent' | 'closeNotifyReceived' | 'truncated'> & {
    error?: { code: ErrorCode } | undefined;
  };
}

export interface Judgement {
  legal: boolean;
  /** How many worlds were looked at. */
  worlds: number;
  /** When not legal: what the nearest world expected and what happened instead. */
  mismatches: string[];
  /** The nearest world's choices. */
  choices: string[];
}

const REPORT_FIELDS = [
  'initiator',
  'closeNotifySent',
  'closeNotifyReceived',
  'truncated',
  'errorCode',
] as const;

export function judge(
  scenario: FuzzScenario,
  capabilities: ModelCapabilities,
  observation: Observation,
): Judgement {
  let best: { mismatches: string[]; choices: string[] } | undefined;
  let count = 0;
  for (const world of worlds(scenario, capabilities)) {
    count++;
    const mismatches = compare(scenario, world, observation);
    if (mismatches.length === 0)
      return { legal: true, worlds: count, mismatches: [], choices: world.choices };
    if (!best || mismatches.length < best.mismatches.length) best = { mismatches, choices: world.choices };
  }
  return { legal: false, worlds: count, mismatches: best?.mismatches ?? [], choices: best?.choices ?? [] };
}

function compare(scenario: FuzzScenario, world: World, observation: Observation): string[] {
  const mismatches: string[] = [];
  for (const [index, allowed] of world.outcomes) {
    const actual = observation.outcomes.get(index);
    if (actual === undefined || !allowed.has(actual)) {
      const what =
        index === finalCloseIndex(scenario)
          ? 'the final close()'
          : `#${index} ${describeCommand(scenario.commands[index]!)}`;
      mismatches.push(`${what}: expected ${[...allowed].join(' or ')}, got ${actual ?? 'nothing'}`);
    }
  }
  for (const [index, expected] of world.states) {
    const seen = observation.states?.get(index);
    if (seen !== undefined && seen !== expected) {
      mismatches.push(
        `state after #${index} ${describeCommand(scenario.commands[index]!)}: expected ${expected}, got ${seen}`,
      );
    }
  }
  const actual: PredictedReport = {
    initiator: observation.report.initiator,
    closeNotifySent: observation.report.closeNotifySent,
    closeNotifyReceived: observation.report.closeNotifyReceived,
    truncated: observation.report.truncated,
    errorCode: observation.report.error?.code ?? null,
  };
  for (const field of REPORT_FIELDS) {
    if (actual[field] !== world.report[field]) {
      mismatches.push(
        `report.${field}: expected ${String(world.report[field])}, got ${String(actual[field])}`,
      );
    }
  }
  return mismatches;
}

/** The outcome of a settled promise, in the model's terms. */
export function outcomeOf(result: {
  value?: unknown;
  error?: unknown;
  settled: 'resolved' | 'rejected';
}): Outcome {
  if (result.settled === 'rejected') {
    const code = (result.error as { code?: unknown } | null)?.code;
    return (typeof code === 'string' ? code : 'ERR_NOT_A_SECURE_SOCKET_ERROR') as Outcome;
  }
  if (result.value === null) return 'null';
  if (result.value instanceof Uint8Array) return 'data';
  if (typeof result.value === 'object' && result.value !== null && 'initiator' in result.value)
    return 'report';
  return 'ok';
}
