/**
 * @closenotify/node: the ShutdownableSecureSocket over node:tls and node:net. See socket.ts for
 * what Node does differently and how it is papered over.
 */
export * from '@closenotify/core/public';
export { capabilities } from './capabilities.ts';
export { connect } from './connect.ts';
export { listen } from './listen.ts';
