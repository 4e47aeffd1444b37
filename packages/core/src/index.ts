/**
 * @closenotify/core: the ShutdownableSecureSocket contract, its state machine, its errors and the
 * lifecycle engine that every adapter builds on. No runtime globals: this package runs anywhere.
 */

export { assertListenSupported, assertSupported, type ConnectTransport, connectWith } from './connect.ts';
// Constants
export { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, MAX_TIMEOUT_MS } from './constants.ts';
// Diagnostics
export { type LiveResources, liveResources } from './diagnostics.ts';
// Errors
export { ERROR_CODES, isErrorCode, type SecureSocketErrorOptions } from './errors.ts';
// Reference model of the contract, for model-based testing
export * from './model/index.ts';
export { clientCertificateRefusal, errorCodeForNative } from './native-codes.ts';
// Options
export {
  type ResolvedConnectOptions,
  type ResolvedListenOptions,
  type ResolvedSocketOptions,
  resolveConnectOptions,
  resolveListenOptions,
} from './options.ts';
// What applications see (the same surface every adapter re-exports), then what adapters and tools need.
export * from './public.ts';
export { listenWith, type SocketHandler, type StartListener } from './server.ts';
// SNI (RFC 6066 §3: never an IP address)
export { isIpAddress, serverNameIndication } from './server-name.ts';
// Session info from Node-style TLS APIs (for adapters)
export {
  cipherOf,
  netAddressOf,
  peerCertificateOf,
  plaintextSession,
  tlsVersionOf,
  type X509Like,
} from './session.ts';
// Engine (for adapters)
export { type EstablishStart, SecureSocket, type SocketMode, toSecureSocketError } from './socket.ts';
// The WinterTC Sockets API: socketsApi() and its types come with public.ts
export { parseSocketAddress } from './sockets-api.ts';
// STARTTLS: the injection rule every adapter shares
export { beginsHandshakeRecord, upgradeRefusal } from './starttls.ts';
// State machine
export {
  EVENT_MEANINGS,
  ILLEGAL,
  IllegalTransitionError,
  nextState,
  SOCKET_EVENTS,
  SOCKET_STATES,
  type SocketEvent,
  STATE_MEANINGS,
  STATE_RANK,
  TRANSITIONS,
  type Transition,
  transitionOf,
} from './state.ts';
export type {
  AcceptConnection,
  AcceptedConnection,
  Listener,
  OpenContext,
  OpenedTransport,
  OpenTransport,
  TlsHandoff,
  Transport,
  TransportSink,
  UpgradeTransport,
} from './transport.ts';
// Trust anchors: `ca`, or `ca` on top of the runtime's defaults (for adapters)
export { trustAnchors } from './trust.ts';
