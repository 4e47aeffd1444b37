/**
 * @closenotify/bun: the ShutdownableSecureSocket over Bun's native sockets (Bun.connect and
 * Bun.listen with `tls`). See socket.ts for what Bun does differently and how it is papered over.
 * Importing works in any runtime; connect() and listen() reject with ERR_RUNTIME_UNSUPPORTED outside Bun.
 */
export * from '@closenotify/core/public';
export { capabilities } from './capabilities.ts';
export { connect } from './connect.ts';
export { listen } from './listen.ts';
