// The README example on Bun, through the `bun` export condition.
import { expect, test } from 'bun:test';
import * as bunAdapter from '@closenotify/bun';
import * as picked from 'closenotify';
import { runExample, runSocketsExample } from '../serve-example.ts';

test('closenotify is @closenotify/bun under Bun', () => {
  expect(picked.connect).toBe(bunAdapter.connect);
  expect(picked.capabilities).toBe(bunAdapter.capabilities);
});

test('the portable example runs against a local TLS server', async () => {
  await runExample();
});

test('the WinterTC Sockets API example runs against a local TLS server', async () => {
  await runSocketsExample();
});
