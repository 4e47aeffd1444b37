// Writes a generated file, or with `--check` (as the test scripts run it) fails when the committed
// copy differs from what the generator produces now.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

/** @param {string} path @param {string} text @param {string} regenerate the command that rewrites it */
export function writeGenerated(path, text, regenerate) {
  const name = relative(process.cwd(), path);
  if (!process.argv.includes('--check')) {
    writeFileSync(path, text);
    console.log(`wrote ${name}`);
    return;
  }
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (current !== text) {
    console.error(`${name} is stale: run \`${regenerate}\` and commit it.`);
    process.exit(1);
  }
  console.log(`${name} is up to date.`);
}
