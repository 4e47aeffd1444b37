import { createCipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConnectionDecoder } from '../peer/observer/decoder.ts';
import { type Direction, summarize, type WireEvent } from '../peer/observer/index.ts';
import { KeylogStore } from '../peer/observer/keylog.ts';
import { RecordFramer } from '../peer/observer/records.ts';
import { keyBlock, openTls12Record, prf, sealTls12Record, tls12Suite } from '../peer/observer/tls12.ts';
import {
  hkdfExpandLabel,
  openTls13Record,
  sealTls13Record,
  tls13Suite,
  trafficKeys,
} from '../peer/observer/tls13.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** RFC 8448 §3, "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256). */
const RFC8448 = {
  clientRandom: 'cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7',
  clientHandshakeSecret: 'b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21',
  serverHandshakeSecret: 'b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38',
  clientApplicationSecret: '9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5',
  serverApplicationSecret: 'a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643',
  clientHello: hex(`
    01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 a2 ef 62 83
    02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01
    00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 23 00 00 00 33 00
    26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69
    1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01
    05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01`),
  serverHello: hex(`
    02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e
    d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1
    56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04`),
  /** {server} send handshake record: EncryptedExtensions, Certificate, CertificateVerify, Finished. */
  serverFlightRecord: hex(`
    17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f 45 e4 89 e7 f3 3a f3 5e df 78
    69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca 07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4 29
    ba 91 91 cd 05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b d9 ae fb 0e 57 f2
    71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22
    a4 cf 51 42 73 25 25 0c 7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8 bf 2d
    0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92 8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0
    6a a6 24 82 04 79 7e 36 a6 a7 3b 70 a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc
    f2 a8 94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 f5 63
    aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f 44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6
    54 0c 84 83 8d 89 f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3 6a c1 b6 39
    c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1 00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae
    ea 6d fa 31 c7 a8 4d c3 bd 7e 1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84
    c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c f9 3b 16 49 9a 66 db 7c ca 71
    e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8 5d
    f8 81 ed be 5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6 fa 4f 9d 62 d5 13
    af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb 56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59
    77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38 eb ba
    42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f 60 f0 50 4d e9 3b 5b 84 5e 27 55 92
    c1 23 35 ee 34 0b bc 4f dd d5 02 78 40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd
    4a e3 79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e 75 0e dc 53 37 0d 2b`),
  clientFinished: hex(`
    14 00 00 20 a8 ec 43 6d 67 76 34 ae 52 5a c1 fc eb e1 1a 03 9e c1 76 94 fa c6 e9 85 27 b6 42 f2 ed d5
    ce 61`),
  clientFinishedRecord: hex(`
    17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a 4b fc 44 d8
    7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46`),
  /** {server} send handshake record: NewSessionTicket, the first record under the application keys. */
  newSessionTicketRecord: hex(`
    17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24 0e 6c ff ac 11 6e 95 d4 1d 6a
    f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a 01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3 8e fb cf 57
    53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0 9c 30 ba 1e 62 97
    2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15 13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4
    75 84 00 25 db 2f 0a 77 f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51 9d 86 cb ee ac 87 aa c3 47 d1
    43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74 bc 26 97 68 7e 24 87 46 d6 df 35 30
    05 f3 bc e1 86 96 12 9c 81 53 55 6b 3b 6c 67 79 b3 7b f1 59 85 68 4f`),
  /** Both sides send the 50 bytes 00 01 … 31. */
  clientApplicationRecord: hex(`
    17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f 2b 98
    19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21
    69 49 15 e4`),
  serverApplicationRecord: hex(`
    17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b 36 e3 0e
    fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1
    67 c2 95 5d`),
  clientAlertRecord: hex('17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3'),
  serverAlertRecord: hex('17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9'),
};

const plaintextRecord = (type: number, version: number, fragment: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from([type, version >> 8, version & 0xff, fragment.length >> 8, fragment.length & 0xff]),
    fragment,
  ]);

const rfc8448Keylog = (): string[] => [
  `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${RFC8448.clientRandom} ${RFC8448.clientHandshakeSecret}`,
  `SERVER_HANDSHAKE_TRAFFIC_SECRET ${RFC8448.clientRandom} ${RFC8448.serverHandshakeSecret}`,
  `CLIENT_TRAFFIC_SECRET_0 ${RFC8448.clientRandom} ${RFC8448.clientApplicationSecret}\n`,
  `SERVER_TRAFFIC_SECRET_0 ${RFC8448.clientRandom} ${RFC8448.serverApplicationSecret}\n`,
  `EXPORTER_SECRET ${RFC8448.clientRandom} fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50`,
];

/** The RFC 8448 §3 connection as the relay would see it, in wire order. */
const rfc8448Wire = (): [Direction, Buffer][] => [
  ['c2s', plaintextRecord(22, 0x0301, RFC8448.clientHello)],
  ['s2c', plaintextRecord(22, 0x0303, RFC8448.serverHello)],
  ['s2c', RFC8448.serverFlightRecord],
  ['c2s', RFC8448.clientFinishedRecord],
  ['s2c', RFC8448.newSessionTicketRecord],
  ['c2s', RFC8448.clientApplicationRecord],
  ['s2c', RFC8448.serverApplicationRecord],
  ['c2s', RFC8448.clientAlertRecord],
  ['s2c', RFC8448.serverAlertRecord],
];

const RFC8448_EVENTS = [
  'c2s handshake(ClientHello)',
  's2c handshake(ServerHello)',
  's2c handshake(EncryptedExtensions)',
  's2c handshake(Certificate)',
  's2c handshake(CertificateVerify)',
  's2c handshake(Finished)',
  'c2s handshake(Finished)',
  's2c handshake(NewSessionTicket)',
  'c2s data(50)',
  's2c data(50)',
  'c2s alert(close_notify)',
  's2c alert(close_notify)',
  'c2s fin',
  's2c fin',
].join(' ');

const feed = (
  decoder: ConnectionDecoder,
  wire: [Direction, Buffer][],
  chunkSize = Number.POSITIVE_INFINITY,
) => {
  let at = 0;
  for (const [dir, bytes] of wire) {
    for (let offset = 0; offset < bytes.length; offset += chunkSize) {
      decoder.receive(dir, bytes.subarray(offset, offset + chunkSize), at++);
    }
  }
  decoder.end('c2s', 'fin', at++);
  decoder.end('s2c', 'fin', at++);
};

describe('TLS 1.3 key schedule and records against RFC 8448 §3', () => {
  const suite = tls13Suite(0x1301)!;

  it('has the vectors transcribed in full', () => {
    expect(RFC8448.clientHello.length).toBe(196);
    expect(RFC8448.serverHello.length).toBe(90);
    expect(RFC8448.serverFlightRecord.length).toBe(5 + 0x2a2);
    expect(RFC8448.newSessionTicketRecord.length).toBe(5 + 0xde);
  });

  it('derives the handshake and application write keys and IVs (§7.3)', () => {
    const expected = [
      [RFC8448.serverHandshakeSecret, '3fce516009c21727d0f2e4e86ee403bc', '5d313eb2671276ee13000b30'],
      [RFC8448.clientHandshakeSecret, 'dbfaa693d1762c5b666af5d950258d01', '5bd3c71b836e0b76bb73265f'],
      [RFC8448.serverApplicationSecret, '9f02283b6c9c07efc26bb9f2ac92e356', 'cf782b88dd83549aadf1e984'],
      [RFC8448.clientApplicationSecret, '17422dda596ed5d9acd890e3c63f5051', '5b78923dee08579033e523d9'],
    ];
    for (const [secret, key, iv] of expected) {
      const keys = trafficKeys(suite, hex(secret!));
      expect({ key: keys.key.toString('hex'), iv: keys.iv.toString('hex') }).toEqual({ key, iv });
    }
  });

  it('decrypts the client Finished record to the printed plaintext', () => {
    const record = RFC8448.clientFinishedRecord;
    const keys = trafficKeys(suite, hex(RFC8448.clientHandshakeSecret));
    const opened = openTls13Record(suite, keys, 0, {
      type: record[0]!,
      version: record.readUInt16BE(1),
      header: record.subarray(0, 5),
      fragment: record.subarray(5),
    });
    expect(opened).toEqual({ status: 'opened', contentType: 22, content: RFC8448.clientFinished });
  });

  it('seals the client Finished into the printed record (what the peer does for its crafted records)', () => {
    const keys = trafficKeys(suite, hex(RFC8448.clientHandshakeSecret));
    const sealed = sealTls13Record(suite, keys, 0, 22, RFC8448.clientFinished);
    expect(sealed.toString('hex')).toBe(RFC8448.clientFinishedRecord.toString('hex'));
  });

  it('decodes the whole connection from the keylog lines', () => {
    const keylog = new KeylogStore();
    for (const line of rfc8448Keylog()) keylog.add(Buffer.from(line));
    const decoder = new ConnectionDecoder(keylog);
    feed(decoder, rfc8448Wire());
    expect(summarize(decoder.events(), { verbose: true })).toBe(RFC8448_EVENTS);
    expect(decoder.events().filter((event) => event.kind === 'alert')).toEqual([
      { dir: 'c2s', at: 7, kind: 'alert', level: 'warning', description: 'close_notify', code: 0 },
      { dir: 's2c', at: 8, kind: 'alert', level: 'warning', description: 'close_notify', code: 0 },
    ]);
  });

  it('decodes the same connection fed one byte at a time', () => {
    const keylog = new KeylogStore();
    for (const line of rfc8448Keylog()) keylog.add(line);
    const decoder = new ConnectionDecoder(keylog);
    feed(decoder, rfc8448Wire(), 1);
    expect(summarize(decoder.events(), { verbose: true })).toBe(RFC8448_EVENTS);
  });

  it('reports records as undecryptable until their keylog lines arrive, then decodes them', () => {
    const keylog = new KeylogStore();
    const decoder = new ConnectionDecoder(keylog);
    feed(decoder, rfc8448Wire());
    expect(summarize(decoder.events())).toBe(
      's2c undecryptable(23:674) c2s undecryptable(23:53) s2c undecryptable(23:222) c2s undecryptable(23:67) ' +
        's2c undecryptable(23:67) c2s undecryptable(23:19) s2c undecryptable(23:19) c2s fin s2c fin',
    );
    keylog.add(rfc8448Keylog().join('\n'));
    expect(summarize(decoder.events(), { verbose: true })).toBe(RFC8448_EVENTS);
  });
});

/**
 * An independent TLS 1.3 record sealer for synthetic streams: straight from RFC 5869 / RFC 8446
 * §5.2-§5.3 and §7.1-§7.3, sharing no code with the observer.
 */
function tls13Sealer(secret: Buffer) {
  const expandLabel = (label: string, length: number): Buffer => {
    const fullLabel = Buffer.from(`tls13 ${label}`);
    const info = Buffer.concat([Buffer.from([0, length, fullLabel.length]), fullLabel, Buffer.from([0])]);
    // One HMAC block is enough for every length used here (≤ 32 bytes with SHA-256).
    return createHmac('sha256', secret)
      .update(info)
      .update(Buffer.from([1]))
      .digest()
      .subarray(0, length);
  };
  const key = expandLabel('key', 16);
  const iv = expandLabel('iv', 12);
  let sequence = 0;
  return {
    seal(contentType: number, content: Buffer): Buffer {
      const nonce = Buffer.from(iv);
      nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ sequence++) >>> 0, 8);
      const inner = Buffer.concat([content, Buffer.from([contentType])]);
      const header = Buffer.from([23, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff]);
      const cipher = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: 16 });
      cipher.setAAD(header);
      const sealed = Buffer.concat([cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
      return Buffer.concat([header, sealed]);
    },
    nextSecret: (): Buffer => expandLabel('traffic upd', 32),
  };
}

describe('TLS 1.3 KeyUpdate (RFC 8446 §4.6.3, §7.2)', () => {
  it('switches the sender to the next traffic secret after its KeyUpdate', () => {
    const serverSecret = hex(RFC8448.serverApplicationSecret);
    const keylog = new KeylogStore();
    keylog.add(rfc8448Keylog().join('\n'));
    const decoder = new ConnectionDecoder(keylog);
    const beforeUpdate = tls13Sealer(serverSecret);
    const afterUpdate = tls13Sealer(beforeUpdate.nextSecret());
    const keyUpdate = Buffer.from([24, 0, 0, 1, 0]); // update_not_requested
    feed(decoder, [
      ...rfc8448Wire().slice(0, 4),
      ['s2c', beforeUpdate.seal(23, Buffer.alloc(10))],
      ['s2c', beforeUpdate.seal(22, keyUpdate)],
      ['s2c', afterUpdate.seal(23, Buffer.alloc(20))],
      ['s2c', afterUpdate.seal(21, Buffer.from([1, 0]))],
    ]);
    const s2c = decoder.events().filter((event) => event.dir === 's2c');
    expect(summarize(s2c, { verbose: true })).toBe(
      's2c handshake(ServerHello) s2c handshake(EncryptedExtensions) s2c handshake(Certificate) ' +
        's2c handshake(CertificateVerify) s2c handshake(Finished) s2c data(10) s2c handshake(KeyUpdate) ' +
        's2c data(20) s2c alert(close_notify) s2c fin',
    );
  });

  it('derives the next secret as HKDF-Expand-Label(secret, "traffic upd", "", Hash.length)', () => {
    const secret = hex(RFC8448.serverApplicationSecret);
    expect(hkdfExpandLabel('sha256', secret, 'traffic upd', Buffer.alloc(0), 32)).toEqual(
      tls13Sealer(secret).nextSecret(),
    );
  });
});

describe('TLS 1.2', () => {
  it('computes the PRF (P_SHA256) test vector published for the IETF TLS WG', () => {
    const output = prf(
      'sha256',
      hex('9bbe436ba940f017b17652849a71db35'),
      'test label',
      hex('a0ba9f936cda311827a6f796ffd5198c'),
      100,
    );
    expect(output.toString('hex')).toBe(
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af' +
        '0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff7018734' +
        '7b66',
    );
  });

  it.each([
    [0xc02f, 'AES-128-GCM'],
    [0xc030, 'AES-256-GCM'],
    [0xcca8, 'ChaCha20-Poly1305'],
  ])('opens what it seals, at the sequence number it was sealed with (suite %s, %s)', (code) => {
    const suite = tls12Suite(code)!;
    const keys = keyBlock(suite, Buffer.alloc(48, 7), Buffer.alloc(32, 1), Buffer.alloc(32, 2)).server;
    const record = sealTls12Record(suite, keys, 5, 21, Buffer.from([1, 90]));
    const framed = {
      type: record[0]!,
      version: record.readUInt16BE(1),
      header: record.subarray(0, 5),
      fragment: record.subarray(5),
    };
    expect(record.readUInt16BE(3)).toBe(record.length - 5);
    expect(openTls12Record(suite, keys, 5, framed)).toEqual({
      status: 'opened',
      contentType: 21,
      content: Buffer.from([1, 90]),
    });
    expect(openTls12Record(suite, keys, 6, framed)).toEqual({ status: 'failed' });
  });

  it('reports records of a CBC suite as undecryptable', () => {
    const keylog = new KeylogStore();
    keylog.add(`CLIENT_RANDOM ${RFC8448.clientRandom} ${'11'.repeat(48)}`);
    const decoder = new ConnectionDecoder(keylog);
    const serverHello = Buffer.concat([
      hex('02 00 00 26 03 03'),
      Buffer.alloc(32, 7), // random
      hex('00 c0 13 00'), // no session id, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, no compression
    ]);
    feed(decoder, [
      ['c2s', plaintextRecord(22, 0x0301, RFC8448.clientHello)],
      ['s2c', plaintextRecord(22, 0x0303, serverHello)],
      ['c2s', plaintextRecord(20, 0x0303, Buffer.from([1]))],
      ['c2s', plaintextRecord(22, 0x0303, Buffer.alloc(64))],
      ['c2s', plaintextRecord(23, 0x0303, Buffer.alloc(48))],
    ]);
    expect(summarize(decoder.events(), { verbose: true })).toBe(
      'c2s handshake(ClientHello) s2c handshake(ServerHello) c2s ccs c2s undecryptable(22:64) ' +
        'c2s undecryptable(23:48) c2s fin s2c fin',
    );
  });
});

describe('record framing', () => {
  it('reports bytes that are not a record header as garbage, up to the end of the direction', () => {
    const framer = new RecordFramer();
    expect(framer.push(Buffer.from('GET / HTTP/1.0\r\n'))).toEqual([{ kind: 'garbage', bytes: 16 }]);
    expect(framer.push(Buffer.from('\r\n'))).toEqual([{ kind: 'garbage', bytes: 2 }]);
  });

  it('finds garbage after complete records and in a header split across chunks', () => {
    const framer = new RecordFramer();
    const units = framer.push(
      Buffer.concat([plaintextRecord(21, 0x0303, Buffer.from([1, 0])), hex('17 03')]),
    );
    expect(units.map((unit) => unit.kind)).toEqual(['record']);
    expect(framer.push(hex('09 00 01 ff'))).toEqual([{ kind: 'garbage', bytes: 6 }]);
  });

  it('keeps a record cut short and reports what it had and needed', () => {
    const framer = new RecordFramer();
    expect(framer.push(hex('17 03 03 01 00 aa bb'))).toEqual([]);
    expect(framer.takeIncomplete()).toEqual({ have: 7, need: 261 });
    expect(framer.takeIncomplete()).toBeUndefined();
    expect(framer.push(hex('16 03'))).toEqual([]);
    expect(framer.takeIncomplete()).toEqual({ have: 2, need: 5 });
  });

  it('rejects a header announcing more than 2^14 + 256 bytes', () => {
    expect(new RecordFramer().push(hex('17 03 03 41 01'))).toEqual([{ kind: 'garbage', bytes: 5 }]);
  });
});

describe('waiting for keylog lines', () => {
  it('gives a direction up once 16 MiB of ciphertext waits for a secret, instead of keeping it', () => {
    const keylog = new KeylogStore();
    const decoder = new ConnectionDecoder(keylog);
    const record = plaintextRecord(23, 0x0303, Buffer.alloc(2 ** 14 + 17));
    const records = Math.ceil((16 * 1024 * 1024) / record.length) + 10;
    // The server's flight would open with the keylog lines, had they come before the cap.
    feed(decoder, [
      ...rfc8448Wire().slice(0, 3),
      ...Array.from({ length: records }, (): [Direction, Buffer] => ['s2c', record]),
    ]);
    keylog.add(rfc8448Keylog().join('\n'));
    const s2c = decoder.events().filter((event) => event.dir === 's2c');
    expect(summarize(s2c.slice(0, 2), { verbose: true })).toBe(
      's2c handshake(ServerHello) s2c undecryptable(23:674)',
    );
    expect(s2c.filter((event) => event.kind === 'undecryptable')).toHaveLength(1 + records);
    expect(s2c.at(-1)).toMatchObject({ kind: 'fin' });
  });
});

describe('decoder markers', () => {
  it('puts partial-record before the FIN, and keeps a RST after a FIN', () => {
    const decoder = new ConnectionDecoder(new KeylogStore());
    decoder.receive('s2c', hex('17 03 03 00 40 00 00'), 1);
    decoder.end('s2c', 'fin', 2);
    decoder.end('s2c', 'rst', 3);
    decoder.end('s2c', 'close', 4);
    const expected: WireEvent[] = [
      { dir: 's2c', at: 2, kind: 'partial-record', have: 7, need: 69 },
      { dir: 's2c', at: 2, kind: 'fin' },
      { dir: 's2c', at: 3, kind: 'rst' },
    ];
    expect(decoder.events()).toEqual(expected);
  });

  it('summarizes fatal alerts, garbage and undecryptable records', () => {
    const events: WireEvent[] = [
      { dir: 'c2s', at: 0, kind: 'handshake', type: 'ClientHello' },
      { dir: 's2c', at: 1, kind: 'alert', level: 'fatal', description: 'unknown_ca', code: 48 },
      { dir: 'c2s', at: 2, kind: 'garbage', bytes: 18 },
      { dir: 's2c', at: 3, kind: 'undecryptable', contentType: 23, length: 40 },
      { dir: 's2c', at: 4, kind: 'rst' },
    ];
    expect(summarize(events)).toBe(
      's2c alert(fatal:unknown_ca) c2s garbage(18) s2c undecryptable(23:40) s2c rst',
    );
  });
});
