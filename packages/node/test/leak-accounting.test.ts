/**
 * The runner's leak accounting inside each real runtime, proved with planted faults: a case that
 * forgets a socket fails before cleanup aborts it (core's count, with the socket named), and a
 * socket, listener or timer held by the runtime outside core fails through the runtime's own probe
 * (runtime-resources.ts). Node, Bun and Deno each run the same fixture against their adapter.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type PeerDaemon, spawnPeerDaemon } from '@closenotify/conformance/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const probe = here('./fixtures/leak-probe.mjs');
const bin = (name: string) => here(`../../../node_modules/.bin/${name}`);
const RUNTIMES: Record<string, { command: string[]; adapter: string; resources: string }> = {
  node: {
    command: [process.execPath, probe],
    adapter: here('../dist/index.js'),
    resources: here('../../conformance/dist/node.js'),
  },
  bun: {
    command: [bin('bun'), 'run', probe],
    adapter: here('../../bun/src/index.ts'),
    resources: here('../../bun/test/runtime-resources.ts'),
  },
  deno: {
    // Read access to the packages: the fixture imports its adapter and probe by names given at run time.
    command: [bin('deno'), 'run', '--allow-net=127.0.0.1,localhost', `--allow-read=${here('../..')}`, probe],
    adapter: here('../../deno/src/index.ts'),
    resources: here('../../deno/test/runtime-resources.ts'),
  },
};

let daemon: PeerDaemon;
beforeAll(async () => {
  daemon = await spawnPeerDaemon();
}, 60_000);
afterAll(async () => {
  await daemon?.stop();
}, 30_000);

describe('leak accounting with planted faults', () => {
  for (const [runtime, { command, adapter, resources }] of Object.entries(RUNTIMES)) {
    it(`fails exactly the leaking cases on ${runtime}`, async () => {
      const [file, ...args] = command as [string, ...string[]];
      const { stdout } = await run(
        file,
        [...args, daemon.controlUrl, pathToFileURL(adapter).href, pathToFileURL(resources).href],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      const verdicts = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(verdicts).toEqual([
        { id: 'self-check', message: '' },
        { id: 'probe.clean', status: 'pass', message: '' },
        {
          id: 'probe.forgotten-socket',
          status: 'fail',
          message: 'left 1 socket(s) open for cleanup to abort: client socket #1 (state open)',
        },
        {
          id: 'probe.raw-runtime-socket',
          status: 'fail',
          message: expect.stringMatching(
            /^the runtime still holds (?=.*listener )(?=.*socket ).* 3000 ms after the case and its cleanup$/,
          ),
        },
        {
          id: 'probe.pending-timer',
          status: 'fail',
          message: 'the runtime still holds timer 3000 ms after the case and its cleanup',
        },
      ]);
    }, 150_000);
  }
});
