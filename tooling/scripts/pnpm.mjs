#!/usr/bin/env node
// Runs the pnpm pinned in the root package.json's `packageManager` through npx: corepack fails
// pnpm's signature check on our machines, and a fresh machine has only Node and npm.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function pinnedPnpm() {
  const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const match = /^pnpm@(\d+\.\d+\.\d+)$/.exec(packageManager ?? '');
  if (!match) throw new Error(`package.json packageManager must pin pnpm@x.y.z, got ${packageManager}`);
  return match[1];
}

export function pnpm(args, options = {}) {
  const result = spawnSync('npx', ['--yes', `pnpm@${pinnedPnpm()}`, ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...options.env },
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = pnpm(process.argv.slice(2));
}
