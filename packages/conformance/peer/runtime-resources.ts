/**
 * Node's own view of what this process holds open, independent of core's counters: TCP sockets and
 * listeners from `process._getActiveHandles()` (undocumented, but the only listing that tells a socket's
 * ports, so the suite's connections to the peer daemon can be left out), and ref'd timers from
 * `process.getActiveResourcesInfo()` (documented; one 'Timeout' per pending timer). A test harness,
 * never library code. The runner proves the probe sees a socket, a listener and a timer before it
 * trusts it (checkLeakAccounting).
 */
import { Server, Socket } from 'node:net';

/** `controlUrl`: the peer daemon's, whose connections are the suite's own and left out. */
export function runtimeResources(controlUrl?: string): () => string[] {
  const controlPort = controlUrl ? Number(new URL(controlUrl).port) : undefined;
  const active = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles.bind(process);
  return () => {
    const handles = active().flatMap((handle) => {
      if (handle instanceof Server) {
        const address = handle.address();
        return [`listener ${typeof address === 'object' && address ? address.port : address}`];
      }
      if (handle instanceof Socket && handle.remotePort !== undefined && handle.remotePort !== controlPort) {
        return [`socket ${handle.localPort} → ${handle.remotePort}${handle.destroyed ? ' (destroyed)' : ''}`];
      }
      return [];
    });
    const timers = process.getActiveResourcesInfo().filter((name) => name === 'Timeout');
    return [...handles, ...timers.map(() => 'timer')];
  };
}
