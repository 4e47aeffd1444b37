import type { ShutdownHow } from './types.ts';

/** BSD names for the shutdown directions, for code ported from sockets. */
export const SHUT_RD = 'read' satisfies ShutdownHow;
export const SHUT_WR = 'write' satisfies ShutdownHow;
export const SHUT_RDWR = 'both' satisfies ShutdownHow;

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
/**
 * Connections a server holds between accept and hand-out. 128 is the classic listen() backlog
 * (SOMAXCONN): as many as the kernel would have queued, each costing at most one handshake's CPU.
 */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 128;
/**
 * Live sockets a server accepted. A TLS connection costs tens of KiB (the TLS library's record
 * buffers plus ours), so 10000 bounds a flood or a leak near half a GiB: above what the workloads
 * this library serves hold open, below what takes a process down.
 */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** setTimeout's ceiling in every runtime (a signed 32-bit millisecond count). */
export const MAX_TIMEOUT_MS = 2_147_483_647;
/**
 * The least time close() gives itself to flush what write() accepted and hand over our close_notify,
 * so that `close({ timeoutMs: 0 })` ("do not wait for the peer") still closes a healthy connection
 * cleanly. Measured on loopback from close({ timeoutMs: 0 }) to close_notify handed over, after a
 * 16 KiB write, 40 closes per runtime on two cores at a load average of 25 to 27: p50 0.2 to 0.6 ms,
 * p95 under 7 ms, worst 14.7 ms (node, with bun and deno measuring at the same time). 50 ms is more
 * than three times the worst and ten times the p95; output still queued past it is taken to be stuck
 * behind a peer that stopped reading, and the connection is reset.
 */
export const CLOSE_FLUSH_GRACE_MS = 50;
