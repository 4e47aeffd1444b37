/**
 * The TCP options reach the kernel socket: TCP_NODELAY (noDelay, default true), SO_KEEPALIVE and
 * TCP_KEEPIDLE (keepAlive), read with getsockopt from the runtime's own process, so the cases are exact
 * and timing-free. Client role against a server peer, server role with our listen() socket.
 */

import type { ConnectOptions, ListenOptions, ShutdownableSecureSocket } from '@closenotify/core';
import { equal } from '../assert.ts';
import type { CapabilityName, CaseContext, ConformanceCase } from '../case.ts';
import type { KernelSocketOptions } from '../peer-client.ts';

type SocketOptions = Pick<ConnectOptions & ListenOptions, 'noDelay' | 'keepAlive'>;

interface Expected {
  noDelay: boolean;
  keepAlive: boolean;
  keepIdleSeconds?: number;
}

interface OptionsCase {
  name: string;
  requirement: string;
  options: SocketOptions;
  expected: Expected;
  requires: CapabilityName[];
  serverRequires: CapabilityName[];
}

const KEEP_ALIVE_DELAY_MS = 45_000;

const OPTIONS_CASES: OptionsCase[] = [
  {
    name: 'defaults',
    requirement: 'without options TCP_NODELAY is set (noDelay defaults to true) and SO_KEEPALIVE is not',
    options: {},
    expected: { noDelay: true, keepAlive: false },
    requires: [],
    serverRequires: ['serverNoDelay'],
  },
  {
    name: 'no-delay-off',
    requirement: 'noDelay: false leaves Nagle on (TCP_NODELAY clear)',
    options: { noDelay: false },
    expected: { noDelay: false, keepAlive: false },
    requires: [],
    serverRequires: [],
  },
  {
    name: 'keep-alive',
    requirement: 'keepAlive: true sets SO_KEEPALIVE',
    options: { keepAlive: true },
    expected: { noDelay: true, keepAlive: true },
    requires: ['keepAlive'],
    serverRequires: ['serverNoDelay', 'serverKeepAlive'],
  },
  {
    name: 'keep-alive-delay',
    requirement: `keepAlive: { initialDelayMs: ${KEEP_ALIVE_DELAY_MS} } sets SO_KEEPALIVE and TCP_KEEPIDLE to ${KEEP_ALIVE_DELAY_MS / 1000} s`,
    options: { keepAlive: { initialDelayMs: KEEP_ALIVE_DELAY_MS } },
    expected: { noDelay: true, keepAlive: true, keepIdleSeconds: KEEP_ALIVE_DELAY_MS / 1000 },
    requires: ['keepAlive', 'keepAliveInitialDelay'],
    serverRequires: ['serverNoDelay', 'serverKeepAlive'],
  },
  {
    name: 'keep-alive-short-delay',
    requirement:
      'a keepAlive delay under one second sets TCP_KEEPIDLE to 1 s, the shortest the kernel takes, never the system default',
    options: { keepAlive: { initialDelayMs: 300 } },
    expected: { noDelay: true, keepAlive: true, keepIdleSeconds: 1 },
    requires: ['keepAlive', 'keepAliveInitialDelay'],
    serverRequires: ['serverNoDelay', 'serverKeepAlive'],
  },
];

function compare(actual: KernelSocketOptions, expected: Expected): void {
  equal(actual.noDelay, expected.noDelay, 'TCP_NODELAY');
  equal(actual.keepAlive, expected.keepAlive, 'SO_KEEPALIVE');
  if (expected.keepIdleSeconds !== undefined)
    equal(actual.keepIdleSeconds, expected.keepIdleSeconds, 'TCP_KEEPIDLE');
}

async function inspect(
  ctx: CaseContext,
  socket: ShutdownableSecureSocket,
  expected: Expected,
): Promise<void> {
  const actual = await ctx.kernelSocketOptions(socket);
  ctx.note(`kernel: ${JSON.stringify(actual)}`);
  compare(actual, expected);
  await socket.close();
}

function clientCase(item: OptionsCase): ConformanceCase {
  return {
    id: `socket-options.${item.name}`,
    requirement: item.requirement,
    source: 'the noDelay and keepAlive options of connect(); tcp(7), socket(7)',
    tls: 'any',
    requires: item.requires,
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'echo' }, { op: 'closeNotify' }],
      });
      await inspect(ctx, await ctx.connect(peer, item.options), item.expected);
    },
  };
}

function serverCase(item: OptionsCase): ConformanceCase {
  return {
    id: `server.socket-options.${item.name}`,
    requirement: `an accepted socket: ${item.requirement}`,
    source: 'the noDelay and keepAlive options of listen(); tcp(7), socket(7)',
    tls: 'any',
    requires: ['server', ...item.requires, ...item.serverRequires],
    async run(ctx) {
      const { server, next } = await ctx.listen(item.options);
      await ctx.peer({
        role: 'client',
        connect: { port: server.address.port },
        observe: false,
        steps: [{ op: 'echo' }, { op: 'closeNotify' }],
      });
      await inspect(ctx, await next(), item.expected);
    },
  };
}

export const socketOptionsCases: ConformanceCase[] = [
  ...OPTIONS_CASES.map(clientCase),
  {
    id: 'socket-options.client-certificate',
    requirement: 'a client presenting a certificate gets TCP_NODELAY and SO_KEEPALIVE like any other client',
    source: 'the noDelay, keepAlive and cert/key options of connect(); tcp(7)',
    tls: 'any',
    requires: ['clientCertificates', 'keepAlive', 'clientCertificateSocketOptions'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        requestClientCert: true,
        observe: false,
        steps: [{ op: 'echo' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { ...ctx.pki.client, keepAlive: true });
      await inspect(ctx, socket, { noDelay: true, keepAlive: true });
    },
  },
  ...OPTIONS_CASES.map(serverCase),
];
