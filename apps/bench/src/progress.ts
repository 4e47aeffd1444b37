/** One line per paired run on the terminal, so a long bench shows where it is. */
import type { PairedRun } from './aggregate.ts';
import type { RunOutcome } from './outcomes.ts';
import { METRICS, type MetricName } from './plan.ts';

function valuesOf(outcome: RunOutcome): string {
  if (outcome.failure) return `FAILED (${outcome.failure.split('\n')[0]})`;
  const values = Object.entries(outcome.values).map(([metric, value]) => {
    const { unit } = METRICS[metric as MetricName];
    return `${value.toFixed(unit === 'ms' ? 3 : 1)} ${unit}`;
  });
  if (outcome.verified === false) values.push('BYTES NOT VERIFIED');
  if (outcome.errors > 0) values.push(`${outcome.errors} errors`);
  return values.join(', ');
}

export function progressLine(run: PairedRun, rounds: number): string {
  return `[round ${run.round + 1}/${rounds}] ${run.runtime} ${run.experiment}: raw ${valuesOf(run.raw)} | adapter ${valuesOf(run.adapter)} (${run.first} first)`;
}
