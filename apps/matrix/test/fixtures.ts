/**
 * Fixture reports for three runtimes, one result per catalogue entry, built from catalogueEntries()
 * so they follow the catalogue. Each runtime shows one kind of trouble:
 * - node: the truncation cases unsupported, as its expectations say;
 * - bun: one unexpected fail (with HTML in its message), gnutls interop not run, abort unsupported as expected;
 * - deno: one expected fail, one unexpected error, a stale expectation, and fewer session-info fields.
 */
import {
  type CaseResult,
  type CaseStatus,
  type CatalogueEntry,
  type ConformanceReport,
  catalogueEntries,
  type Expectations,
} from '@closenotify/conformance';
import type { Capabilities } from '@closenotify/core';
import { type Matrix, mergeReports, type RuntimeInput } from '../src/merge.ts';

export const STARTED_AT = '2026-01-01T00:00:00.000Z';

const ENTRIES = catalogueEntries();

/** The first catalogue key with this prefix: the fixtures name areas, not exact cases. */
export function firstKey(prefix: string): string {
  const entry = ENTRIES.find((candidate) => candidate.key.startsWith(prefix));
  if (!entry) throw new Error(`the catalogue has no case starting with ${prefix}`);
  return entry.key;
}

export const BUN_UNEXPECTED_FAIL = firstKey('shutdown-read.');
export const BUN_FAIL_MESSAGE = 'bytesDiscarded: expected 4096, got 0 </script><b>|pipe|</b>';
export const DENO_EXPECTED_FAIL = firstKey('connect.session-info');
export const DENO_UNEXPECTED_ERROR = firstKey('idle.');
export const DENO_STALE_EXPECTATION = 'retired.case@TLSv1.3';

const isTruncation = (key: string) => key.startsWith('truncation.') || key.startsWith('server.truncation.');

export function capabilities(overrides: Partial<Capabilities> = {}): Capabilities {
  return {
    halfClose: true,
    shutdownRead: true,
    truncationDetection: true,
    abortiveReset: true,
    sessionInfo: {
      protocol: true,
      cipher: true,
      alpnProtocol: true,
      servername: true,
      peerCertificate: true,
      authorized: true,
      localAddress: true,
      remoteAddress: true,
    },
    keepAlive: true,
    keepAliveInitialDelay: true,
    serverNoDelay: true,
    serverKeepAlive: true,
    clientCertificateSocketOptions: true,
    idleTimeout: true,
    startTls: false,
    server: true,
    clientCertificates: true,
    disableVerification: true,
    versionBounds: true,
    requestClientCertificates: true,
    dropDuringHandshake: true,
    exclusiveCa: true,
    tls12ServerCloseNotify: true,
    ...overrides,
  };
}

type Outcome = { status: CaseStatus; message: string } | undefined;

function report(
  runtime: ConformanceReport['runtime'],
  caps: Capabilities,
  outcome: (key: string) => Outcome,
): ConformanceReport {
  const results = ENTRIES.map(
    (entry: CatalogueEntry, index): CaseResult => ({
      id: entry.case.id,
      tls: entry.tls,
      ...(outcome(entry.key) ?? { status: 'pass', message: '' }),
      durationMs: 10 + index,
    }),
  );
  return {
    runtime,
    adapter: { name: `@closenotify/${runtime.name}`, version: '0.0.0', capabilities: caps },
    startedAt: STARTED_AT,
    durationMs: 1234,
    results,
  };
}

function expectations(runtime: string, entries: Array<[string, CaseStatus, string]>): Expectations {
  return {
    runtime,
    expected: Object.fromEntries(
      entries.map(([key, status, reason]) => [
        key,
        { status: status as Exclude<CaseStatus, 'pass'>, reason },
      ]),
    ),
  };
}

export function fixtureInputs(): RuntimeInput[] {
  const truncationKeys = ENTRIES.map((entry) => entry.key).filter(isTruncation);
  const node: RuntimeInput = {
    name: 'node',
    report: report(
      { name: 'node', version: '20.20.2', tls: 'OpenSSL 3.0.19' },
      capabilities({ truncationDetection: false }),
      (key) =>
        isTruncation(key)
          ? { status: 'unsupported', message: 'capability truncationDetection is false' }
          : undefined,
    ),
    absence: null,
    expectations: expectations(
      'node',
      truncationKeys.map((key) => [
        key,
        'unsupported',
        `Node cannot tell a bare FIN from close_notify (${key})`,
      ]),
    ),
  };
  const bun: RuntimeInput = {
    name: 'bun',
    report: report(
      { name: 'bun', version: '1.4.5', tls: 'BoringSSL' },
      capabilities({ abortiveReset: false }),
      (key) => {
        if (key === BUN_UNEXPECTED_FAIL) return { status: 'fail', message: BUN_FAIL_MESSAGE };
        if (key.startsWith('interop.gnutls.'))
          return { status: 'unsupported', message: 'not run: gnutls-serv is not installed' };
        if (key.startsWith('abort.rst-on-wire'))
          return { status: 'unsupported', message: 'capability abortiveReset is false' };
        return undefined;
      },
    ),
    absence: null,
    expectations: expectations(
      'bun',
      ENTRIES.filter((entry) => entry.key.startsWith('abort.rst-on-wire')).map((entry) => [
        entry.key,
        'unsupported',
        'Bun sockets have no RST',
      ]),
    ),
  };
  const deno: RuntimeInput = {
    name: 'deno',
    report: report(
      { name: 'deno', version: '2.9.6', tls: 'rustls' },
      capabilities({ sessionInfo: { ...capabilities().sessionInfo, protocol: false, cipher: false } }),
      (key) => {
        if (key === DENO_EXPECTED_FAIL)
          return { status: 'fail', message: 'protocol: expected "TLSv1.2", got null' };
        if (key === DENO_UNEXPECTED_ERROR)
          return { status: 'error', message: 'InfrastructureError: peer daemon went away' };
        return undefined;
      },
    ),
    absence: null,
    expectations: expectations('deno', [
      [DENO_EXPECTED_FAIL, 'fail', 'TlsConn.handshake() gives no protocol'],
      [DENO_STALE_EXPECTATION, 'unsupported', 'a case that was removed'],
    ]),
  };
  return [node, bun, deno];
}

export function fixtureMatrix(): Matrix {
  return mergeReports(catalogueEntries(), fixtureInputs(), { notRunFails: false });
}
