/** `closenotify` under the `deno` export condition: the adapter over Deno.connectTls and Deno.listenTls. */
export * from '@closenotify/deno';
