/** `closenotify probe` arguments: parsed strictly, every mistake a UsageError (exit code 2). */
import type { ProbeOptions, StartTlsProtocol } from './types.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: closenotify probe <host>[:port] [options]

Connects to a TLS server and reports how it ends connections (close_notify, bare FIN or RST),
how it answers a half-close and our close_notify, its idle timeout, TLS versions, cipher, ALPN
and certificate.

Options:
  --starttls <p>      smtp | imap | pop3 | postgres: start in plaintext and upgrade
  --servername <n>    SNI and the name verified against the certificate (default: host)
  --ca <file>         PEM trust anchors to verify against (default: the runtime's store)
  --alpn <p>          offer this ALPN protocol (repeat or comma-separate for several)
  --idle-max <t>      longest wait for the idle timeout (default 60s; 500ms, 30s, 2m)
  --timeout <t>       bound of every other wait (default 10s)
  --json              print the report as JSON (schema closenotify.probe/1)
  --color, --no-color force colours on or off (default: when the terminal supports them)
  -h, --help          this text

Exit codes: 0 nothing risky, 1 a risky or broken finding, 2 bad arguments, 3 could not connect.`;

const DEFAULT_PORTS: Record<StartTlsProtocol | 'tls', number> = {
  tls: 443,
  smtp: 587,
  imap: 143,
  pop3: 110,
  postgres: 5432,
};
const PROTOCOLS = ['smtp', 'imap', 'pop3', 'postgres'] as const;
const MAX_WAIT_MS = 3_600_000;

/** `60s`, `500ms`, `2m`, or a bare number of seconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${option}: "${text}" is not a duration (examples: 500ms, 30s, 2m)`);
  const unit = match[2] ?? 's';
  const ms = Math.round(Number(match[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000));
  if (ms <= 0 || ms > MAX_WAIT_MS) throw new UsageError(`${option}: must be more than 0 and at most 1h`);
  return ms;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address takes the default port. */
function parseTarget(text: string, defaultPort: number): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
  } else if (text.split(':').length === 2) {
    [host, port] = text.split(':') as [string, string];
  } else {
    host = text;
  }
  if (host === '' || /\s|\//.test(host)) throw new UsageError(`"${text}" is not a host[:port]`);
  if (port === undefined) return { host, port: defaultPort };
  const number = Number(port);
  if (!/^\d+$/.test(port) || number < 1 || number > 65535) {
    throw new UsageError(`"${port}" is not a port (1-65535)`);
  }
  return { host, port: number };
}

export type ParsedCommand = { help: true } | { help: false; options: ProbeOptions; caPath: string | null };

/** argv after `probe`. The --ca file is read by the caller. */
export function parseProbeArgs(argv: readonly string[]): ParsedCommand {
  let target: string | undefined;
  let starttls: StartTlsProtocol | null = null;
  let servername: string | null = null;
  let caPath: string | null = null;
  const alpn: string[] = [];
  let idleMaxMs = 60_000;
  let timeoutMs = 10_000;
  let json = false;
  let color: boolean | null = null;

  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    const [flag, inline] =
      argument.startsWith('--') && argument.includes('=')
        ? [argument.slice(0, argument.indexOf('=')), argument.slice(argument.indexOf('=') + 1)]
        : [argument, undefined];
    const value = (): string => {
      const next = inline ?? argv[++index];
      if (next === undefined || next === '') throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return { help: true };
      case '--starttls': {
        const protocol = value();
        if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
          throw new UsageError(`--starttls: "${protocol}" is not one of ${PROTOCOLS.join(', ')}`);
        }
        starttls = protocol as StartTlsProtocol;
        break;
      }
      case '--servername':
        servername = value();
        break;
      case '--ca':
        caPath = value();
        break;
      case '--alpn':
        for (const protocol of value().split(',')) {
          if (protocol === '' || protocol.length > 255)
            throw new UsageError(`--alpn: "${protocol}" is not a protocol`);
          alpn.push(protocol);
        }
        break;
      case '--idle-max':
        idleMaxMs = parseDuration(value(), flag);
        break;
      case '--timeout':
        timeoutMs = parseDuration(value(), flag);
        break;
      case '--json':
        json = true;
        break;
      case '--color':
        color = true;
        break;
      case '--no-color':
        color = false;
        break;
      default:
        if (argument.startsWith('-')) throw new UsageError(`unknown option ${argument}`);
        if (target !== undefined) throw new UsageError(`one target only (got "${target}" and "${argument}")`);
        target = argument;
    }
  }
  if (target === undefined) throw new UsageError('missing <host>[:port]');
  const { host, port } = parseTarget(target, DEFAULT_PORTS[starttls ?? 'tls']);
  return {
    help: false,
    caPath,
    options: { host, port, starttls, servername, ca: null, alpn, idleMaxMs, timeoutMs, json, color },
  };
}
