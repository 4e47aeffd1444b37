import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runOrchestrator } from '../src/orchestrator.ts';

describe('runOrchestrator', () => {
  const dir = mkdtempSync(join(tmpdir(), 'matrix-orchestrator-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the arguments on and resolves with the exit code', async () => {
    const script = join(dir, 'exit-with-argument.mjs');
    writeFileSync(script, 'process.exit(Number(process.argv[2]));\n');
    expect(await runOrchestrator(['0'], script)).toBe(0);
    expect(await runOrchestrator(['3'], script)).toBe(3);
  });

  it('fails with a hint when the orchestrator is not built', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const missing = join(dir, 'missing.js');
    expect(await runOrchestrator([], missing)).toBe(1);
    expect(error).toHaveBeenCalledWith(
      `${missing} is missing: build @closenotify/conformance first (npm run build)`,
    );
  });
});
