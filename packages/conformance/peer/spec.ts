// Checks a PeerSpec from the control API; every rejection names the offending field, so a case author
// sees at once which part of the spec is wrong.
import type { PeerSpec, StepOp } from '../src/peer-client.ts';

export class SpecError extends Error {
  override name = 'SpecError';
}

type Check = (value: unknown, field: string) => void;
interface FieldRule {
  required: boolean;
  check: Check;
}

const required = (check: Check): FieldRule => ({ required: true, check });
const optional = (check: Check): FieldRule => ({ required: false, check });

const MAX_PORT = 65_535;

function integerAtLeast(minimum: number): Check {
  return (value, field) => {
    if (!Number.isSafeInteger(value) || (value as number) < minimum) {
      throw new SpecError(`${field} must be an integer ≥ ${minimum}, got ${JSON.stringify(value)}`);
    }
  };
}

const nonNegative = integerAtLeast(0);
const positive = integerAtLeast(1);

const uint32: Check = (value, field) => {
  nonNegative(value, field);
  if ((value as number) > 0xffff_ffff) throw new SpecError(`${field} must fit in 32 bits, got ${value}`);
};

const byte: Check = (value, field) => {
  nonNegative(value, field);
  if ((value as number) > 0xff) throw new SpecError(`${field} must fit in one byte, got ${value}`);
};

const port: Check = (value, field) => {
  positive(value, field);
  if ((value as number) > MAX_PORT) throw new SpecError(`${field} must be a TCP port, got ${value}`);
};

const text: Check = (value, field) => {
  if (typeof value !== 'string') {
    throw new SpecError(`${field} must be a string, got ${JSON.stringify(value)}`);
  }
};

const nonEmptyText: Check = (value, field) => {
  text(value, field);
  if (value === '') throw new SpecError(`${field} must not be empty`);
};

const boolean: Check = (value, field) => {
  if (typeof value !== 'boolean') {
    throw new SpecError(`${field} must be true or false, got ${JSON.stringify(value)}`);
  }
};

function oneOf(values: readonly string[]): Check {
  return (value, field) => {
    if (!values.includes(value as string)) {
      throw new SpecError(`${field} must be one of ${values.join(', ')}; got ${JSON.stringify(value)}`);
    }
  };
}

function listOf(check: Check): Check {
  return (value, field) => {
    if (!Array.isArray(value)) throw new SpecError(`${field} must be an array`);
    for (const [index, item] of value.entries()) check(item, `${field}[${index}]`);
  };
}

function objectWith(rules: Record<string, FieldRule>): Check {
  return (value, field) => checkFields(value, rules, field);
}

function checkFields(value: unknown, rules: Record<string, FieldRule>, field: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SpecError(`${field} must be an object`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(key in rules)) throw new SpecError(`${field}.${key} is not a known field`);
  }
  for (const [key, rule] of Object.entries(rules)) {
    if (record[key] === undefined) {
      if (rule.required) throw new SpecError(`${field}.${key} is required`);
    } else {
      rule.check(record[key], `${field}.${key}`);
    }
  }
}

const STEP_FIELDS = {
  send: { bytes: required(nonNegative), seed: optional(uint32), chunk: optional(positive) },
  sendText: { text: required(text) },
  read: { bytes: required(nonNegative) },
  readUntilEnd: {},
  echo: {},
  closeNotify: { fin: optional(boolean) },
  alert: { description: required(byte), level: optional(oneOf(['warning', 'fatal'])) },
  keyUpdate: {},
  fin: {},
  finMidRecord: { bytes: optional(positive) },
  rst: {},
  garbage: { bytes: optional(positive) },
  stopReading: {},
  resumeReading: {},
  streamUntilClosed: { chunk: optional(positive), maxBytes: optional(nonNegative) },
  wait: { signal: required(nonEmptyText) },
  sleep: { ms: required(nonNegative) },
  waitEnd: {},
  destroy: {},
  startTls: {},
} satisfies Record<StepOp, Record<string, FieldRule>>;

const STEP_OPS = Object.keys(STEP_FIELDS) as StepOp[];

/** Steps that only make sense on a TLS connection. */
const TLS_ONLY_OPS: ReadonlySet<StepOp> = new Set(['closeNotify', 'finMidRecord', 'alert', 'keyUpdate']);

const checkStep: Check = (value, field) => {
  if (typeof value !== 'object' || value === null) throw new SpecError(`${field} must be an object`);
  const { op } = value as { op?: unknown };
  oneOf(STEP_OPS)(op, `${field}.op`);
  checkFields(value, { op: required(text), ...STEP_FIELDS[op as StepOp] }, field);
};

const SPEC_FIELDS: Record<keyof PeerSpec, FieldRule> = {
  role: required(oneOf(['server', 'client'])),
  tls: optional(oneOf(['TLSv1.2', 'TLSv1.3'])),
  certificate: optional(
    oneOf(['valid', 'selfSigned', 'expired', 'wrongHost', 'untrusted', 'wrongKeyUsage', 'defaultTrusted']),
  ),
  alpn: optional(listOf(nonEmptyText)),
  requestClientCert: optional(boolean),
  clientCertificate: optional(oneOf(['valid', 'expired', 'untrusted'])),
  ciphers: optional(nonEmptyText),
  onAccept: optional(oneOf(['tls', 'plaintext', 'garbage', 'fin', 'rst', 'silent'])),
  connect: optional(
    objectWith({
      port: required(port),
      servername: optional(nonEmptyText),
      host: optional(nonEmptyText),
      silent: optional(boolean),
    }),
  ),
  observe: optional(boolean),
  startTls: optional(boolean),
  steps: optional(listOf(checkStep)),
};

/** Steps that work below the TLS layer, on a connection the peer wraps in TLS from the start only. */
const CUTTER_OPS: ReadonlySet<StepOp> = new Set(['finMidRecord', 'alert', 'keyUpdate']);

/** A STARTTLS peer speaks plaintext until its one `startTls` step, and TLS-only steps come after it. */
function checkStartTls(spec: PeerSpec): void {
  const steps = spec.steps ?? [];
  const switchAt = steps.findIndex((step) => step.op === 'startTls');
  if (!spec.startTls) {
    if (switchAt >= 0) throw new SpecError(`spec.steps[${switchAt}].op startTls needs spec.startTls`);
    return;
  }
  if ((spec.onAccept ?? 'tls') !== 'tls' || spec.connect?.silent) {
    throw new SpecError('spec.startTls does not go with spec.onAccept or spec.connect.silent');
  }
  for (const [index, step] of steps.entries()) {
    const tlsOnly = TLS_ONLY_OPS.has(step.op);
    if (tlsOnly && (switchAt < 0 || index < switchAt)) {
      throw new SpecError(`spec.steps[${index}].op ${step.op} needs TLS, which starts at a startTls step`);
    }
    if (CUTTER_OPS.has(step.op) || (step.op === 'closeNotify' && step.fin === false)) {
      throw new SpecError(
        `spec.steps[${index}].op ${step.op} needs the record cutter, which spec.startTls leaves out`,
      );
    }
    if (step.op === 'startTls' && index !== switchAt) {
      throw new SpecError(`spec.steps[${index}].op startTls: the connection is already in TLS`);
    }
  }
}

export function parsePeerSpec(value: unknown): PeerSpec {
  checkFields(value, SPEC_FIELDS, 'spec');
  const spec = value as PeerSpec;
  if (spec.role === 'client') {
    if (spec.connect === undefined) throw new SpecError('spec.connect is required for the client role');
    if (spec.onAccept !== undefined) throw new SpecError('spec.onAccept applies to the server role only');
    if (spec.certificate !== undefined) {
      throw new SpecError('spec.certificate applies to the server role only');
    }
  } else if (spec.connect !== undefined) {
    throw new SpecError('spec.connect applies to the client role only');
  } else if (spec.clientCertificate !== undefined) {
    throw new SpecError('spec.clientCertificate applies to the client role only');
  }
  const withoutTls =
    (spec.onAccept ?? 'tls') !== 'tls'
      ? `spec.onAccept is ${spec.onAccept}`
      : spec.connect?.silent
        ? 'spec.connect.silent is true'
        : undefined;
  if (withoutTls) {
    for (const [index, step] of (spec.steps ?? []).entries()) {
      if (TLS_ONLY_OPS.has(step.op)) {
        throw new SpecError(`spec.steps[${index}].op ${step.op} needs TLS, but ${withoutTls}`);
      }
    }
  }
  checkStartTls(spec);
  if (spec.tls === 'TLSv1.2') {
    const index = (spec.steps ?? []).findIndex((step) => step.op === 'keyUpdate');
    if (index >= 0)
      throw new SpecError(`spec.steps[${index}].op keyUpdate needs TLS 1.3, but spec.tls is TLSv1.2`);
  }
  return spec;
}
