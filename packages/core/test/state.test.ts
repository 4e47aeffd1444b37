import { describe, expect, it } from 'vitest';
import {
  ILLEGAL,
  IllegalTransitionError,
  nextState,
  SOCKET_EVENTS,
  SOCKET_STATES,
  type SocketEvent,
  type SocketState,
  TRANSITIONS,
} from '../src/index.ts';

// An independent copy of spec §4, written as a grid so a change to the table in src/state.ts has
// to be made here too, on purpose. Columns follow SOCKET_EVENTS; "-" is an illegal pair.
const EXPECTED = `
state        connected    connectedPlaintext startTls     upgraded handshakeComplete readShutdown writeShutdown peerEnded closeStarted released failed aborted
connecting   handshaking  plaintext          -            -        -                 -            -             -         -            -        closed closed
plaintext    -            -                  handshaking  closed   -                 readShut     writeShut     readShut  closing      -        closed closed
handshaking  -            -                  -            -        open              -            -             -         -            -        closed closed
open         -            -                  -            -        -                 readShut     writeShut     readShut  closing      -        closed closed
readShut     -            -                  -            -        -                 readShut     closing       readShut  closing      -        closed closed
writeShut    -            -                  -            -        -                 closing      writeShut     closing   closing      -        closed closed
closing      -            -                  -            -        -                 closing      closing       closing   closing      closed   closed closed
closed       closed       closed             closed       closed   closed            closed       closed        closed    closed       closed   closed closed
`;

function expectedGrid(): Map<string, string> {
  const [header, ...rows] = EXPECTED.trim().split('\n');
  const events = header!.trim().split(/\s+/).slice(1);
  const grid = new Map<string, string>();
  for (const row of rows) {
    const [state, ...targets] = row.trim().split(/\s+/);
    targets.forEach((target, index) => {
      grid.set(`${state}/${events[index]}`, target === '-' ? ILLEGAL : target);
    });
  }
  return grid;
}

const grid = expectedGrid();
const cells = SOCKET_STATES.flatMap((state) => SOCKET_EVENTS.map((event) => [state, event] as const));

describe('transition table', () => {
  it('has exactly one expected cell for every state × event pair', () => {
    expect(grid.size).toBe(SOCKET_STATES.length * SOCKET_EVENTS.length);
    expect(cells).toHaveLength(96);
  });

  it.each(cells)('%s × %s', (state: SocketState, event: SocketEvent) => {
    const expected = grid.get(`${state}/${event}`);
    expect(TRANSITIONS[state][event]).toBe(expected);
    if (expected === ILLEGAL) {
      expect(() => nextState(state, event)).toThrow(IllegalTransitionError);
    } else {
      expect(nextState(state, event)).toBe(expected);
    }
  });
});
