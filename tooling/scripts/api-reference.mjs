#!/usr/bin/env node
// `npm run docs:api`: the API reference, generated from the doc comments of what the packages export
// (core's public surface and the three adapters' entries), with the pinned Deno's `deno doc --html`,
// into docs/api/ (git-ignored). `npm test` runs it, so a doc comment that breaks the generator fails CI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const output = join(root, 'docs', 'api');
const ENTRIES = [
  'packages/core/src/public.ts',
  'packages/node/src/index.ts',
  'packages/bun/src/index.ts',
  'packages/deno/src/index.ts',
];
/** Symbols the reference must document: the interface, the functions, the facade, an option type. */
const EXPECTED = [
  'ShutdownableSecureSocket',
  'connect',
  'listen',
  'socketsApi',
  'Socket',
  'TruncationPolicy',
];

rmSync(output, { recursive: true, force: true });
const result = spawnSync(
  join(root, 'node_modules', '.bin', 'deno'),
  ['doc', '--html', '--name=closenotify', `--output=${output}`, ...ENTRIES],
  { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
);
const index = join(output, 'all_symbols.html');
if (result.status !== 0 || !existsSync(index)) {
  console.error(
    `deno doc failed (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
  );
  process.exit(1);
}
const symbols = readFileSync(index, 'utf8');
const missing = EXPECTED.filter((name) => !symbols.includes(`>${name}<`));
if (missing.length > 0) {
  console.error(`the API reference lacks ${missing.join(', ')}: see ${index}`);
  process.exit(1);
}
console.log(`API reference written to ${join('docs', 'api', 'index.html')}`);
