// The soak inside Node: `node --expose-gc runtimes/node.mjs '<request json>'` (started by soak.mjs).

import { catchEscapes, EscapedErrors } from '@closenotify/conformance';
import { runtimeResources } from '@closenotify/conformance/node';
import { liveResources } from '@closenotify/core';
import { capabilities, connect, listen } from '@closenotify/node';
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
  collectGarbage: () => globalThis.gc(),
  rss: () => process.memoryUsage.rss(),
  pki,
  connections,
  log: (line) => console.error(`[node] ${line}`),
}).catch((error) => {
  // Hooked escapes would swallow a rejected top-level await: say it and fail.
  console.error(error);
  process.exit(1);
});
console.log(JSON.stringify({ ...figures, escaped: escaped.drain() }));
