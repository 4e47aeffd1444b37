/**
 * The export conditions: Node gets @closenotify/node, and a runtime that matches none of them gets
 * the built `default` entry: the same names, with connect() and listen() rejecting
 * ERR_RUNTIME_UNSUPPORTED.
 */
import { readFileSync } from 'node:fs';
import * as nodeAdapter from '@closenotify/node';
import { describe, expect, it } from 'vitest';

const packageJson = new URL('../../package.json', import.meta.url);
const { exports } = JSON.parse(readFileSync(packageJson, 'utf8')) as {
  exports: { '.': { default: string }; './sockets': { default: string } };
};
const unsupported: typeof import('../../src/unsupported.ts') = await import(
  new URL(exports['.'].default, packageJson).href
);
const unsupportedSockets: typeof import('../../src/sockets-unsupported.ts') = await import(
  new URL(exports['./sockets'].default, packageJson).href
);

describe('closenotify', () => {
  it('is @closenotify/node under Node', async () => {
    const picked = await import('closenotify');
    expect(picked.connect).toBe(nodeAdapter.connect);
    expect(picked.capabilities).toBe(nodeAdapter.capabilities);
  });

  it('exports the same names where no runtime condition matches, so imports still link', () => {
    expect(Object.keys(unsupported).sort()).toEqual(Object.keys(nodeAdapter).sort());
  });

  it.each([
    ['connect', () => unsupported.connect({ hostname: 'localhost', port: 443 })],
    ['listen', () => unsupported.listen({ cert: '', key: '' })],
  ])('rejects %s with ERR_RUNTIME_UNSUPPORTED, naming the supported runtimes', async (_name, call) => {
    const error = await call().catch((caught: unknown) => caught);
    expect(unsupported.isSecureSocketError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ERR_RUNTIME_UNSUPPORTED' });
    expect((error as Error).message).toMatch(/Node, Bun and Deno/);
  });
});

describe('closenotify/sockets', () => {
  it('is the WinterTC connect() over @closenotify/node under Node', async () => {
    const sockets = await import('closenotify/sockets');
    expect(sockets.Socket).toBe(nodeAdapter.Socket);
    const error = (() => {
      try {
        sockets.connect('localhost:0', { secureTransport: 'on' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  it('exports the same names where no runtime condition matches, and connect() throws ERR_RUNTIME_UNSUPPORTED', async () => {
    const sockets = await import('closenotify/sockets');
    expect(Object.keys(unsupportedSockets).sort()).toEqual(Object.keys(sockets).sort());
    expect(() => unsupportedSockets.connect('localhost:443')).toThrow(/Node, Bun and Deno/);
  });
});
