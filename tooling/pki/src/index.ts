// The test PKI shared by every test and by the conformance peer: created once, cached under
// `<repo root>/.cache/pki/`, and safe to ask for from several processes at the same time.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issuePkiMaterial } from './issue.ts';
import { readUsablePki, writePkiFiles } from './store.ts';
import type { Pki } from './types.ts';

export { AUTHORITY_FILES, type Pki, type PkiCredential } from './types.ts';

/** Generations that lose a publication race retry by reading the winner's files; a few rounds always suffice. */
const MAX_ATTEMPTS = 4;

export async function ensurePki(options: { dir?: string } = {}): Promise<Pki> {
  const dir = options.dir ?? join(findRepoRoot(), '.cache', 'pki');
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const cached = await readUsablePki(dir);
    if (cached) return { dir, ...cached };
    if (existsSync(dir)) await moveAside(dir);
    const material = issuePkiMaterial();
    if (await publish(dir, async (staging) => writePkiFiles(staging, material))) return { dir, ...material };
  }
  throw new Error(`could not create a usable test PKI in ${dir} after ${MAX_ATTEMPTS} attempts`);
}

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/**
 * Fills a staging directory next to `dir` and renames it into place, so readers never see a half-written
 * PKI. Returns false when another process published first (renaming onto a non-empty directory fails).
 */
async function publish(dir: string, fill: (staging: string) => Promise<void>): Promise<boolean> {
  await mkdir(dirname(dir), { recursive: true });
  const staging = await mkdtemp(join(dirname(dir), `.${basename(dir)}.staging-`));
  try {
    await fill(staging);
    return await rename(staging, dir).then(
      () => true,
      (error: unknown) => {
        if (isCode(error, 'ENOTEMPTY', 'EEXIST', 'EPERM')) return false;
        throw error;
      },
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Retires a stale or broken PKI directory; a concurrent process may already have done it. */
async function moveAside(dir: string): Promise<void> {
  const retired = join(dirname(dir), `.${basename(dir)}.retired-${randomBytes(6).toString('hex')}`);
  try {
    await rename(dir, retired);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return;
    throw error;
  }
  await rm(retired, { recursive: true, force: true });
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}
