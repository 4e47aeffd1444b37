/** What the orchestrator asks a client for (src/runner.ts); `params` holds the keys its measure reads. */
export interface Request {
  measure: 'receive' | 'send' | 'cycles' | 'close' | 'idle';
  impl: 'raw' | 'raw-connectTls' | 'adapter';
  port: number;
  ca: string;
  params: {
    bytes: number;
    /** receive through the adapter: read(into) into one reused buffer of this size. */
    intoBytes?: number;
    cycles: number;
    concurrency: number;
    timeLimitMs: number;
    samples: number;
    idleMs: number;
    connections: number;
    inFlight: number;
    settleMs: number;
    warmUp: number;
  };
}
