// The soak inside Deno: `deno run --allow-net=127.0.0.1,localhost --v8-flags=--expose-gc
// runtimes/deno.mjs '<request json>'` (started by soak.mjs).
import * as adapter from '@closenotify/deno';
import { runtimeResources } from '../../../packages/deno/test/runtime-resources.ts';
import { soakProcess } from '../workload.mjs';

await soakProcess({
  name: 'deno',
  adapter,
  request: Deno.args[0],
  runtimeResources: runtimeResources(),
  collectGarbage: () => globalThis.gc(),
  rss: () => Deno.memoryUsage().rss,
  exit: (code) => Deno.exit(code),
});
