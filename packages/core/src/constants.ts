import type { ShutdownHow } from './types.ts';

/** BSD names for the shutdown directions, for code ported from sockets. */
export const SHUT_RD = 'read' satisfies ShutdownHow;
export const SHUT_WR = 'write' satisfies ShutdownHow;
export const SHUT_RDWR = 'both' satisfies ShutdownHow;

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
/** setTimeout's ceiling in every runtime (a signed 32-bit millisecond count). */
export const MAX_TIMEOUT_MS = 2_147_483_647;
