/**
 * `npm run demo`. Prints what the project proves so far: the runtimes it pins and the state
 * machine every adapter shares. The per-runtime conformance matrix joins as the adapters land.
 */
import { ILLEGAL, SOCKET_EVENTS, SOCKET_STATES, TRANSITIONS } from '@closenotify/core';
import { pinnedRuntimes } from './runtimes.ts';

function printRuntimes(): void {
  console.log('Runtimes (pinned, from the npm registry):');
  for (const runtime of pinnedRuntimes()) {
    console.log(`  ${runtime.name.padEnd(5)} ${runtime.version ?? 'MISSING'}`);
  }
}

function printStateMachine(): void {
  const legal = SOCKET_STATES.flatMap((state) =>
    SOCKET_EVENTS.filter((event) => TRANSITIONS[state][event] !== ILLEGAL).map((event) => ({
      state,
      event,
      next: TRANSITIONS[state][event],
    })),
  );
  console.log(
    `\nState machine (@closenotify/core): ${SOCKET_STATES.length} states × ${SOCKET_EVENTS.length} events, ` +
      `${legal.length} legal transitions`,
  );
  for (const state of SOCKET_STATES) {
    const moves = legal.filter((t) => t.state === state && t.next !== state);
    if (moves.length === 0) continue;
    console.log(`  ${state.padEnd(11)} ${moves.map((t) => `${t.event} → ${t.next}`).join(', ')}`);
  }
}

printRuntimes();
printStateMachine();
const missing = pinnedRuntimes().filter((runtime) => runtime.version === null);
if (missing.length > 0) {
  console.error(
    `\nMissing runtime binaries: ${missing.map((r) => r.name).join(', ')} (run npm test or npm run demo)`,
  );
  process.exitCode = 1;
}
