/**
 * The generator of command sequences: our side's calls and the peer's actions, interleaved, in a
 * scenario (role, TLS version, allowHalfOpen, truncation). What the adapter declares it cannot do
 * is left out of its alphabet, never generated and counted as a pass.
 */
import {
  type Capabilities,
  type FuzzCommand,
  type FuzzScenario,
  PEER_ENDS,
  PEER_KILLS,
  type PeerCommand,
  SCENARIO_CLOSE_TIMEOUT_MS,
  type ShutdownHow,
} from '@closenotify/core';
import fc from 'fast-check';

export const MAX_COMMANDS = 9;
const MIB = 1 << 20;
/** Per `send`: the peer's data must fit the buffers between it and a socket that does not read. */
const MAX_PEER_SEND = 32 * 1024;
const MAX_IDLE_MS = 40;

/** What the generator may use on this adapter, and what it leaves out (with the reason). */
export interface Alphabet {
  roles: Array<FuzzScenario['role']>;
  truncation: Array<FuzzScenario['truncation']>;
  shutdownHows: ShutdownHow[];
  excluded: string[];
}

export function alphabetFor(capabilities: Capabilities): Alphabet {
  const excluded: string[] = [];
  const roles: Alphabet['roles'] = ['client'];
  if (capabilities.server) roles.push('server');
  else excluded.push('the server role (capability server is false)');
  const truncation: Alphabet['truncation'] = ['error'];
  if (capabilities.truncationDetection) truncation.push('ignore');
  else excluded.push("truncation: 'ignore' (truncationDetection is false: a bare FIN cannot be told apart)");
  const shutdownHows: ShutdownHow[] = ['both'];
  if (capabilities.shutdownRead) shutdownHows.push('read');
  else excluded.push("shutdown('read') (capability shutdownRead is false)");
  if (capabilities.halfClose) shutdownHows.push('write');
  else excluded.push("shutdown('write') (capability halfClose is false)");
  return { roles, truncation, shutdownHows, excluded };
}

function writeSize(): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) },
    { weight: 4, arbitrary: fc.integer({ min: 65, max: 64 * 1024 }) },
    { weight: 1, arbitrary: fc.integer({ min: 64 * 1024, max: MIB }) },
  );
}

function ourCommand(alphabet: Alphabet): fc.Arbitrary<FuzzCommand> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        actor: fc.constant('us' as const),
        op: fc.constant('write' as const),
        bytes: writeSize(),
        form: fc.constantFrom('bytes' as const, 'string' as const, 'reused' as const),
      }),
    },
    { weight: 2, arbitrary: fc.constant({ actor: 'us' as const, op: 'read' as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        actor: fc.constant('us' as const),
        op: fc.constant('read' as const),
        // From one byte (every read crosses a record) to more than a record holds.
        into: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 17, max: 20_000 })),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        actor: fc.constant('us' as const),
        op: fc.constant('shutdown' as const),
        how: fc.constantFrom(...alphabet.shutdownHows),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        actor: fc.constant('us' as const),
        op: fc.constant('close' as const),
        timeoutMs: fc.constantFrom(0, SCENARIO_CLOSE_TIMEOUT_MS),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ actor: 'us' as const, op: 'abort' as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        actor: fc.constant('us' as const),
        op: fc.constant('idle' as const),
        ms: fc.integer({ min: 0, max: MAX_IDLE_MS }),
      }),
    },
  );
}

function peerCommand(): fc.Arbitrary<FuzzCommand> {
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        actor: fc.constant('peer' as const),
        op: fc.constant('send' as const),
        bytes: fc.integer({ min: 1, max: MAX_PEER_SEND }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.constantFrom<PeerCommand>(
        ...[...PEER_ENDS, ...PEER_KILLS, 'stopReading' as const, 'resumeReading' as const].map(
          (op) => ({ actor: 'peer', op }) as PeerCommand,
        ),
      ),
    },
  );
}

/**
 * Drops what a peer cannot do: nothing that sends after its own end, nothing at all after it reset
 * the connection or spoke garbage (its TLS layer is gone).
 */
export function playable(commands: FuzzCommand[]): FuzzCommand[] {
  let ended = false;
  let dead = false;
  return commands.filter((command) => {
    if (command.actor === 'us') return true;
    if (dead) return false;
    switch (command.op) {
      case 'stopReading':
      case 'resumeReading':
        return true;
      case 'rst':
        dead = true;
        return true;
      case 'garbage':
        if (ended) return false;
        dead = true;
        return true;
      default:
        if (ended) return false;
        if ((PEER_ENDS as readonly string[]).includes(command.op)) ended = true;
        return true;
    }
  });
}

export function scenarioArbitrary(capabilities: Capabilities): fc.Arbitrary<FuzzScenario> {
  const alphabet = alphabetFor(capabilities);
  return fc.record({
    role: fc.constantFrom(...alphabet.roles),
    tls: fc.constantFrom('TLSv1.2' as const, 'TLSv1.3' as const),
    allowHalfOpen: fc.boolean(),
    truncation: fc.constantFrom(...alphabet.truncation),
    commands: fc
      .array(
        fc.oneof({ weight: 3, arbitrary: ourCommand(alphabet) }, { weight: 2, arbitrary: peerCommand() }),
        {
          maxLength: MAX_COMMANDS,
        },
      )
      .map(playable),
  });
}
