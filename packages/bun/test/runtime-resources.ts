/**
 * Bun's own view of what this process holds open, independent of core's counters. Bun 1.4's
 * `process.getActiveResourcesInfo()` returns [] whatever is open, so:
 * - sockets and listeners come from the kernel: each `/proc/self/fd` entry that is `socket:[inode]`,
 *   looked up in `/proc/net/tcp` and `/proc/net/tcp6` for its addresses and TCP state (LISTEN is a
 *   listener), leaving out the suite's connections to the peer daemon's control port;
 * - pending timers come from `bun:jsc`'s getProtectedObjects(), where the event loop keeps each
 *   scheduled `Timeout` alive until it fires or is cleared.
 * Linux only, and a test harness, never library code. The runner proves the probe sees a socket, a
 * listener and a timer before it trusts it (checkLeakAccounting).
 */
import { getProtectedObjects } from 'bun:jsc';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** `controlUrl`: the peer daemon's, whose connections are the suite's own and left out. */
export function runtimeResources(controlUrl?: string): () => string[] {
  const controlPort = controlUrl ? Number(new URL(controlUrl).port) : undefined;
  return () => {
    const sockets = kernelTcpSockets().filter(
      (socket) => socket.state === 'LISTEN' || socket.remotePort !== controlPort,
    );
    const timers = getProtectedObjects().filter((object) => object?.constructor?.name === 'Timeout');
    return [
      ...sockets.map((socket) =>
        socket.state === 'LISTEN'
          ? `listener ${socket.localPort}`
          : `socket ${socket.localPort} → ${socket.remotePort} (${socket.state})`,
      ),
      ...timers.map(() => 'timer'),
    ];
  };
}

interface KernelTcpSocket {
  localPort: number;
  remotePort: number;
  state: string;
}

/** The TCP states of include/net/tcp_states.h, by their number in /proc/net/tcp. */
const TCP_STATES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
];

/** The TCP sockets this process has a file descriptor for. */
export function kernelTcpSockets(): KernelTcpSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the look-up
    }
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1] as string);
  }
  const sockets: KernelTcpSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9] as string)) continue;
      sockets.push({
        localPort: portOf(fields[1] as string),
        remotePort: portOf(fields[2] as string),
        state: TCP_STATES[Number.parseInt(fields[3] as string, 16)] ?? `state ${fields[3]}`,
      });
    }
  }
  return sockets;
}

function portOf(address: string): number {
  return Number.parseInt(address.slice(address.indexOf(':') + 1), 16);
}
