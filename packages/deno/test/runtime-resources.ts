/**
 * Deno's own view of what this process holds open, independent of core's counters:
 * - sockets and listeners from the runtime's resource table (`Deno[Deno.internal].core.resources()`,
 *   internal: rid → name), the entries whose name is a TCP or TLS stream or listener. Deno's fetch
 *   keeps its pooled connections (the suite's to the peer daemon) outside that table;
 * - pending timers from `process.getActiveResourcesInfo()` (node compatibility; one 'Timeout' per
 *   timer, Deno's own setTimeout included).
 * A test harness, never library code. The runner proves the probe sees a socket, a listener and a
 * timer before it trusts it (checkLeakAccounting).
 */
/** Deno's `process` global (node compatibility), without pulling in Node's types. */
const { process } = globalThis as unknown as { process: { getActiveResourcesInfo(): string[] } };

interface DenoInternals {
  core: { resources(): Record<string, string> };
}

const SOCKET_RESOURCE = /^(tcp|tls|unix)(Stream|Listener)$/;

/** Takes the peer daemon's URL like the other runtimes' probes; Deno needs it for nothing. */
export function runtimeResources(_controlUrl?: string): () => string[] {
  const internal = (Deno as unknown as { internal: symbol }).internal;
  const core = (Deno as unknown as Record<symbol, DenoInternals | undefined>)[internal]?.core;
  if (typeof core?.resources !== 'function') {
    throw new Error(`Deno ${Deno.version.deno} has no Deno[Deno.internal].core.resources()`);
  }
  return () => {
    const sockets = Object.entries(core.resources()).flatMap(([rid, name]) =>
      SOCKET_RESOURCE.test(name)
        ? [`${name.endsWith('Listener') ? 'listener' : 'socket'} ${name} rid ${rid}`]
        : [],
    );
    const timers = process.getActiveResourcesInfo().filter((name) => name === 'Timeout');
    return [...sockets, ...timers.map(() => 'timer')];
  };
}
