/**
 * The conformance catalogue inside Node (vitest binding): one test per case and TLS version, each
 * judged against packages/conformance/expectations/node.json; the run's report goes to
 * reports/conformance-node.json. Real loopback sockets against the peer daemon, nothing mocked.
 */
import { readFileSync } from 'node:fs';
import {
  type CaseResult,
  type CatalogueEntry,
  type ConformanceReport,
  catalogueEntries,
  catchEscapes,
  checkLeakAccounting,
  EscapedErrors,
  meetsExpectation,
  PeerClient,
  type PeerPki,
  resultKey,
  runEntry,
} from '@closenotify/conformance';
import {
  loadExpectations,
  runtimeResources as nodeRuntimeResources,
  type PeerDaemon,
  spawnPeerDaemon,
  writeReport,
} from '@closenotify/conformance/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilities, connect, listen } from '../src/index.ts';

const { name, version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const adapter = { name, version, connect, listen, capabilities };
const runtime = { name: 'node', version: process.versions.node, tls: `OpenSSL ${process.versions.openssl}` };
const expectations = loadExpectations('node');
const isCi = process.env.CI === 'true' || process.env.CI === '1';
const escaped = new EscapedErrors();
const results: CaseResult[] = [];
const startedAt = new Date().toISOString();
const started = performance.now();

let daemon: PeerDaemon;
let peer: PeerClient;
let pki: PeerPki;
let runtimeResources: () => string[];

beforeAll(async () => {
  catchEscapes(escaped);
  daemon = await spawnPeerDaemon();
  peer = new PeerClient(daemon.controlUrl);
  runtimeResources = nodeRuntimeResources(daemon.controlUrl);
  pki = await peer.pki();
  const accounting = await checkLeakAccounting({ adapter, peer, runtimeResources }, pki);
  if (accounting) throw new Error(accounting);
}, 60_000);

afterAll(async () => {
  const report: ConformanceReport = {
    runtime,
    adapter: { name, version, capabilities },
    startedAt,
    durationMs: Math.round(performance.now() - started),
    results,
  };
  writeReport(report);
  await daemon?.stop();
}, 30_000);

describe(`conformance: ${name} on Node ${runtime.version}`, () => {
  for (const entry of catalogueEntries() as CatalogueEntry[]) {
    const expected = expectations.expected[entry.key]?.status ?? 'pass';
    it(
      `${entry.key} → ${expected}`,
      async () => {
        const result = await runEntry(entry, { adapter, runtime, peer, escaped, runtimeResources }, pki);
        results.push(result);
        const met = meetsExpectation(result, expected, { notRunFails: isCi });
        const outcome = `${resultKey(result)}: ${result.status}${result.message ? ` (${result.message})` : ''}`;
        expect(met ? 'as expected' : outcome).toBe('as expected');
      },
      (entry.case.timeoutMs ?? 20_000) + 10_000,
    );
  }
});
