#!/usr/bin/env node
// Every changeset must parse: front matter of `"package": major|minor|patch` lines naming published
// packages (changesets' own `status` skips files it does not need, so a mangled one would only
// surface at release time).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.changeset');
const { fixed } = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
const published = new Set(fixed.flat());
const problems = [];
for (const file of readdirSync(dir).filter((name) => name.endsWith('.md') && name !== 'README.md')) {
  const match = /^---\n((?:"[^"]+": (?:major|minor|patch)\n)+)---\n\n\S/.exec(
    readFileSync(join(dir, file), 'utf8'),
  );
  if (!match) {
    problems.push(`${file}: expected front matter of "package": major|minor|patch lines, then a summary`);
    continue;
  }
  for (const [, name] of match[1].matchAll(/"([^"]+)"/g)) {
    if (!published.has(name)) problems.push(`${file}: "${name}" is not a published package`);
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
