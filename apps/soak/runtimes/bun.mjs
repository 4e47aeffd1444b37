// The soak inside Bun: `bun run runtimes/bun.mjs '<request json>'` (started by soak.mjs).
import * as adapter from '@closenotify/bun';
import { runtimeResources } from '../../../packages/bun/test/runtime-resources.ts';
import { soakProcess } from '../workload.mjs';

await soakProcess({
  name: 'bun',
  adapter,
  request: process.argv[2],
  runtimeResources: runtimeResources(),
  collectGarbage: () => Bun.gc(true),
  rss: () => process.memoryUsage.rss(),
  exit: (code) => process.exit(code),
});
