import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface RuntimeBinary {
  name: 'node' | 'bun' | 'deno';
  path: string;
  version: string | null;
}

/** The runtimes the project pins: Node is the one running us; Bun and Deno come from the npm registry. */
export function pinnedRuntimes(): RuntimeBinary[] {
  const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
  const versionOf = (path: string): string | null => {
    if (!existsSync(path)) return null;
    const output = execFileSync(path, ['--version'], { encoding: 'utf8' });
    return /(\d+\.\d+\.\d+)/.exec(output)?.[1] ?? null;
  };
  return [
    { name: 'node', path: process.execPath, version: process.versions.node },
    { name: 'bun', path: bin('bun'), version: versionOf(bin('bun')) },
    { name: 'deno', path: bin('deno'), version: versionOf(bin('deno')) },
  ];
}
