#!/usr/bin/env node
// Deno 2.9 rewrites the root package.json (adding "workspaces" and a copied "catalog") when an npm
// resolution fails inside a pnpm workspace. Nothing should trigger that; if something does, fail loudly
// instead of leaving a silently edited manifest behind.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
const manifest = JSON.parse(readFileSync(path, 'utf8'));
const added = ['workspaces', 'catalog'].filter((key) => key in manifest);
if (added.length > 0) {
  console.error(`package.json gained ${added.join(' and ')} (Deno rewrote it after a failed npm resolution)`);
  process.exit(1);
}
