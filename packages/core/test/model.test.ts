import { describe, expect, it } from 'vitest';
import {
  type FuzzCommand,
  type FuzzScenario,
  finalCloseIndex,
  judge,
  type ModelCapabilities,
  type Observation,
  type Outcome,
  worlds,
} from '../src/index.ts';

const NODE_LIKE: ModelCapabilities = {
  truncationDetection: false,
  tls12ServerCloseNotify: true,
  abortiveReset: true,
};
const DENO_LIKE: ModelCapabilities = {
  truncationDetection: true,
  tls12ServerCloseNotify: true,
  abortiveReset: false,
};

function scenario(commands: FuzzCommand[], extra: Partial<FuzzScenario> = {}): FuzzScenario {
  return { role: 'client', tls: 'TLSv1.3', allowHalfOpen: false, truncation: 'error', commands, ...extra };
}

function all(s: FuzzScenario, capabilities = NODE_LIKE) {
  return [...worlds(s, capabilities)];
}

function observation(outcomes: Array<[number, Outcome]>, report: Observation['report']): Observation {
  return { outcomes: new Map(outcomes), report };
}

describe('model: worlds', () => {
  it('a write then a close to a reading peer: everything flushed, the peer answers, in every world', () => {
    const s = scenario([{ actor: 'us', op: 'write', bytes: 10, form: 'bytes' }]);
    for (const world of all(s, DENO_LIKE)) {
      expect(world.report).toEqual({
        initiator: 'local',
        closeNotifySent: true,
        closeNotifyReceived: true,
        truncated: false,
        errorCode: null,
      });
      expect([...world.outcomes.get(0)!]).toEqual(['ok']);
      expect([...world.outcomes.get(finalCloseIndex(s))!]).toEqual(['report']);
    }
    // Where a close_notify cannot be told from a FIN, the report says so.
    for (const world of all(s, NODE_LIKE))
      expect(world.report).toMatchObject({ closeNotifyReceived: null, truncated: null });
  });

  it('close_notify is handed over asynchronously: an abort() right after shutdown may find it still queued', () => {
    const s = scenario([
      { actor: 'us', op: 'shutdown', how: 'write' },
      { actor: 'us', op: 'abort' },
    ]);
    const sent = new Set(all(s).map((world) => world.report.closeNotifySent));
    expect(sent).toEqual(new Set([true, false]));
    const shutdown = new Set(all(s).flatMap((world) => [...world.outcomes.get(0)!]));
    expect(shutdown).toEqual(new Set(['ok', 'ERR_ABORTED']));
  });

  it('a peer RST races our next write: either the write is taken or it fails with the reset', () => {
    const s = scenario([
      { actor: 'peer', op: 'rst' },
      { actor: 'us', op: 'write', bytes: 5, form: 'string' },
    ]);
    const found = all(s);
    const resets = found.filter((world) => world.report.errorCode === 'ERR_CONNECTION_RESET');
    const outcomes = new Set(resets.flatMap((world) => [...world.outcomes.get(1)!]));
    expect([...outcomes]).toEqual(expect.arrayContaining(['ok', 'ERR_CONNECTION_RESET']));
    for (const world of resets) expect(world.report.initiator).toBe('error');
    // Through the observer's relay a reset may arrive as a FIN (the peer's end), possibly followed by
    // the reset itself (the error after the end).
    for (const world of found.filter((w) => !resets.includes(w))) {
      expect(world.report.errorCode).toBeNull();
    }
  });

  it('a reset right behind the peer end may swallow the end', () => {
    const s = scenario([
      { actor: 'peer', op: 'fin' },
      { actor: 'peer', op: 'rst' },
      { actor: 'us', op: 'read' },
    ]);
    const reports = all(s, DENO_LIKE).map((world) => world.report);
    expect(reports).toContainEqual(
      expect.objectContaining({
        errorCode: 'ERR_CONNECTION_RESET',
        closeNotifyReceived: false,
        truncated: false,
      }),
    );
  });

  it('abort() before anything else: initiator abort, no close_notify, later writes fail ERR_ABORTED', () => {
    const s = scenario([
      { actor: 'us', op: 'abort' },
      { actor: 'us', op: 'write', bytes: 5, form: 'bytes' },
      { actor: 'us', op: 'read' },
    ]);
    for (const world of all(s)) {
      expect(world.report).toMatchObject({
        initiator: 'abort',
        closeNotifySent: false,
        errorCode: 'ERR_ABORTED',
      });
      expect([...world.outcomes.get(1)!]).toEqual(['ERR_ABORTED']);
      expect([...world.outcomes.get(2)!]).toEqual(['ERR_ABORTED']);
    }
  });

  it('a bare FIN is a truncation where the runtime can tell, and an unknown end where it cannot', () => {
    const s = scenario([
      { actor: 'peer', op: 'fin' },
      { actor: 'us', op: 'idle', ms: 10 },
    ]);
    const deno = all(s, DENO_LIKE).map((world) => world.report);
    expect(deno).toContainEqual(expect.objectContaining({ errorCode: 'ERR_TLS_TRUNCATED', truncated: true }));
    const node = all(s, NODE_LIKE).map((world) => world.report);
    for (const report of node)
      expect(report).toMatchObject({ closeNotifyReceived: null, truncated: null, errorCode: null });
  });

  it("truncation: 'ignore' reports the truncation without an error", () => {
    const s = scenario([{ actor: 'peer', op: 'fin' }], { truncation: 'ignore' });
    for (const world of all(s, DENO_LIKE)) {
      expect(world.report).toMatchObject({ truncated: true, closeNotifyReceived: false, errorCode: null });
    }
  });

  it('after shutdown(write), a write is refused and the shutdown calls share one outcome', () => {
    const s = scenario([
      { actor: 'us', op: 'shutdown', how: 'write' },
      { actor: 'us', op: 'write', bytes: 1, form: 'bytes' },
      { actor: 'us', op: 'shutdown', how: 'both' },
    ]);
    for (const world of all(s)) {
      expect([...world.outcomes.get(1)!]).toEqual(['ERR_WRITE_AFTER_SHUTDOWN']);
      expect([...world.outcomes.get(0)!]).toEqual(['ok']);
      expect([...world.outcomes.get(2)!]).toEqual(['ok']);
      expect(world.report.initiator).toBe('local');
    }
  });

  it('a stalled peer may hold our close_notify past close({ timeoutMs: 0 }): then ERR_CLOSE_TIMEOUT', () => {
    const s = scenario([
      { actor: 'peer', op: 'stopReading' },
      { actor: 'us', op: 'idle', ms: 10 },
      { actor: 'us', op: 'write', bytes: 1 << 20, form: 'bytes' },
      { actor: 'us', op: 'close', timeoutMs: 0 },
      { actor: 'us', op: 'idle', ms: 10 },
    ]);
    const reports = all(s).map((world) => world.report);
    expect(reports).toContainEqual(
      expect.objectContaining({
        initiator: 'timeout',
        errorCode: 'ERR_CLOSE_TIMEOUT',
        closeNotifySent: false,
      }),
    );
    expect(reports).toContainEqual(
      expect.objectContaining({ initiator: 'local', closeNotifySent: true, errorCode: null }),
    );
  });
});

describe('model: judge', () => {
  const s = scenario([
    { actor: 'us', op: 'write', bytes: 10, form: 'bytes' },
    { actor: 'us', op: 'shutdown', how: 'write' },
  ]);
  const good: Observation['report'] = {
    initiator: 'local',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
  };

  it('accepts what the contract allows', () => {
    const verdict = judge(
      s,
      DENO_LIKE,
      observation(
        [
          [0, 'ok'],
          [1, 'ok'],
          [2, 'report'],
        ],
        good,
      ),
    );
    expect(verdict.legal).toBe(true);
  });

  it('names the report field that is wrong', () => {
    const verdict = judge(
      s,
      DENO_LIKE,
      observation(
        [
          [0, 'ok'],
          [1, 'ok'],
          [2, 'report'],
        ],
        { ...good, closeNotifyReceived: false },
      ),
    );
    expect(verdict.legal).toBe(false);
    expect(verdict.mismatches).toEqual(['report.closeNotifyReceived: expected true, got false']);
  });

  it('names the call whose outcome is wrong', () => {
    const verdict = judge(
      s,
      DENO_LIKE,
      observation(
        [
          [0, 'ERR_SOCKET_CLOSED'],
          [1, 'ok'],
          [2, 'report'],
        ],
        good,
      ),
    );
    expect(verdict.legal).toBe(false);
    expect(verdict.mismatches[0]).toContain('#0 us.write(10 B, bytes): expected ok, got ERR_SOCKET_CLOSED');
  });
});
