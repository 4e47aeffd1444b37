/** The machine and software a report was measured on. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, version } from 'node:os';
import { runtimeBinary } from './paths.ts';

export interface Machine {
  cpu: string;
  /** CPU features that decide TLS speed (AES-NI, VAES, ...). */
  cpuFeatures: string[];
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: { version: string; tls: string };
  bun: { version: string; tls: string };
  deno: { version: string; v8: string; tls: string };
  openssl: string;
}

const FEATURES: Record<string, string> = {
  aes: 'AES-NI',
  vaes: 'VAES',
  vpclmulqdq: 'VPCLMULQDQ',
  avx2: 'AVX2',
  avx512f: 'AVX-512',
  sha_ni: 'SHA-NI',
};

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch {
    return 'unknown';
  }
}

function cpuInfo(): { model: string; flags: string[] } {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(text)?.[1] ?? '';
    const mhz = Math.round(Number(field('cpu MHz')));
    return {
      model: `${field('model name')} (family ${field('cpu family')}, model ${field('model')}), ${mhz} MHz`,
      flags: field('flags').split(' '),
    };
  } catch {
    return { model: cpus()[0]?.model ?? 'unknown', flags: [] };
  }
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Deno reports no TLS library version: the crate versions are read from the paths its binary
 * embeds.
 */
function denoTls(binary: string): string {
  try {
    const text = readFileSync(binary).toString('latin1');
    const crate = (name: string) => new RegExp(`${name}-(\\d+\\.\\d+\\.\\d+)`).exec(text)?.[1];
    const rustls = crate('rustls');
    const awsLc = crate('aws-lc-rs');
    return `rustls ${rustls ?? '?'}${awsLc ? ` + aws-lc-rs ${awsLc}` : ''}`;
  } catch {
    return 'rustls';
  }
}

export function describeMachine(): Machine {
  const { model, flags } = cpuInfo();
  const bun = runtimeBinary('bun');
  const deno = runtimeBinary('deno');
  const denoVersions = run(deno, ['--version']);
  return {
    cpu: model,
    cpuFeatures: Object.entries(FEATURES)
      .filter(([flag]) => flags.includes(flag))
      .map(([, name]) => name),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: osName(),
    kernel: `${release()} (${version()})`,
    node: { version: process.versions.node, tls: `OpenSSL ${process.versions.openssl}` },
    bun: {
      version: run(bun, ['--version']),
      tls: `BoringSSL ${run(bun, ['-e', 'process.stdout.write(process.versions.boringssl ?? "")'])}`,
    },
    deno: {
      version: /deno (\S+)/.exec(denoVersions)?.[1] ?? 'unknown',
      v8: /v8 (\S+)/.exec(denoVersions)?.[1] ?? 'unknown',
      tls: denoTls(deno),
    },
    openssl: run('openssl', ['version']),
  };
}
