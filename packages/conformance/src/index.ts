/**
 * @closenotify/conformance: the case catalogue, the runner, the report and the client of the
 * scriptable TLS peer. Runtime-neutral: it runs inside Node, Bun and Deno.
 */
export * from './assert.ts';
export * from './case.ts';
export { CATALOGUE } from './cases/index.ts';
export { executeScenario, type FuzzEnvironment, peerSteps, type SequenceResult } from './fuzz/execute.ts';
export { alphabetFor, playable, scenarioArbitrary } from './fuzz/generate.ts';
export { type FuzzCommandLine, runFuzzFromCommandLine } from './fuzz/main.ts';
export { describeFailures, type FuzzFailure, type FuzzSummary, runFuzz, scenarioOf } from './fuzz/run.ts';
export { type CommandLineRun, runFromCommandLine } from './main.ts';
export * from './peer-client.ts';
export * from './report.ts';
export {
  type CatalogueEntry,
  catalogueEntries,
  catchEscapes,
  checkLeakAccounting,
  describe as describeError,
  EscapedErrors,
  type LeftLive,
  leftLive,
  type RunOptions,
  runConformance,
  runEntry,
} from './runner.ts';
