// The soak inside Bun: `bun run runtimes/bun.mjs '<request json>'` (started by soak.mjs).
import { capabilities, connect, listen } from '@closenotify/bun';
import { catchEscapes, EscapedErrors } from '@closenotify/conformance';
import { liveResources } from '@closenotify/core';
import { runtimeResources } from '../../../packages/bun/test/runtime-resources.ts';
import { soak } from '../workload.mjs';

const escaped = new EscapedErrors();
catchEscapes(escaped);
const { connections, pki } = JSON.parse(process.argv[2] ?? '{}');
const figures = await soak({
  capabilities,
  connect,
  listen,
  liveResources,
  runtimeResources: runtimeResources(),
  collectGarbage: () => Bun.gc(true),
  rss: () => process.memoryUsage.rss(),
  pki,
  connections,
  log: (line) => console.error(`[bun] ${line}`),
}).catch((error) => {
  // Hooked escapes would swallow a rejected top-level await: say it and fail.
  console.error(error);
  process.exit(1);
});
console.log(JSON.stringify({ ...figures, escaped: escaped.drain() }));
