/**
 * @closenotify/deno: the ShutdownableSecureSocket over Deno.connect + Deno.startTls, Deno.connectTls
 * and Deno.listenTls; STARTTLS (both roles) over node:net and node:tls. See socket.ts for what Deno
 * does differently and how it is papered over.
 */
export * from '@closenotify/core/public';
export { capabilities } from './capabilities.ts';
export { connect } from './connect.ts';
export { listen } from './listen.ts';
