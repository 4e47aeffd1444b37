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
