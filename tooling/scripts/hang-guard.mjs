#!/usr/bin/env node
// `node hang-guard.mjs <seconds> <command> [args...]`: runs a test command that has no time limit of
// its own (`deno test` has none per test) and ends it if it outlives <seconds>, so a hung socket fails
// the run with a message instead of stalling CI. The limit bounds a hang; it is no speed target.
import { spawn } from 'node:child_process';

const [seconds, command, ...args] = process.argv.slice(2);
const limitMs = Number(seconds) * 1000;
if (!command || !Number.isFinite(limitMs) || limitMs <= 0) {
  console.error('usage: hang-guard.mjs <seconds> <command> [args...]');
  process.exit(2);
}
// Its own process group, so that the whole tree (deno and the peers it started) can be ended at once.
const child = spawn(command, args, { stdio: 'inherit', detached: true });
const timer = setTimeout(() => {
  console.error(`\nhang-guard: \`${command} ${args.join(' ')}\` still running after ${seconds} s: ended`);
  process.kill(-child.pid, 'SIGKILL');
}, limitMs);
child.on('exit', (code, signal) => {
  clearTimeout(timer);
  process.exit(code ?? (signal ? 1 : 0));
});
for (const name of ['SIGINT', 'SIGTERM']) process.on(name, () => process.kill(-child.pid, name));
