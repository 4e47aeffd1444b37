import { describe, expect, test } from 'bun:test';
import { createCipheriv, randomBytes } from 'node:crypto';
import { chacha20Poly1305Open } from '../src/truncation/chacha20-poly1305.ts';
import { PeerRecords } from '../src/truncation/peer-records.ts';
import {
  aeadSuiteOf,
  hkdfExpandLabel,
  nextTrafficSecret,
  openTls12Record,
  openTls13Record,
  type RecordKeys,
  tls12Keys,
  tls12Prf,
  tls13Keys,
} from '../src/truncation/record-crypto.ts';
import { closeNotifyVerdict, KeyLog, type VerdictInput } from '../src/truncation/verdict.ts';

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const AES_128 = aeadSuiteOf('TLS_AES_128_GCM_SHA256')!;
const TLS12_AES_128 = aeadSuiteOf('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256')!;
const CLOSE_NOTIFY = Uint8Array.of(1, 0);
const USER_CANCELED = Uint8Array.of(1, 90);

function nonceFor(iv: Uint8Array, sequence: number): Uint8Array {
  const nonce = iv.slice();
  const view = new DataView(nonce.buffer);
  view.setBigUint64(4, view.getBigUint64(4) ^ BigInt(sequence));
  return nonce;
}

/** A TLS 1.3 record as a peer seals it (RFC 8446 §5.2), with AES-128-GCM. */
function seal13(keys: RecordKeys, sequence: number, type: number, content: Uint8Array): Uint8Array {
  const inner = new Uint8Array([...content, type]);
  const header = Uint8Array.of(23, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff);
  const cipher = createCipheriv('aes-128-gcm', keys.key, nonceFor(keys.iv, sequence));
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
  return new Uint8Array([...header, ...body]);
}

/** A TLS 1.2 AES-GCM record (RFC 5288): explicit nonce, then ciphertext and tag. */
function seal12(keys: RecordKeys, sequence: number, type: number, content: Uint8Array): Uint8Array {
  const explicit = new Uint8Array(8);
  new DataView(explicit.buffer).setBigUint64(0, BigInt(sequence));
  const aad = new Uint8Array(13);
  const view = new DataView(aad.buffer);
  view.setBigUint64(0, BigInt(sequence));
  aad.set([type, 3, 3], 8);
  view.setUint16(11, content.length);
  const cipher = createCipheriv('aes-128-gcm', keys.key, new Uint8Array([...keys.iv, ...explicit]));
  cipher.setAAD(aad);
  const body = new Uint8Array([
    ...explicit,
    ...cipher.update(content),
    ...cipher.final(),
    ...cipher.getAuthTag(),
  ]);
  return new Uint8Array([type, 3, 3, body.length >> 8, body.length & 0xff, ...body]);
}

function plainRecord(type: number, body: Uint8Array): Uint8Array {
  return new Uint8Array([type, 3, 3, body.length >> 8, body.length & 0xff, ...body]);
}

describe('record crypto against published vectors', () => {
  test('HKDF-Expand-Label: RFC 8448 §3, the server handshake write key and IV', () => {
    const secret = hex('b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38');
    expect(toHex(hkdfExpandLabel('sha256', secret, 'key', 16))).toBe('3fce516009c21727d0f2e4e86ee403bc');
    expect(toHex(hkdfExpandLabel('sha256', secret, 'iv', 12))).toBe('5d313eb2671276ee13000b30');
  });

  test('the TLS 1.2 PRF: the P_SHA256 test vector of the IETF TLS list', () => {
    const out = tls12Prf(
      'sha256',
      hex('9bbe436ba940f017b17652849a71db35'),
      'test label',
      hex('a0ba9f936cda311827a6f796ffd5198c'),
      100,
    );
    expect(toHex(out)).toBe(
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
    );
  });

  test('ChaCha20-Poly1305: RFC 8439 §2.8.2 opens, and a changed tag does not', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('070000004041424344454647');
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const sealed = hex(
      `d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b
       1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
       3ff4def08e4b7a9de576d26586cec64b6116 1ae10b594f09e26a7e902ecbd0600691`,
    );
    expect(new TextDecoder().decode(chacha20Poly1305Open(key, nonce, aad, sealed)!)).toBe(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const forged = sealed.slice();
    forged[forged.length - 1]! ^= 1;
    expect(chacha20Poly1305Open(key, nonce, aad, forged)).toBeNull();
  });

  test('a TLS 1.3 record opens only at its own sequence number', () => {
    const keys = tls13Keys(AES_128, randomBytes(32));
    const record = seal13(keys, 7, 21, CLOSE_NOTIFY);
    expect(openTls13Record(keys, 7n, record)).toEqual({ type: 21, content: CLOSE_NOTIFY });
    expect(openTls13Record(keys, 6n, record)).toBeNull();
  });

  test('a TLS 1.2 record opens only with the right side’s keys and sequence number', () => {
    const [master, clientRandom, serverRandom] = [randomBytes(48), randomBytes(32), randomBytes(32)];
    const server = tls12Keys(TLS12_AES_128, master, clientRandom, serverRandom, 'server');
    const client = tls12Keys(TLS12_AES_128, master, clientRandom, serverRandom, 'client');
    const record = seal12(server, 3, 21, CLOSE_NOTIFY);
    expect(openTls12Record(server, 3n, record)).toEqual({ type: 21, content: CLOSE_NOTIFY });
    expect(openTls12Record(server, 2n, record)).toBeNull();
    expect(openTls12Record(client, 3n, record)).toBeNull();
  });
});

describe('PeerRecords', () => {
  test('follows the framing however the stream is cut into chunks', () => {
    const stream = new Uint8Array([
      ...plainRecord(22, new Uint8Array(40)),
      ...plainRecord(23, new Uint8Array(300)),
      ...plainRecord(23, new Uint8Array(19)),
    ]);
    for (let cut = 1; cut < stream.length; cut++) {
      const records = new PeerRecords();
      records.push(stream.subarray(0, cut));
      records.push(stream.subarray(cut));
      expect(records.midRecord).toBe(false);
      expect(records.encryptedRecords).toBe(2);
      expect(records.shortRecords).toEqual([2]);
      expect(toHex(records.lastRecord()!)).toBe(toHex(stream.subarray(stream.length - 24)));
    }
    for (let end = 1; end < stream.length; end++) {
      const records = new PeerRecords();
      records.push(stream.subarray(0, end));
      expect(records.midRecord).toBe(end !== 45 && end !== 350);
    }
  });

  test('finds a long last record across three chunks, and copies a short one out of its chunk', () => {
    const long = plainRecord(
      23,
      new Uint8Array(2000).map((_, i) => i % 251),
    );
    const stream = new Uint8Array([...plainRecord(22, new Uint8Array(40)), ...long]);
    for (let first = 1; first < stream.length - 1; first += 97) {
      for (const second of [first + 1, first + 600, stream.length - 1]) {
        if (second <= first || second >= stream.length) continue;
        const records = new PeerRecords();
        records.push(stream.slice(0, first));
        records.push(stream.slice(first, second));
        records.push(stream.slice(second));
        expect(records.midRecord).toBe(false);
        expect(toHex(records.lastRecord()!)).toBe(toHex(long));
      }
    }
    const chunk = new Uint8Array([...long, ...plainRecord(21, Uint8Array.of(1, 0))]);
    const records = new PeerRecords();
    records.push(chunk);
    chunk.fill(0);
    expect(toHex(records.lastRecord()!)).toBe(toHex(plainRecord(21, Uint8Array.of(1, 0))));
  });

  test('takes no hello random from the encrypted Finished, whatever its first byte', () => {
    // Found by the fuzz batch of npm test (bun seed 80): a TLS 1.2 server read a client's encrypted
    // Finished whose ciphertext began with 2 as a ServerHello, and its verdict failed the check.
    const records = new PeerRecords();
    records.push(plainRecord(22, Uint8Array.of(1, 0, 0, 70, 3, 3, ...new Uint8Array(64))));
    records.push(plainRecord(20, Uint8Array.of(1)));
    records.push(plainRecord(22, Uint8Array.of(2, ...new Uint8Array(39))));
    expect(records.serverRandom).toBeUndefined();
  });

  test("tells what of the unfinished record arrived, and the last whole record's length", () => {
    // What a server holds back while a record might still turn out to be the client's close_notify.
    const stream = new Uint8Array([
      ...plainRecord(23, new Uint8Array(300)),
      ...plainRecord(21, new Uint8Array(26)),
    ]);
    for (let end = 306; end <= stream.length; end++) {
      const records = new PeerRecords();
      records.push(stream.subarray(0, end));
      const arrived = end - 305;
      expect(records.partialBytes).toBe(arrived === 31 ? 0 : arrived);
      expect(records.partialHeader()).toEqual(
        arrived >= 5 && arrived < 31 ? { type: 21, length: 26 } : undefined,
      );
      expect(records.lastLength).toBe(arrived === 31 ? 31 : 305);
    }
  });
});

/** A TLS 1.3 server's stream as its client sees it, and the key log that goes with it. */
function tls13Stream(ending: Array<[generation: number, type: number, content: Uint8Array]>) {
  const handshakeSecret = randomBytes(32);
  const trafficSecret = randomBytes(32);
  const handshake = tls13Keys(AES_128, handshakeSecret);
  const generations = [tls13Keys(AES_128, trafficSecret)];
  for (let secret: Uint8Array = trafficSecret, i = 0; i < 3; i++) {
    secret = nextTrafficSecret(AES_128, secret);
    generations.push(tls13Keys(AES_128, secret));
  }
  const records = new PeerRecords();
  records.push(plainRecord(22, Uint8Array.of(2, ...new Uint8Array(60))));
  for (let i = 0; i < 3; i++) records.push(seal13(handshake, i, 22, new Uint8Array(100)));
  const encryptedAtHandshake = records.encryptedRecords;
  const sequences = [0, 0, 0, 0];
  for (let i = 0; i < 5; i++)
    records.push(seal13(generations[0]!, sequences[0]!++, 23, new Uint8Array(1000)));
  for (const [generation, type, content] of ending) {
    records.push(seal13(generations[generation]!, sequences[generation]!++, type, content));
  }
  const keyLog = new KeyLog();
  const random = '00'.repeat(32);
  keyLog.add(`SERVER_HANDSHAKE_TRAFFIC_SECRET ${random} ${toHex(handshakeSecret)}`);
  keyLog.add(`SERVER_TRAFFIC_SECRET_0 ${random} ${toHex(trafficSecret)}`);
  const input: VerdictInput = {
    records,
    keyLog,
    side: 'client',
    protocol: 'TLSv1.3',
    suite: AES_128,
    encryptedAtHandshake,
    serverRandom: undefined,
  };
  return input;
}

const KEY_UPDATE = Uint8Array.of(24, 0, 0, 1, 0);

describe('closeNotifyVerdict, TLS 1.3', () => {
  test('close_notify last is clean', () => {
    expect(closeNotifyVerdict(tls13Stream([[0, 21, CLOSE_NOTIFY]]))).toBe(true);
  });

  test('a key update, then close_notify under the next keys, is clean; two updates too', () => {
    expect(
      closeNotifyVerdict(
        tls13Stream([
          [0, 22, KEY_UPDATE],
          [1, 21, CLOSE_NOTIFY],
        ]),
      ),
    ).toBe(true);
    const twice: Array<[number, number, Uint8Array]> = [
      [0, 22, KEY_UPDATE],
      [1, 23, new Uint8Array(10)],
      [1, 22, KEY_UPDATE],
      [2, 23, new Uint8Array(10)],
      [2, 21, CLOSE_NOTIFY],
    ];
    expect(closeNotifyVerdict(tls13Stream(twice))).toBe(true);
  });

  test('a warning alert other than close_notify, then FIN, is a truncation', () => {
    expect(closeNotifyVerdict(tls13Stream([[0, 21, USER_CANCELED]]))).toBe(false);
  });

  test('data last (a FIN at a record boundary) is a truncation', () => {
    expect(closeNotifyVerdict(tls13Stream([]))).toBe(false);
  });

  test('a FIN inside the close_notify record is a truncation', () => {
    const input = tls13Stream([]);
    input.records.push(Uint8Array.of(23, 3, 3, 0, 19, 1, 2));
    expect(closeNotifyVerdict(input)).toBe(false);
  });

  test('a record no key opens is a truncation, not clean', () => {
    const input = tls13Stream([]);
    input.records.push(seal13(tls13Keys(AES_128, randomBytes(32)), 0, 21, CLOSE_NOTIFY));
    expect(closeNotifyVerdict(input)).toBe(false);
  });

  test('a key log that does not open the peer’s handshake fails loudly', () => {
    const input = tls13Stream([[0, 21, CLOSE_NOTIFY]]);
    const keyLog = new KeyLog();
    keyLog.add(`SERVER_HANDSHAKE_TRAFFIC_SECRET ${'00'.repeat(32)} ${'11'.repeat(32)}`);
    keyLog.add(`SERVER_TRAFFIC_SECRET_0 ${'00'.repeat(32)} ${'22'.repeat(32)}`);
    expect(() => closeNotifyVerdict({ ...input, keyLog })).toThrow(
      expect.objectContaining({ code: 'ERR_TRUNCATION_CHECK_FAILED' }),
    );
    expect(() => closeNotifyVerdict({ ...input, keyLog: new KeyLog() })).toThrow(
      expect.objectContaining({ code: 'ERR_TRUNCATION_CHECK_FAILED' }),
    );
  });
});

describe('KeyLog', () => {
  const random = randomBytes(32);
  const line = (label: string, secret: Uint8Array): Uint8Array =>
    new TextEncoder().encode(`${label} ${toHex(random)} ${toHex(secret)}\n`);

  test('reads lines given as bytes, as Bun hands them over, and keeps only the peer’s secrets', () => {
    const [peerHandshake, peerTraffic, ours, exporter] = [1, 2, 3, 4].map(() => randomBytes(48));
    const keyLog = new KeyLog('client');
    keyLog.add(line('CLIENT_HANDSHAKE_TRAFFIC_SECRET', ours!));
    keyLog.add(line('SERVER_HANDSHAKE_TRAFFIC_SECRET', peerHandshake!));
    keyLog.add(line('CLIENT_TRAFFIC_SECRET_0', ours!));
    keyLog.add(line('SERVER_TRAFFIC_SECRET_0', peerTraffic!));
    keyLog.add(line('EXPORTER_SECRET', exporter!));
    expect(keyLog.get('SERVER_HANDSHAKE_TRAFFIC_SECRET')).toEqual({
      clientRandom: new Uint8Array(random),
      secret: new Uint8Array(peerHandshake!),
    });
    expect(toHex(keyLog.get('SERVER_TRAFFIC_SECRET_0')!.secret)).toBe(toHex(peerTraffic!));
    expect(keyLog.get('CLIENT_HANDSHAKE_TRAFFIC_SECRET')).toBeUndefined();
    expect(keyLog.get('CLIENT_TRAFFIC_SECRET_0')).toBeUndefined();
    expect(keyLog.get('EXPORTER_SECRET')).toBeUndefined();
  });

  test('a server keeps the client’s secrets; text and upper-case hex read the same', () => {
    const secret = randomBytes(32);
    const keyLog = new KeyLog('server');
    keyLog.add(`CLIENT_TRAFFIC_SECRET_0 ${toHex(random).toUpperCase()} ${toHex(secret).toUpperCase()}`);
    keyLog.add(line('SERVER_TRAFFIC_SECRET_0', randomBytes(32)));
    expect(toHex(keyLog.get('CLIENT_TRAFFIC_SECRET_0')!.secret)).toBe(toHex(secret));
    expect(toHex(keyLog.get('CLIENT_TRAFFIC_SECRET_0')!.clientRandom)).toBe(toHex(random));
    expect(keyLog.get('SERVER_TRAFFIC_SECRET_0')).toBeUndefined();
  });

  test('a line that is not hex, or has a field missing, is not kept', () => {
    const keyLog = new KeyLog('client');
    keyLog.add(`SERVER_TRAFFIC_SECRET_0 ${toHex(random)} ${'zz'.repeat(32)}`);
    keyLog.add(`SERVER_HANDSHAKE_TRAFFIC_SECRET ${toHex(random)}`);
    keyLog.add(`SERVER_TRAFFIC_SECRET_0 ${toHex(random)} ${'a'.repeat(63)}`);
    keyLog.add('');
    expect(keyLog.get('SERVER_TRAFFIC_SECRET_0')).toBeUndefined();
    expect(keyLog.get('SERVER_HANDSHAKE_TRAFFIC_SECRET')).toBeUndefined();
  });
});

/** A TLS 1.2 server's stream as its client sees it. */
function tls12Stream(
  lastAlert: Uint8Array | null,
  side: 'client' | 'server' = 'client',
  // A client reads it in the ServerHello it receives; a server only where it sees the records it sends.
  serverRandomKnown = side === 'client',
) {
  const [master, clientRandom, serverRandom] = [randomBytes(48), randomBytes(32), randomBytes(32)];
  const peer = tls12Keys(
    TLS12_AES_128,
    master,
    clientRandom,
    serverRandom,
    side === 'client' ? 'server' : 'client',
  );
  const records = new PeerRecords();
  const hello =
    side === 'client'
      ? Uint8Array.of(2, 0, 0, 70, 3, 3, ...serverRandom)
      : Uint8Array.of(1, 0, 0, 70, 3, 3, ...clientRandom);
  records.push(plainRecord(22, hello));
  records.push(plainRecord(20, Uint8Array.of(1)));
  records.push(seal12(peer, 0, 22, Uint8Array.of(20, 0, 0, 12, ...new Uint8Array(12))));
  records.push(seal12(peer, 1, 23, new Uint8Array(500)));
  if (lastAlert) records.push(seal12(peer, 2, 21, lastAlert));
  const keyLog = new KeyLog();
  keyLog.add(`CLIENT_RANDOM ${toHex(clientRandom)} ${toHex(master)}`);
  return {
    records,
    keyLog,
    side,
    protocol: 'TLSv1.2',
    suite: TLS12_AES_128,
    encryptedAtHandshake: 0,
    serverRandom: serverRandomKnown ? serverRandom : undefined,
  } as VerdictInput;
}

describe('closeNotifyVerdict, TLS 1.2', () => {
  test('close_notify last is clean; a warning user_canceled last is a truncation; data last too', () => {
    expect(closeNotifyVerdict(tls12Stream(CLOSE_NOTIFY))).toBe(true);
    expect(closeNotifyVerdict(tls12Stream(USER_CANCELED))).toBe(false);
    expect(closeNotifyVerdict(tls12Stream(null))).toBe(false);
  });

  test('a server that knows its own hello random opens the alert like a client', () => {
    expect(closeNotifyVerdict(tls12Stream(CLOSE_NOTIFY, 'server', true))).toBe(true);
    expect(closeNotifyVerdict(tls12Stream(USER_CANCELED, 'server', true))).toBe(false);
  });

  test('a server that never sees its own hello random cannot tell an alert apart: null', () => {
    expect(closeNotifyVerdict(tls12Stream(CLOSE_NOTIFY, 'server'))).toBeNull();
    expect(closeNotifyVerdict(tls12Stream(null, 'server'))).toBe(false);
  });

  test('a server answers null without consulting the key log', () => {
    // A server can never derive the client's keys, so the key log cannot decide anything there.
    const input = { ...tls12Stream(CLOSE_NOTIFY, 'server'), keyLog: new KeyLog() } as VerdictInput;
    expect(closeNotifyVerdict(input)).toBeNull();
  });
});
