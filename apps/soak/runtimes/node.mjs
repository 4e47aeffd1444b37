// The soak inside Node: `node --expose-gc runtimes/node.mjs '<request json>'` (started by soak.mjs).
import { runtimeResources } from '@closenotify/conformance/node';
import * as adapter from '@closenotify/node';
import { soakProcess } from '../workload.mjs';

await soakProcess({
  name: 'node',
  adapter,
  request: process.argv[2],
  runtimeResources: runtimeResources(),
  collectGarbage: () => globalThis.gc(),
  rss: () => process.memoryUsage.rss(),
  exit: (code) => process.exit(code),
});
