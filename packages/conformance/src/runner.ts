/**
 * Runs the catalogue against one adapter inside the current runtime. Every entry gets a verdict:
 * `pass`, `fail` (the adapter broke the requirement, leaked, or let an error escape: an unhandled
 * rejection or an uncaught exception),
 * `unsupported` (a capability it declares missing: never run, never counted as a pass), or
 * `error` (the suite's own machinery failed).
 */
import { liveResources, type ShutdownableSecureSocket } from '@closenotify/core';
import { CaseFailure, delay, InfrastructureError, NOT_RUN_PREFIX, NotRun } from './assert.ts';
import {
  type AdapterUnderTest,
  type CaseContext,
  type ConformanceCase,
  hasCapability,
  type RuntimeInfo,
  TLS_VERSIONS,
  trustOptions,
} from './case.ts';
import { CATALOGUE } from './cases/index.ts';
import type { PeerClient, PeerHandle, PeerPki, PeerSpec, TlsVersion } from './peer-client.ts';
import type { CaseResult, ConformanceReport } from './report.ts';

export interface CatalogueEntry {
  case: ConformanceCase;
  tls: TlsVersion | null;
  /** `id@TLSv1.3`, or `id` when the version does not matter. */
  key: string;
}

export function catalogueEntries(cases: readonly ConformanceCase[] = CATALOGUE): CatalogueEntry[] {
  return cases.flatMap((item): CatalogueEntry[] =>
    item.tls === 'each'
      ? TLS_VERSIONS.map((tls) => ({ case: item, tls, key: `${item.id}@${tls}` }))
      : [{ case: item, tls: null, key: item.id }],
  );
}

/**
 * Collects what escaped the code under test: unhandled rejections and uncaught exceptions. Each
 * runtime's entry feeds it through `catchEscapes`, and the runner charges what arrived during a case
 * to that case.
 */
export class EscapedErrors {
  #rejections: unknown[] = [];
  #exceptions: unknown[] = [];
  rejection(reason: unknown): void {
    this.#rejections.push(reason);
  }
  exception(error: unknown): void {
    this.#exceptions.push(error);
  }
  /** What escaped since the last call, as failure messages. */
  drain(): string[] {
    const messages = [
      ...this.#rejections.map((reason) => `unhandled rejection: ${describe(reason)}`),
      ...this.#exceptions.map((error) => `uncaught exception: ${describe(error)}`),
    ];
    this.#rejections = [];
    this.#exceptions = [];
    return messages;
  }
}

interface NodeStyleProcess {
  on(event: 'unhandledRejection' | 'uncaughtException', listener: (error: unknown) => void): void;
}

/**
 * Hooks the runtime's global error events to `escaped`: Deno's `unhandledrejection` and `error` events
 * (their default, ending the process, is prevented), Node's and Bun's process events. Once hooked, an
 * escaped error no longer ends the run: it fails the case it happened in.
 */
export function catchEscapes(escaped: EscapedErrors): void {
  if (typeof (globalThis as { Deno?: unknown }).Deno === 'object') {
    globalThis.addEventListener('unhandledrejection', (event) => {
      event.preventDefault();
      escaped.rejection((event as PromiseRejectionEvent).reason);
    });
    globalThis.addEventListener('error', (event) => {
      event.preventDefault();
      escaped.exception((event as ErrorEvent).error);
    });
    return;
  }
  const process = (globalThis as unknown as { process: NodeStyleProcess }).process;
  process.on('unhandledRejection', (reason) => escaped.rejection(reason));
  process.on('uncaughtException', (error) => escaped.exception(error));
}

export interface RunOptions {
  adapter: AdapterUnderTest;
  runtime: RuntimeInfo;
  peer: PeerClient;
  escaped: EscapedErrors;
  /** Only entries whose key contains one of these strings. */
  filter?: string[];
  onResult?: (result: CaseResult, index: number, total: number) => void;
  /**
   * The runtime's own list of what this process holds open, whatever core's counters say: one entry
   * per TCP socket ('socket …') and listener ('listener …'), other than the suite's connections to the
   * peer daemon, and one 'timer' per pending timer. Taken before and after every case: an entry the
   * case added and cleanup did not remove is a leak. Each runtime's entry supplies its own probe
   * (runtime-resources.ts), which checkLeakAccounting proves before the run relies on it.
   */
  runtimeResources?: () => string[];
}

const DEFAULT_TIMEOUT_MS = 20_000;
/**
 * How long a resource may take to go after what releases it: a socket's `closed` settles after its
 * close handshake, a runtime frees its handle a few turns after that.
 */
const LEAK_SETTLE_MS = 3_000;

export async function runConformance(options: RunOptions): Promise<ConformanceReport> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const entries = catalogueEntries().filter(
    (entry) => !options.filter?.length || options.filter.some((part) => entry.key.includes(part)),
  );
  const pki = await options.peer.pki();
  const accounting = await checkLeakAccounting(options, pki);
  const results: CaseResult[] = [];
  for (const [index, entry] of entries.entries()) {
    const result = accounting
      ? { id: entry.case.id, tls: entry.tls, status: 'error' as const, message: accounting, durationMs: 0 }
      : await runEntry(entry, options, pki);
    results.push(result);
    options.onResult?.(result, index, entries.length);
  }
  return {
    runtime: options.runtime,
    adapter: {
      name: options.adapter.name,
      version: options.adapter.version,
      capabilities: options.adapter.capabilities,
    },
    startedAt,
    durationMs: Math.round(performance.now() - started),
    results,
  };
}

/**
 * The per-case leak checks read core's live-socket count and the runtime's own list of resources;
 * they only mean something if the adapter and the suite share one copy of core, and if the runtime
 * probe sees what it claims to. Prove both once, with a real socket, listener and timer, before
 * relying on them.
 */
export async function checkLeakAccounting(
  options: Pick<RunOptions, 'adapter' | 'peer' | 'runtimeResources'>,
  pki: PeerPki,
): Promise<string | undefined> {
  let peer: PeerHandle | undefined;
  try {
    peer = await options.peer.start({
      role: 'server',
      observe: false,
      steps: [{ op: 'readUntilEnd' }, { op: 'closeNotify' }],
    });
    const before = liveResources().sockets;
    const baseline = options.runtimeResources?.() ?? [];
    const socket = await options.adapter.connect({
      hostname: 'localhost',
      port: peer.port,
      ...trustOptions(options.adapter.capabilities, pki.ca),
    });
    const during = liveResources().sockets;
    const runtimeDuring = options.runtimeResources?.() ?? [];
    await socket.close();
    if (during !== before + 1) {
      return `the adapter's sockets are invisible to @closenotify/core's liveResources() (${before} → ${during}): two copies of core are loaded, so leaks could not be detected`;
    }
    if (options.runtimeResources) {
      return await checkRuntimeProbe(options.runtimeResources, options.adapter, pki, baseline, runtimeDuring);
    }
    return undefined;
  } catch (error) {
    return `could not open a first socket to check leak accounting: ${describe(error)}`;
  } finally {
    await peer?.stop().catch(() => {});
  }
}

/** The runtime probe must see a socket, a listener and a timer come, and see each go again. */
async function checkRuntimeProbe(
  probe: () => string[],
  adapter: AdapterUnderTest,
  pki: PeerPki,
  baseline: string[],
  withSocket: string[],
): Promise<string | undefined> {
  const blind = (what: string, seen: string[]) =>
    `the runtime resource probe did not see ${what} (it listed ${JSON.stringify(seen)}): runtime-level leaks could not be detected`;
  if (!resourcesAdded(withSocket, baseline).some((entry) => entry.startsWith('socket '))) {
    return blind('an open socket', withSocket);
  }
  const afterSocket = await settledRuntime(probe, baseline);
  if (afterSocket.length > 0) return blind(`a closed socket go (still: ${afterSocket.join(', ')})`, probe());
  const server = await adapter.listen({ ...pki.server });
  const withListener = probe();
  await server.close();
  if (!resourcesAdded(withListener, baseline).some((entry) => entry.startsWith('listener '))) {
    return blind('a listener', withListener);
  }
  const timer = setTimeout(() => {}, 60_000);
  const withTimer = probe();
  clearTimeout(timer);
  if (!resourcesAdded(withTimer, baseline).includes('timer')) return blind('a pending timer', withTimer);
  const after = await settledRuntime(probe, baseline);
  if (after.length > 0) return blind(`a listener and a timer go (still: ${after.join(', ')})`, probe());
  return undefined;
}

/** Entries of `now` beyond those in `baseline`, counting repeats ('timer' twice against once is one). */
function resourcesAdded(now: readonly string[], baseline: readonly string[]): string[] {
  const remaining = new Map<string, number>();
  for (const entry of baseline) remaining.set(entry, (remaining.get(entry) ?? 0) + 1);
  return now.filter((entry) => {
    const left = remaining.get(entry) ?? 0;
    if (left === 0) return true;
    remaining.set(entry, left - 1);
    return false;
  });
}

/** What the runtime holds beyond `baseline` once it has had LEAK_SETTLE_MS to let go. */
async function settledRuntime(probe: () => string[], baseline: readonly string[]): Promise<string[]> {
  const deadline = performance.now() + LEAK_SETTLE_MS;
  for (;;) {
    const extra = resourcesAdded(probe(), baseline);
    if (extra.length === 0 || performance.now() > deadline) return extra;
    await delay(20);
  }
}

export async function runEntry(
  entry: CatalogueEntry,
  options: RunOptions,
  pki: PeerPki,
): Promise<CaseResult> {
  const { case: item, tls } = entry;
  const base = { id: item.id, tls };
  const needed = [...(item.requires ?? []), ...((tls && item.requiresOn?.[tls]) ?? [])];
  const missing = needed.filter((name) => !hasCapability(options.adapter.capabilities, name));
  if (missing.length > 0) {
    return {
      ...base,
      status: 'unsupported',
      message: `capability ${missing.join(', ')} is false`,
      durationMs: 0,
    };
  }
  const started = performance.now();
  const baseline = options.runtimeResources?.() ?? [];
  const scope = new CaseScope(options.adapter, options.peer, pki, tls);
  options.escaped.drain();
  let status: CaseResult['status'] = 'pass';
  let message = '';
  const timeoutMs = item.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      item.run(scope.context),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CaseFailure(`did not finish within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    if (error instanceof NotRun) {
      status = 'unsupported';
      message = `${NOT_RUN_PREFIX}${error.message}`;
    } else {
      status = error instanceof InfrastructureError ? 'error' : 'fail';
      message = describe(error);
    }
  } finally {
    clearTimeout(timer);
  }
  // Before cleanup aborts anything: a case that passed must have closed every socket it opened.
  const forgotten = status === 'pass' ? await scope.forgottenSockets() : undefined;
  if (forgotten) {
    status = 'fail';
    message = forgotten;
  }
  const cleanup = await scope.cleanup();
  if (cleanup && status !== 'error') {
    status = 'error';
    message = [message, cleanup].filter(Boolean).join('; ');
  }
  const leaks = await waitForNoLeaks(options.runtimeResources, baseline);
  const escaped = options.escaped.drain();
  if (status === 'pass' && leaks) {
    status = 'fail';
    message = leaks;
  }
  if (escaped.length > 0 && status !== 'error') {
    status = 'fail';
    message = [message, ...escaped].filter(Boolean).join('; ');
  }
  if (status !== 'pass' && scope.notes.length > 0) message += ` [steps: ${scope.notes.join(' → ')}]`;
  return { ...base, status, message, durationMs: Math.round(performance.now() - started) };
}

/** What is still live once it has had time to go: core's counts and the runtime's entries beyond a baseline. */
export interface LeftLive {
  sockets: number;
  servers: number;
  runtime: string[];
}

/**
 * Waits up to `settleMs` for core's counts to reach zero and the runtime to hold nothing beyond
 * `baseline`, and returns what is left (all zero and empty when nothing leaked). `live` is core's
 * counter as the caller imported it.
 */
export async function leftLive(
  probe: RunOptions['runtimeResources'],
  baseline: readonly string[],
  settleMs = LEAK_SETTLE_MS,
  live: () => { sockets: number; servers: number } = liveResources,
): Promise<LeftLive> {
  const deadline = performance.now() + settleMs;
  for (;;) {
    // Unhandled rejections and uncaught exceptions are reported on a later turn of the loop: give them one.
    await delay(0);
    const { sockets, servers } = live();
    const runtime = probe ? resourcesAdded(probe(), baseline) : [];
    const clean = sockets === 0 && servers === 0 && runtime.length === 0;
    if (clean || performance.now() > deadline) return { sockets, servers, runtime };
    await delay(20);
  }
}

/** After cleanup: nothing live in core, and nothing the runtime holds beyond `baseline`; else why not. */
export async function waitForNoLeaks(
  probe: RunOptions['runtimeResources'],
  baseline: readonly string[],
  after = 'the case and its cleanup',
): Promise<string | undefined> {
  const { sockets, servers, runtime } = await leftLive(probe, baseline);
  const parts = [
    ...(sockets > 0 || servers > 0
      ? [`leaked ${sockets} socket(s) and ${servers} server(s) by core's count`]
      : []),
    ...(runtime.length > 0 ? [`the runtime still holds ${runtime.join(', ')}`] : []),
  ];
  return parts.length === 0 ? undefined : `${parts.join('; ')} ${LEAK_SETTLE_MS} ms after ${after}`;
}

export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const native = error.cause as
    | { code?: unknown; errno?: unknown; syscall?: unknown; name?: unknown }
    | undefined;
  // The runtime's own error, for a failure message that says what the adapter mapped from.
  const cause =
    native && typeof native === 'object'
      ? ` [cause: ${[native.name, native.code, native.errno, native.syscall].filter((part) => part !== undefined).join(' ')}]`
      : '';
  return `${code ? `${String(code)}: ` : ''}${error.message}${cause}`;
}

/** Everything a case opened, so it can be torn down whatever the outcome. */
class CaseScope {
  readonly notes: string[] = [];
  readonly #peers: Array<{ stop(): Promise<void> }> = [];
  readonly #sockets: TrackedSocket[] = [];
  readonly #servers: Array<{ close(): Promise<void> }> = [];
  readonly context: CaseContext;

  constructor(adapter: AdapterUnderTest, client: PeerClient, pki: PeerPki, tls: TlsVersion | null) {
    const track = (
      socket: ShutdownableSecureSocket,
      role: TrackedSocket['role'],
    ): ShutdownableSecureSocket => {
      const tracked: TrackedSocket = { socket, role, number: this.#sockets.length + 1, closed: false };
      socket.closed.then(
        () => {
          tracked.closed = true;
        },
        () => {
          tracked.closed = true;
        },
      );
      this.#sockets.push(tracked);
      return socket;
    };
    const serve: CaseContext['serve'] = async (options = {}, onSocket) => {
      const server = await adapter.listen(
        { ...pki.server, ...options },
        onSocket && ((socket) => onSocket(track(socket, 'accepted'))),
      );
      this.#servers.push(server);
      return server;
    };
    this.context = {
      adapter,
      pki,
      tls,
      peer: async (spec: PeerSpec) => {
        const handle = await infrastructure(() => client.start({ ...(tls ? { tls } : {}), ...spec }));
        const peer = guardedPeer(handle);
        this.#peers.push(peer);
        return peer;
      },
      external: async (spec) => {
        const programs = await infrastructure(() => client.programs());
        if (programs[spec.program] === null) throw new NotRun(`${spec.program} is not installed`);
        const handle = await infrastructure(() => client.startExternal({ ...(tls ? { tls } : {}), ...spec }));
        this.#peers.push(handle);
        return handle;
      },
      externalClient: async (spec) => {
        const programs = await infrastructure(() => client.programs());
        if (programs[spec.program] === null) throw new NotRun(`${spec.program} is not installed`);
        const handle = await infrastructure(() =>
          client.startExternalClient({ ...(tls ? { tls } : {}), ...spec }),
        );
        this.#peers.push(handle);
        return handle;
      },
      trusting: (ca) => trustOptions(adapter.capabilities, ca),
      connect: async (peer, options = {}) =>
        track(
          await adapter.connect({
            hostname: 'localhost',
            port: peer.port,
            ...trustOptions(adapter.capabilities, pki.ca),
            ...options,
          }),
          'client',
        ),
      listen: async (options = {}) => {
        const accepted: ShutdownableSecureSocket[] = [];
        const waiting: Array<(socket: ShutdownableSecureSocket) => void> = [];
        const server = await serve(options, (socket) => {
          const waiter = waiting.shift();
          if (waiter) waiter(socket);
          else accepted.push(socket);
        });
        const next = (): Promise<ShutdownableSecureSocket> => {
          const ready = accepted.shift();
          return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
        };
        return { server, next };
      },
      serve,
      kernelSocketOptions: async (socket) => {
        const { localAddress, remoteAddress } = await socket.opened;
        if (!localAddress || !remoteAddress) {
          throw new InfrastructureError('the socket reports no local or remote address to find it by');
        }
        const query = { pid: runtimePid(), localPort: localAddress.port, remotePort: remoteAddress.port };
        const options = await infrastructure(() => client.kernelSocketOptions(query));
        if (!options)
          throw new NotRun('python3 is not installed (the peer daemon reads socket options with it)');
        return options;
      },
      note: (text: string) => {
        this.notes.push(text);
      },
      startTls: async (socket, options) => {
        const role = this.#sockets.find((tracked) => tracked.socket === socket)?.role ?? 'client';
        return track(await socket.startTls(options), role);
      },
    };
  }

  /**
   * What the case left open, before cleanup aborts it: after LEAK_SETTLE_MS for the `closed` of
   * sockets it did close to settle, every socket still live in core is one it forgot. Servers are
   * the scope's to close; sockets are the case's.
   */
  async forgottenSockets(): Promise<string | undefined> {
    const deadline = performance.now() + LEAK_SETTLE_MS;
    while (liveResources().sockets > 0 && performance.now() < deadline) await delay(20);
    const live = liveResources().sockets;
    if (live === 0) return undefined;
    const named = this.#sockets
      .filter((tracked) => !tracked.closed)
      .map(({ socket, role, number }) => `${role} socket #${number} (state ${socket.state})`);
    const unnamed = live - named.length;
    const parts = [
      ...named,
      ...(unnamed > 0 ? [`${unnamed} socket(s) the case took from a server's iterator`] : []),
    ];
    return `left ${live} socket(s) open for cleanup to abort: ${parts.join(', ')}`;
  }

  /** Aborts what the case left open; returns a message if the suite's own teardown failed. */
  async cleanup(): Promise<string | undefined> {
    for (const { socket } of this.#sockets) socket.abort(new Error('conformance case cleanup'));
    const problems: string[] = [];
    for (const server of this.#servers)
      await server.close().catch((e: unknown) => problems.push(describe(e)));
    for (const peer of this.#peers) await peer.stop().catch((e: unknown) => problems.push(describe(e)));
    return problems.length > 0 ? `teardown: ${problems.join('; ')}` : undefined;
  }
}

interface TrackedSocket {
  socket: ShutdownableSecureSocket;
  /** 'client': from the context's connect(); 'accepted': handed out by a server of the context. */
  role: 'client' | 'accepted';
  /** In the order the case got its sockets, from 1. */
  number: number;
  /** `closed` has settled. */
  closed: boolean;
}

/** This runtime's process id: `Deno.pid` in Deno, `process.pid` in Node and Bun. */
function runtimePid(): number {
  const runtime = globalThis as { Deno?: { pid: number }; process?: { pid: number } };
  const pid = runtime.Deno?.pid ?? runtime.process?.pid;
  if (pid === undefined) throw new InfrastructureError('this runtime exposes no process id');
  return pid;
}

async function infrastructure<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new InfrastructureError(`peer daemon: ${describe(error)}`);
  }
}

/** A peer handle whose daemon failures count as the suite's errors, not the adapter's. */
function guardedPeer(handle: PeerHandle): PeerHandle {
  let stopped: Promise<void> | undefined;
  return {
    id: handle.id,
    port: handle.port,
    report: () => infrastructure(() => handle.report()),
    whenDone: (timeoutMs) => infrastructure(() => handle.whenDone(timeoutMs)),
    signal: (name) => infrastructure(() => handle.signal(name)),
    stop: () => {
      stopped ??= infrastructure(() => handle.stop());
      return stopped;
    },
  };
}
