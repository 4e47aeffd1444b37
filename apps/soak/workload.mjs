// The soak itself, the same on every runtime: a server (`listen`) and clients (`connect`) of one
// adapter in one process, `connections` connections with 8 to 64 in flight, every shutdown path and
// both TLS versions, data checked by SHA-256 both ways. Returns the figures; the runtime's entry
// (runtimes/<runtime>.mjs) supplies the adapter, the leak probes, GC and RSS.

import { catchEscapes, EscapedErrors, leftLive } from '@closenotify/conformance';
import { liveResources } from '@closenotify/core';

/**
 * How each connection ends, in turn. The client writes its payload first and the server answers
 * with its own; then:
 * - close: the client close()s, the server sees the close_notify and answers;
 * - shutdown-write: the client shutdown('write')s and reads to the server's end, which close()s;
 * - server-close: the server close()s first, the client sees the close_notify and answers;
 * - server-shutdown-write: the server shutdown('write')s first, the client reads to its end, then
 *   close()s (the peer closes first, half-open);
 * - abort: the client abort()s, the server sees the reset;
 * - close-no-wait: the client close({ timeoutMs: 0 })s, not waiting for the server's answer.
 */
export const SHUTDOWN_PATHS = [
  'close',
  'shutdown-write',
  'server-close',
  'server-shutdown-write',
  'abort',
  'close-no-wait',
];
export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'];
/** In-flight limits, in turn. */
export const CONCURRENCY = [8, 64, 16, 48, 32, 24, 56, 12];
/** Connections between changes of the in-flight limit: every limit comes twice even in a short run. */
export function concurrencyStep(connections) {
  return Math.max(1, Math.min(250, Math.floor(connections / (2 * CONCURRENCY.length))));
}
/** A hang guard per connection, far beyond what one takes (a few ms). */
const CONNECTION_LIMIT_MS = 30_000;
/**
 * The warm-up, before RSS is taken as the reference: one turn through every in-flight limit, so the
 * allocators have seen the largest load (64 at a time) and the JIT the whole workload. Allocators
 * keep the pages of such a peak (measured on Deno: RSS rose by 40 MiB during the first 64-at-a-time
 * stretch after a shorter warm-up, then stayed flat for 8,000 connections).
 */
export function warmUpCount(connections) {
  return concurrencyStep(connections) * CONCURRENCY.length;
}

/**
 * @param {{
 *   connect: (options: object) => Promise<any>,
 *   capabilities: { versionBounds: boolean },
 *   listen: (options: object, onSocket: (socket: any) => unknown) => Promise<any>,
 *   liveResources: () => { sockets: number, servers: number },
 *   runtimeResources: () => string[],
 *   collectGarbage: () => void | Promise<void>,
 *   rss: () => number,
 *   pki: { ca: string, server: { cert: string, key: string } },
 *   connections: number,
 *   log: (line: string) => void,
 * }} options
 */
export async function soak(options) {
  const { connect, listen, pki, connections, log } = options;
  // Without versionBounds the adapter cannot ask for a version: the runtime negotiates, and the
  // figures say which versions that gave.
  const pinVersions = options.capabilities.versionBounds;
  const negotiated = {};
  const warmUp = warmUpCount(connections);
  const step = concurrencyStep(connections);
  const baseline = options.runtimeResources();
  const failures = [];
  const serverSides = new Set();
  const server = await listen({ ...pki.server }, (socket) => {
    const side = serveOne(socket).catch((error) => failures.push(`server: ${describe(error)}`));
    serverSides.add(side);
    side.finally(() => serverSides.delete(side));
  });
  const port = server.address.port;
  let peakRss = options.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, options.rss());
  }, 100);
  const started = performance.now();
  let warmRss = 0;
  let warmedAt = started;
  let done = 0;
  let next = 0;
  const inFlight = new Set();
  try {
    while (done < connections) {
      const limit = CONCURRENCY[Math.floor(next / step) % CONCURRENCY.length];
      while (next < connections && inFlight.size < limit) {
        const index = next++;
        const run = guarded(
          clientOne(connect, port, pki.ca, index, pinVersions, negotiated),
          `connection ${index}`,
        )
          .catch((error) =>
            failures.push(`connection ${index} (${pathOf(index)}, ${tlsOf(index)}): ${describe(error)}`),
          )
          .finally(() => {
            inFlight.delete(run);
            done += 1;
          });
        inFlight.add(run);
      }
      await Promise.race(inFlight);
      if (done >= warmUp && warmRss === 0) {
        await options.collectGarbage();
        warmRss = options.rss();
        warmedAt = performance.now();
        log(`warmed up after ${done} connections: RSS ${mib(warmRss)} MiB`);
      }
      if (done % Math.max(100, Math.floor(connections / 10)) === 0 || done === connections) {
        const seconds = (performance.now() - started) / 1000;
        log(
          `${done}/${connections} connections, ${inFlight.size} in flight (limit ${limit}), ${(done / seconds).toFixed(0)}/s, RSS ${mib(options.rss())} MiB, ${failures.length} failure(s)`,
        );
      }
    }
    await guarded(Promise.all([...serverSides]), 'the server sides of the last connections');
  } finally {
    clearInterval(sampler);
    await server.close();
  }
  const durationMs = performance.now() - started;
  const measuredMs = performance.now() - warmedAt;
  await options.collectGarbage();
  const leaks = await settledLeaks(options, baseline);
  await options.collectGarbage();
  const afterRss = options.rss();
  return {
    connections,
    warmUp,
    durationMs: Math.round(durationMs),
    connectionsPerSecond: Math.round((connections / durationMs) * 1000),
    connectionsPerSecondAfterWarmUp: Math.round(((connections - warmUp) / measuredMs) * 1000),
    peakRss,
    warmRss,
    afterRss,
    leaks,
    versionsPinned: pinVersions,
    negotiated,
    failures: failures.slice(0, 20),
    failureCount: failures.length,
  };
}

/** What is still live after the run: core's counts and the runtime's own list, given time to settle. */
async function settledLeaks(options, baseline) {
  const left = await leftLive(options.runtimeResources, baseline, 5_000, options.liveResources);
  return [
    ...(left.sockets > 0 ? [`${left.sockets} socket(s) live in core`] : []),
    ...(left.servers > 0 ? [`${left.servers} server(s) live in core`] : []),
    ...left.runtime.map((entry) => `runtime: ${entry}`),
  ];
}

const pathOf = (index) => SHUTDOWN_PATHS[index % SHUTDOWN_PATHS.length];
/** Changes every full round of paths, so each path meets both versions. */
const tlsOf = (index) => TLS_VERSIONS[Math.floor(index / SHUTDOWN_PATHS.length) % TLS_VERSIONS.length];

/**
 * The client writes a header (its index, 4 bytes), then its payload; the server derives both
 * payloads from the index, so each side checks what it received by hash.
 */
async function clientOne(connect, port, ca, index, pinVersions, negotiated) {
  const tls = tlsOf(index);
  const path = pathOf(index);
  const socket = await connect({
    hostname: 'localhost',
    port,
    ca,
    caAddsToDefaultTrust: true,
    ...(pinVersions ? { minVersion: tls, maxVersion: tls } : {}),
  });
  try {
    const session = await socket.opened;
    const protocol = session.protocol ?? 'not reported';
    negotiated[protocol] = (negotiated[protocol] ?? 0) + 1;
    if (pinVersions && session.protocol !== null && session.protocol !== tls) {
      throw new Error(`negotiated ${session.protocol}, asked for ${tls}`);
    }
    const reader = new Reader(socket);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, index);
    await socket.write(header);
    await socket.write(payload(index, 'up'));
    const expectedDown = payload(index, 'down');
    const down = await reader.exactly(expectedDown.byteLength);
    await sameHash(down, expectedDown, 'what the client received');
    switch (path) {
      case 'close':
        await socket.close();
        break;
      case 'shutdown-write':
      case 'server-close':
      case 'server-shutdown-write':
        if (path === 'shutdown-write') await socket.shutdown('write');
        await reader.end('the server payload');
        await socket.close();
        break;
      case 'abort':
        socket.abort(new Error('soak: abort path'));
        break;
      case 'close-no-wait':
        await socket.close({ timeoutMs: 0 });
        break;
    }
    await socket.closed;
  } catch (error) {
    socket.abort(error);
    throw error;
  }
}

async function serveOne(socket) {
  try {
    const reader = new Reader(socket);
    const header = await reader.exactly(4);
    const index = new DataView(header.buffer, header.byteOffset).getUint32(0);
    const expectedUp = payload(index, 'up');
    const up = await reader.exactly(expectedUp.byteLength);
    await sameHash(up, expectedUp, 'what the server received');
    const path = pathOf(index);
    if (path === 'server-close' || path === 'server-shutdown-write') {
      // Only once the client has read everything, so nothing of the payload meets a reset.
      await socket.write(payload(index, 'down'));
      if (path === 'server-close') await socket.close();
      else {
        await socket.shutdown('write');
        await reader.end('the client payload');
      }
    } else {
      await socket.write(payload(index, 'down'));
      // The client's close_notify, FIN, or (abort, close without waiting) a reset.
      try {
        await reader.end('the client payload');
      } catch (error) {
        if (path !== 'abort' && path !== 'close-no-wait') throw error;
      }
      await socket.close();
    }
    await socket.closed;
  } catch (error) {
    socket.abort(error);
    throw error;
  }
}

/** A payload of 1 byte to 64 KiB, different for every connection and direction. */
function payload(index, direction) {
  let state = (index * 2654435761 + (direction === 'up' ? 1 : 7)) >>> 0;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const bytes = new Uint8Array(1 + (next() % 65536));
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
  return bytes;
}

async function sameHash(received, expected, what) {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', received),
    crypto.subtle.digest('SHA-256', expected),
  ]);
  const hex = (digest) =>
    Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
  if (hex(a) !== hex(b))
    throw new Error(
      `${what}: SHA-256 ${hex(a)}, expected ${hex(b)} (${received.byteLength} of ${expected.byteLength} bytes)`,
    );
}

/** Reads exact byte counts off a socket, keeping what a chunk brought beyond them. */
class Reader {
  #socket;
  #pending = new Uint8Array(0);
  constructor(socket) {
    this.#socket = socket;
  }
  async exactly(length) {
    while (this.#pending.byteLength < length) {
      const chunk = await this.#socket.read();
      if (chunk === null)
        throw new Error(`the stream ended after ${this.#pending.byteLength} of ${length} bytes`);
      const joined = new Uint8Array(this.#pending.byteLength + chunk.byteLength);
      joined.set(this.#pending);
      joined.set(chunk, this.#pending.byteLength);
      this.#pending = joined;
    }
    const bytes = this.#pending.slice(0, length);
    this.#pending = this.#pending.subarray(length);
    return bytes;
  }
  /** The end of the stream, with nothing left unread. */
  async end(what) {
    if (this.#pending.byteLength > 0 || (await this.#socket.read()) !== null)
      throw new Error(`bytes after ${what}`);
  }
}

/** `promise`, or a failure once it has been pending for CONNECTION_LIMIT_MS; the timer never outlives it. */
async function guarded(promise, what) {
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: still pending after ${CONNECTION_LIMIT_MS} ms`)),
      CONNECTION_LIMIT_MS,
    );
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error) {
  return error instanceof Error ? `${error.code ? `${error.code}: ` : ''}${error.message}` : String(error);
}

const mib = (bytes) => (bytes / 1048576).toFixed(1);

/**
 * One runtime's soak process (runtimes/<name>.mjs): runs the soak on that runtime's adapter and prints
 * the figures as one JSON line, with whatever escaped as an uncaught exception or unhandled rejection.
 */
export async function soakProcess({ name, adapter, request, runtimeResources, collectGarbage, rss, exit }) {
  const escaped = new EscapedErrors();
  catchEscapes(escaped);
  const { connections, pki } = JSON.parse(request ?? '{}');
  const figures = await soak({
    capabilities: adapter.capabilities,
    connect: adapter.connect,
    listen: adapter.listen,
    liveResources,
    runtimeResources,
    collectGarbage,
    rss,
    pki,
    connections,
    log: (line) => console.error(`[${name}] ${line}`),
  }).catch((error) => {
    // Hooked escapes would swallow a rejected top-level await: say it and fail.
    console.error(error);
    exit(1);
  });
  console.log(JSON.stringify({ ...figures, escaped: escaped.drain() }));
}
