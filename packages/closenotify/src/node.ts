/** `closenotify` under the `node` export condition: the node:tls adapter. */
export * from '@closenotify/node';
