import { expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BUILT_ENTRY = fileURLToPath(new URL('../dist/index.js', import.meta.url));

// Runs the built package in Node, where globalThis.Bun does not exist (turbo builds before test:bun).
const NODE_SCRIPT = `
const adapter = await import(process.argv[1]);
const outcomes = [];
for (const attempt of [() => adapter.connect({ hostname: 'localhost', port: 443 }), () => adapter.listen({ cert: '', key: '' })]) {
  await attempt().then(() => outcomes.push('resolved'), (error) => outcomes.push({ name: error.name, code: error.code }));
}
console.log(JSON.stringify({ exports: Object.keys(adapter).sort(), outcomes }));
`;

test('importing works outside Bun; connect() and listen() reject with ERR_RUNTIME_UNSUPPORTED', async () => {
  expect(existsSync(BUILT_ENTRY)).toBe(true);
  const node = Bun.spawn(['node', '--input-type=module', '-e', NODE_SCRIPT, BUILT_ENTRY], { stdout: 'pipe' });
  const output = JSON.parse(await new Response(node.stdout).text());
  expect(await node.exited).toBe(0);
  expect(output.exports).toEqual(
    expect.arrayContaining(['capabilities', 'connect', 'listen', 'SecureSocketError']),
  );
  expect(output.outcomes).toEqual([
    { name: 'SecureSocketError', code: 'ERR_RUNTIME_UNSUPPORTED' },
    { name: 'SecureSocketError', code: 'ERR_RUNTIME_UNSUPPORTED' },
  ]);
});
