// The soak inside Deno: `deno run --allow-net=127.0.0.1,localhost --v8-flags=--expose-gc
// runtimes/deno.mjs '<request json>'` (started by soak.mjs).
import { catchEscapes, EscapedErrors } from '@closenotify/conformance';
import { liveResources } from '@closenotify/core';
import { capabilities, connect, listen } from '@closenotify/deno';
import { runtimeResources } from '../../../packages/deno/test/runtime-resources.ts';
import { soak } from '../workload.mjs';

const escaped = new EscapedErrors();
catchEscapes(escaped);
const { connections, pki } = JSON.parse(Deno.args[0] ?? '{}');
const figures = await soak({
  capabilities,
  connect,
  listen,
  liveResources,
  runtimeResources: runtimeResources(),
  collectGarbage: () => globalThis.gc(),
  rss: () => Deno.memoryUsage().rss,
  pki,
  connections,
  log: (line) => console.error(`[deno] ${line}`),
}).catch((error) => {
  // Hooked escapes would swallow a rejected top-level await: say it and fail.
  console.error(error);
  Deno.exit(1);
});
console.log(JSON.stringify({ ...figures, escaped: escaped.drain() }));
