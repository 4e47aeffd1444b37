/** `closenotify` under the `bun` export condition: the adapter over Bun's native sockets. */
export * from '@closenotify/bun';
