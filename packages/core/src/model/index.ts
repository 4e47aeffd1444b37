/**
 * The reference model of the socket contract, for model-based testing: the command alphabet, a
 * simulation that enumerates the legal worlds of a command sequence (races included), and a judge
 * that checks an observed run against them. Runtime-free.
 */
export * from './commands.ts';
export { type Judgement, judge, type Observation, outcomeOf } from './judge.ts';
export {
  finalCloseIndex,
  MAX_WORLDS,
  type Outcome,
  type PredictedReport,
  type World,
  worlds,
} from './simulate.ts';
