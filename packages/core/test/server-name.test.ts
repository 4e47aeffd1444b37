import { describe, expect, it } from 'vitest';
import { isIpAddress, serverNameIndication } from '../src/server-name.ts';

describe('isIpAddress', () => {
  it.each([
    '127.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '::1',
    '::',
    '2001:db8::8a2e:370:7334',
    '2001:0db8:0000:0000:0000:ff00:0042:8329',
    '::ffff:127.0.0.1',
    'fe80::1%eth0',
  ])('%s is an IP address', (name) => {
    expect(isIpAddress(name)).toBe(true);
  });

  it.each([
    'localhost',
    'example.com',
    '256.0.0.1',
    '127.0.0.01',
    '127.0.0',
    '1.2.3.4.5',
    '1.2.3.4.example',
    '[::1]',
    ':::1',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::1',
    'g::1',
    '',
  ])('%s is not an IP address', (name) => {
    expect(isIpAddress(name)).toBe(false);
  });
});

describe('serverNameIndication', () => {
  it('sends a host name and never an IP address (RFC 6066 §3)', () => {
    expect(serverNameIndication('localhost')).toBe('localhost');
    expect(serverNameIndication('127.0.0.1')).toBeNull();
    expect(serverNameIndication('::1')).toBeNull();
  });
});
