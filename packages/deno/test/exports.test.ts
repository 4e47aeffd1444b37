/**
 * Packaging: the npm and JSR export maps agree, and the built package imports anywhere.
 * Run with: deno test --allow-net=127.0.0.1,localhost --allow-run=openssl,node --allow-write=.tmp --allow-read=.tmp
 * (this file needs only --allow-run=node, and a built dist/).
 */
import jsr from '../jsr.json' with { type: 'json' };
import npm from '../package.json' with { type: 'json' };
import { assertEquals } from './fixtures/assert.ts';

/** Module subpaths only: "./package.json" is npm metadata, not something JSR can export. */
function moduleSubpaths(exports: Record<string, unknown>): string[] {
  return Object.keys(exports)
    .filter((subpath) => subpath !== './package.json')
    .sort();
}

Deno.test('jsr.json names the same package, version and export subpaths as package.json', () => {
  assertEquals([jsr.name, jsr.version], [npm.name, npm.version]);
  assertEquals(moduleSubpaths(jsr.exports), moduleSubpaths(npm.exports));
  for (const target of Object.values(jsr.exports)) assertEquals(target.startsWith('./src/'), true, target);
});

Deno.test('the built package imports without Deno and rejects ERR_RUNTIME_UNSUPPORTED at call time', async () => {
  const entry = new URL('../dist/index.js', import.meta.url).href;
  const script = `
    const { connect, listen, capabilities } = await import(${JSON.stringify(entry)});
    const refusals = await Promise.all([connect({ hostname: 'localhost', port: 1 }), listen({})].map((p) => p.catch((e) => e.code)));
    console.log(JSON.stringify({ refusals, truncationDetection: capabilities.truncationDetection }));`;
  const { success, stdout, stderr } = await new Deno.Command('node', {
    args: ['--input-type=module', '-e', script],
  }).output();
  const decoder = new TextDecoder();
  assertEquals(success, true, `node: ${decoder.decode(stderr)}`);
  assertEquals(JSON.parse(decoder.decode(stdout)), {
    refusals: ['ERR_RUNTIME_UNSUPPORTED', 'ERR_RUNTIME_UNSUPPORTED'],
    truncationDetection: true,
  });
});
