// The daemon's HTTP control API (JSON in, JSON out); see PeerSpec and PeerReport in src/peer-client.ts.
//   GET /pki · POST /peers · GET /peers/:id[?wait=done&timeoutMs=N] · POST /peers/:id/signal
//   DELETE /peers/:id · POST /shutdown
//   GET /external · POST /external · GET /external/:id · POST /external/:id/kill · DELETE /external/:id
//   (third-party servers)
//   POST /external-clients · GET /external-clients/:id[?timeoutMs=N] · DELETE /external-clients/:id
//   (third-party clients)
//   POST /socket-options (the kernel's view of a socket of the runtime under test)
import http from 'node:http';
import type { Pki } from '@closenotify/test-pki';
import type {
  ExternalClientSpec,
  ExternalProgram,
  ExternalSpec,
  KernelSocketOptions,
  SocketOptionsQuery,
} from '../src/peer-client.ts';
import { ExternalPeer, installedPrograms } from './external.ts';
import { ExternalClient } from './external-client.ts';
import { Peer } from './peer.ts';
import { kernelSocketOptions, SocketProbeUnavailable } from './socket-options.ts';
import { parsePeerSpec, SpecError } from './spec.ts';

const MAX_BODY_BYTES = 1 << 20;
const DEFAULT_WAIT_MS = 10_000;
const MAX_WAIT_MS = 10 * 60_000;

class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class ControlServer {
  readonly #pki: Pki;
  readonly #peers = new Map<string, Peer>();
  readonly #externals = new Map<string, ExternalPeer>();
  readonly #externalClients = new Map<string, ExternalClient>();
  readonly #server: http.Server;
  readonly #onShutdownRequest: () => void;
  #nextId = 1;
  #closing: Promise<void> | undefined;

  /** @param onShutdownRequest called after `POST /shutdown` has been answered */
  constructor(pki: Pki, onShutdownRequest: () => void) {
    this.#pki = pki;
    this.#onShutdownRequest = onShutdownRequest;
    this.#server = http.createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        this.#send(response, status, { error: error instanceof Error ? error.message : String(error) });
      });
    });
  }

  /** Listens on 127.0.0.1 and returns the control URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.#server.address() as { port: number };
    return `http://127.0.0.1:${port}`;
  }

  /** Stops every peer, answers the requests still waiting, and closes the control server. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      const all = [...this.#peers.values(), ...this.#externals.values(), ...this.#externalClients.values()];
      await Promise.all(all.map((peer) => peer.stop()));
      this.#peers.clear();
      this.#externals.clear();
      this.#externalClients.clear();
      await closed;
    })();
    return this.#closing;
  }

  async #handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://control');
    const [resource, id, action, ...rest] = url.pathname.split('/').filter(Boolean);
    const pattern = [resource, id === undefined ? undefined : ':id', action, ...rest]
      .filter(Boolean)
      .join('/');
    switch (`${request.method} /${pattern}`) {
      case 'GET /pki':
        return this.#send(response, 200, this.#pki);
      case 'POST /peers':
        return this.#send(response, 200, await this.#startPeer(await readJson(request)));
      case 'GET /peers/:id': {
        const peer = this.#peer(id);
        if (url.searchParams.get('wait') !== 'done') return this.#send(response, 200, peer.report());
        return this.#send(response, 200, await peer.whenDone(waitTime(url.searchParams.get('timeoutMs'))));
      }
      case 'POST /peers/:id/signal': {
        const peer = this.#peer(id);
        const { name } = (await readJson(request)) as { name?: unknown };
        if (typeof name !== 'string' || name === '') {
          throw new HttpError(400, 'name must be a non-empty string');
        }
        peer.signal(name);
        return this.#send(response, 200, {});
      }
      case 'DELETE /peers/:id': {
        const peer = this.#peer(id);
        this.#peers.delete(peer.id);
        await peer.stop();
        return this.#send(response, 200, {});
      }
      case 'GET /external':
        return this.#send(response, 200, installedPrograms());
      case 'POST /external':
        return this.#send(response, 200, await this.#startExternal(await readJson(request)));
      case 'GET /external/:id':
        return this.#send(response, 200, this.#external(id).report());
      case 'POST /external/:id/kill':
        await this.#external(id).kill();
        return this.#send(response, 200, {});
      case 'DELETE /external/:id': {
        const external = this.#external(id);
        this.#externals.delete(external.id);
        await external.stop();
        return this.#send(response, 200, {});
      }
      case 'POST /external-clients':
        return this.#send(response, 200, await this.#startExternalClient(await readJson(request)));
      case 'GET /external-clients/:id':
        return this.#send(
          response,
          200,
          await this.#externalClient(id).result(waitTime(url.searchParams.get('timeoutMs'))),
        );
      case 'DELETE /external-clients/:id': {
        const client = this.#externalClient(id);
        this.#externalClients.delete(client.id);
        await client.stop();
        return this.#send(response, 200, {});
      }
      case 'POST /socket-options':
        return this.#send(response, 200, await this.#socketOptions(await readJson(request)));
      case 'POST /shutdown':
        response.setHeader('connection', 'close');
        response.once('finish', this.#onShutdownRequest);
        return this.#send(response, 200, {});
      default:
        throw new HttpError(404, `no route ${request.method} ${url.pathname}`);
    }
  }

  async #startPeer(body: unknown): Promise<{ id: string; port?: number }> {
    if (this.#closing) throw new HttpError(503, 'the daemon is shutting down');
    let spec: ReturnType<typeof parsePeerSpec>;
    try {
      spec = parsePeerSpec(body);
    } catch (error) {
      if (error instanceof SpecError) throw new HttpError(400, error.message);
      throw error;
    }
    const peer = await Peer.start(`p${this.#nextId++}`, spec, this.#pki);
    if (this.#closing) {
      await peer.stop();
      throw new HttpError(503, 'the daemon is shutting down');
    }
    this.#peers.set(peer.id, peer);
    return peer.port === undefined ? { id: peer.id } : { id: peer.id, port: peer.port };
  }

  async #startExternal(body: unknown): Promise<{ id: string; port: number }> {
    if (this.#closing) throw new HttpError(503, 'the daemon is shutting down');
    const spec = body as Partial<ExternalSpec> | null;
    const program = spec?.program;
    if (program !== 'openssl' && program !== 'gnutls' && program !== 'postgres')
      throw new HttpError(400, "program must be 'openssl', 'gnutls' or 'postgres'");
    const { serveBytes } = spec as Partial<ExternalSpec>;
    if (serveBytes !== undefined) {
      if (program !== 'openssl') throw new HttpError(400, 'serveBytes needs program openssl');
      if (!Number.isSafeInteger(serveBytes) || serveBytes < 0) {
        throw new HttpError(400, `serveBytes must be an integer ≥ 0, got ${JSON.stringify(serveBytes)}`);
      }
    }
    if (installedPrograms()[program as ExternalProgram] === null)
      throw new HttpError(501, `${program} is not installed`);
    const external = await ExternalPeer.start(`x${this.#nextId++}`, spec as ExternalSpec, this.#pki);
    this.#externals.set(external.id, external);
    return { id: external.id, port: external.port };
  }

  async #startExternalClient(body: unknown): Promise<{ id: string }> {
    if (this.#closing) throw new HttpError(503, 'the daemon is shutting down');
    const spec = (body ?? {}) as Partial<ExternalClientSpec>;
    if (spec.program !== 'openssl') throw new HttpError(400, "program must be 'openssl'");
    if (!Number.isSafeInteger(spec.port) || (spec.port as number) <= 0 || (spec.port as number) > 65_535)
      throw new HttpError(400, `port must be a TCP port, got ${JSON.stringify(spec.port)}`);
    if (typeof spec.input !== 'string') throw new HttpError(400, 'input must be a string');
    if (spec.tls !== undefined && spec.tls !== 'TLSv1.2' && spec.tls !== 'TLSv1.3')
      throw new HttpError(400, "tls must be 'TLSv1.2' or 'TLSv1.3'");
    if (installedPrograms()[spec.program] === null)
      throw new HttpError(501, `${spec.program} is not installed`);
    const client = await ExternalClient.start(`c${this.#nextId++}`, spec as ExternalClientSpec, this.#pki);
    this.#externalClients.set(client.id, client);
    return { id: client.id };
  }

  #externalClient(id: string | undefined): ExternalClient {
    const client = id === undefined ? undefined : this.#externalClients.get(id);
    if (!client) throw new HttpError(404, `no external client ${id}`);
    return client;
  }

  /** `options: null`: the daemon cannot look (no python3); the case then reports "not run". */
  async #socketOptions(body: unknown): Promise<{ options: KernelSocketOptions | null }> {
    const query = (body ?? {}) as Partial<Record<keyof SocketOptionsQuery, unknown>>;
    for (const key of ['pid', 'localPort', 'remotePort'] as const) {
      const value = query[key];
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
        throw new HttpError(400, `${key} must be a positive integer, got ${JSON.stringify(value)}`);
      }
    }
    try {
      return { options: await kernelSocketOptions(query as SocketOptionsQuery) };
    } catch (error) {
      if (error instanceof SocketProbeUnavailable) return { options: null };
      throw new HttpError(422, (error as Error).message);
    }
  }

  #external(id: string | undefined): ExternalPeer {
    const external = id === undefined ? undefined : this.#externals.get(id);
    if (!external) throw new HttpError(404, `no external peer ${id}`);
    return external;
  }

  #peer(id: string | undefined): Peer {
    const peer = id === undefined ? undefined : this.#peers.get(id);
    if (!peer) throw new HttpError(404, `no peer ${id}`);
    return peer;
  }

  #send(response: http.ServerResponse, status: number, body: unknown): void {
    if (response.headersSent) return;
    // Once shutting down, no connection is kept alive, so the control server can close promptly.
    const headers = { 'content-type': 'application/json', ...(this.#closing ? { connection: 'close' } : {}) };
    response.writeHead(status, headers).end(JSON.stringify(body));
  }
}

async function readJson(request: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
}

function waitTime(raw: string | null): number {
  if (raw === null) return DEFAULT_WAIT_MS;
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_WAIT_MS) {
    throw new HttpError(400, `timeoutMs must be an integer from 0 to ${MAX_WAIT_MS}, got ${raw}`);
  }
  return ms;
}
