import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ILLEGAL,
  SOCKET_EVENTS,
  SOCKET_STATES,
  type SocketState,
  STATE_RANK,
  TRANSITIONS,
  transitionOf,
} from '../src/index.ts';

const anyEvent = fc.constantFrom(...SOCKET_EVENTS);
const anyState = fc.constantFrom(...SOCKET_STATES);

/** Applies the legal events of a sequence, skipping illegal ones, and returns every state visited. */
function walk(start: SocketState, events: readonly (typeof SOCKET_EVENTS)[number][]): SocketState[] {
  const visited = [start];
  let state = start;
  for (const event of events) {
    const next = transitionOf(state, event);
    if (next === ILLEGAL) continue;
    state = next;
    visited.push(state);
  }
  return visited;
}

describe('state machine invariants (random event sequences)', () => {
  it('closed is terminal', () => {
    fc.assert(
      fc.property(anyState, fc.array(anyEvent, { maxLength: 60 }), (start, events) => {
        const visited = walk(start, events);
        const firstClosed = visited.indexOf('closed');
        if (firstClosed >= 0) expect(visited.slice(firstClosed).every((s) => s === 'closed')).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('never moves back toward open', () => {
    fc.assert(
      fc.property(anyState, fc.array(anyEvent, { maxLength: 60 }), (start, events) => {
        const ranks = walk(start, events).map((state) => STATE_RANK[state]);
        for (let i = 1; i < ranks.length; i += 1) expect(ranks[i]!).toBeGreaterThanOrEqual(ranks[i - 1]!);
      }),
      { numRuns: 2000 },
    );
  });

  it('readShut followed by a write shutdown is closing, and writeShut followed by a read shutdown too', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 40 }), (events) => {
        let state: SocketState = 'open';
        for (const event of events) {
          const next = transitionOf(state, event);
          if (next === ILLEGAL) continue;
          if (state === 'readShut' && event === 'writeShutdown') expect(next).toBe('closing');
          if (state === 'writeShut' && (event === 'readShutdown' || event === 'peerEnded')) {
            expect(next).toBe('closing');
          }
          state = next;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a socket that was open can always still reach closed', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 40 }), (events) => {
        const state = walk('open', events).at(-1)!;
        expect(TRANSITIONS[state].aborted).toBe('closed');
        expect(TRANSITIONS[state].failed).toBe('closed');
      }),
      { numRuns: 1000 },
    );
  });

  it('readShut and writeShut never turn into each other', () => {
    for (const event of SOCKET_EVENTS) {
      expect(TRANSITIONS.readShut[event]).not.toBe('writeShut');
      expect(TRANSITIONS.writeShut[event]).not.toBe('readShut');
    }
  });
});
