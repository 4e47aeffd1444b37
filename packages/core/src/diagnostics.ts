/**
 * Live counts of sockets and servers that have not reached their end, across every adapter that
 * shares this copy of core. The conformance suite asserts both are zero after every case
 * (spec §3, invariant 5), alongside the runtime's own view of open handles where it has one.
 */
let openSockets = 0;
let openServers = 0;

export function socketOpened(): void {
  openSockets += 1;
}

export function socketClosed(): void {
  openSockets -= 1;
}

export function serverOpened(): void {
  openServers += 1;
}

export function serverClosed(): void {
  openServers -= 1;
}

export interface LiveResources {
  /** Sockets whose `closed` has not resolved yet. */
  sockets: number;
  /** Servers whose `closed` has not resolved yet. */
  servers: number;
}

export function liveResources(): LiveResources {
  return { sockets: openSockets, servers: openServers };
}
