/**
 * The socket lifecycle as data: every state × event pair is written out, illegal ones included,
 * and `nextState` is the only way the state of a socket changes (spec §4). The generated
 * docs/state-machine.md is rendered from this table.
 *
 * Half-close follows RFC 8446 §6.1: close_notify closes only the sender's write side, so a
 * socket can be `writeShut` (our close_notify sent, still reading) or `readShut` (no more data
 * delivered, still writing); both directions shut is `closing`.
 */
import type { SocketState } from './types.ts';

export const SOCKET_STATES = [
  'connecting',
  'plaintext',
  'handshaking',
  'open',
  'readShut',
  'writeShut',
  'closing',
  'closed',
] as const satisfies readonly SocketState[];

export const SOCKET_EVENTS = [
  'connected',
  'connectedPlaintext',
  'startTls',
  'upgraded',
  'handshakeComplete',
  'readShutdown',
  'writeShutdown',
  'peerEnded',
  'closeStarted',
  'released',
  'failed',
  'aborted',
] as const;

export type SocketEvent = (typeof SOCKET_EVENTS)[number];

/** What each state means (spec §4), for the generated documentation. */
export const STATE_MEANINGS: Readonly<Record<SocketState, string>> = {
  connecting: 'TCP connect in progress',
  plaintext: "secureTransport: 'starttls' before startTls(); reads, writes and shuts down as plain TCP",
  handshaking: 'TLS handshake in progress',
  open: 'both directions open',
  readShut:
    "no more data will be delivered (local shutdown('read'), the peer's close_notify or EOF); writing goes on",
  writeShut: 'our close_notify is sent; reading goes on',
  closing: 'both directions are shut, or close() is waiting for the peer',
  closed: 'terminal: the transport is released',
};

/** What each event means, for the generated documentation. */
export const EVENT_MEANINGS: Readonly<Record<SocketEvent, string>> = {
  connected: 'TCP is connected; the TLS handshake starts',
  connectedPlaintext: "TCP is connected for secureTransport: 'starttls'; no TLS yet",
  startTls: 'startTls() handed the connection to a new socket, which runs the handshake',
  upgraded: 'startTls() took the connection away: this plaintext socket is detached',
  handshakeComplete: 'the handshake finished and the peer was verified',
  readShutdown: "local shutdown('read'): no more data is delivered",
  writeShutdown: "local shutdown('write'): our close_notify is queued behind every accepted byte",
  peerEnded: "the peer's close_notify, or its EOF where truncation is ignored or cannot be told",
  closeStarted: 'close() or the idle timeout: both directions shut, waiting for the peer',
  released: 'both directions are done and the transport was released',
  failed: 'a fatal error: reset, protocol error, truncation, handshake failure or timeout',
  aborted: 'local abort(): RST where the runtime can, nothing waits',
};

export const ILLEGAL = 'illegal';
export type Transition = SocketState | typeof ILLEGAL;

export const TRANSITIONS: Readonly<Record<SocketState, Readonly<Record<SocketEvent, Transition>>>> = {
  connecting: {
    connected: 'handshaking',
    connectedPlaintext: 'plaintext',
    startTls: ILLEGAL,
    upgraded: ILLEGAL,
    handshakeComplete: ILLEGAL,
    readShutdown: ILLEGAL,
    writeShutdown: ILLEGAL,
    peerEnded: ILLEGAL,
    closeStarted: ILLEGAL,
    released: ILLEGAL,
    failed: 'closed',
    aborted: 'closed',
  },
  // Plain TCP until startTls(): shutdown and the peer's FIN work as they do over TLS, without close_notify.
  // The socket startTls() returns is born here and moves on (startTls); the one it was called on is
  // detached (upgraded).
  plaintext: {
    connected: ILLEGAL,
    connectedPlaintext: ILLEGAL,
    startTls: 'handshaking',
    upgraded: 'closed',
    handshakeComplete: ILLEGAL,
    readShutdown: 'readShut',
    writeShutdown: 'writeShut',
    peerEnded: 'readShut',
    closeStarted: 'closing',
    released: ILLEGAL,
    failed: 'closed',
    aborted: 'closed',
  },
  handshaking: {
    connected: ILLEGAL,
    connectedPlaintext: ILLEGAL,
    startTls: ILLEGAL,
    upgraded: ILLEGAL,
    handshakeComplete: 'open',
    readShutdown: ILLEGAL,
    writeShutdown: ILLEGAL,
    peerEnded: ILLEGAL,
    closeStarted: ILLEGAL,
    released: ILLEGAL,
    failed: 'closed',
    aborted: 'closed',
  },
  open: {
    connected: ILLEGAL,
    connectedPlaintext: ILLEGAL,
    startTls: ILLEGAL,
    upgraded: ILLEGAL,
    handshakeComplete: ILLEGAL,
    readShutdown: 'readShut',
    writeShutdown: 'writeShut',
    peerEnded: 'readShut',
    closeStarted: 'closing',
    released: ILLEGAL,
    failed: 'closed',
    aborted: 'closed',
  },
  readShut: {
    connected: ILLEGAL,
    connectedPlaintext: ILLEGAL,
    startTls: ILLEGAL,
    upgraded: ILLEGAL,
    handshakeComplete: ILLEGAL,
    readShutdown: 'readShut',
    writeShutdown: 'closing',
    peerEnded: 'readShut',
    closeStarted: 'closing',
    released: ILLEGAL,
    failed: 'closed',
    aborted: 'closed',
  },
  writeShut: {
    connected: ILLEGAL,
    connectedPlaintext: ILLEGAL,
    startTls: ILLEGAL,
    upgraded: ILLEGAL,
    handshakeComplete: ILLEGAL,
    readShutdown: 'closing',
    writeShutdown: 'writeShut',
    peerEnded: 'closing',
    closeStarted: 'closing',
    released: ILLEGAL,
    failed: 'closed',
    aborted: 'closed',
  },
  closing: {
    connected: ILLEGAL,
    connectedPlaintext: ILLEGAL,
    startTls: ILLEGAL,
    upgraded: ILLEGAL,
    handshakeComplete: ILLEGAL,
    readShutdown: 'closing',
    writeShutdown: 'closing',
    peerEnded: 'closing',
    closeStarted: 'closing',
    released: 'closed',
    failed: 'closed',
    aborted: 'closed',
  },
  // Terminal: runtime events that arrive after the end (a late handshake, a close callback) change nothing.
  closed: {
    connected: 'closed',
    connectedPlaintext: 'closed',
    startTls: 'closed',
    upgraded: 'closed',
    handshakeComplete: 'closed',
    readShutdown: 'closed',
    writeShutdown: 'closed',
    peerEnded: 'closed',
    closeStarted: 'closed',
    released: 'closed',
    failed: 'closed',
    aborted: 'closed',
  },
};

/** How far along the lifecycle a state is; no transition lowers it. */
export const STATE_RANK: Readonly<Record<SocketState, number>> = {
  connecting: 0,
  plaintext: 1,
  handshaking: 2,
  open: 3,
  readShut: 4,
  writeShut: 4,
  closing: 5,
  closed: 6,
};

export function transitionOf(state: SocketState, event: SocketEvent): Transition {
  return TRANSITIONS[state][event];
}

/** The next state, or an internal error: an illegal pair means an engine or adapter bug. */
export function nextState(state: SocketState, event: SocketEvent): SocketState {
  const next = TRANSITIONS[state][event];
  if (next === ILLEGAL) throw new IllegalTransitionError(state, event);
  return next;
}

export class IllegalTransitionError extends Error {
  readonly state: SocketState;
  readonly event: SocketEvent;
  constructor(state: SocketState, event: SocketEvent) {
    super(`closenotify internal error: event "${event}" is illegal in state "${state}"`);
    this.name = 'IllegalTransitionError';
    this.state = state;
    this.event = event;
  }
}
