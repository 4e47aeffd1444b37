// One build preset for every published package: ESM only, declarations, source maps, and the
// runtime modules left to the runtime.
import { defineConfig } from 'tsup';

/** @param {{ entry?: string[] | Record<string, string> }} [overrides] */
export function libraryConfig(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'es2022',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    external: [/^node:/, /^bun(:.*)?$/, /^@closenotify\//],
    ...overrides,
  });
}
