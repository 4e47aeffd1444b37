#!/usr/bin/env node
/**
 * The `closenotify` bin. It runs on Node, Bun and Deno and drives that runtime's own adapter, so a
 * probe shows what closenotify sees where it runs.
 */
import process from 'node:process';
import { main } from './probe/main.ts';
import type { ProbeAdapter } from './probe/types.ts';

async function runtimeAdapter(): Promise<ProbeAdapter> {
  if ('Bun' in globalThis) return { runtime: 'bun', ...(await import('@closenotify/bun')) };
  if ('Deno' in globalThis) return { runtime: 'deno', ...(await import('@closenotify/deno')) };
  return { runtime: 'node', ...(await import('@closenotify/node')) };
}

const stream = (output: NodeJS.WriteStream) => ({
  write: (text: string) => void output.write(text),
  isTTY: output.isTTY === true,
});

process.exitCode = await main(process.argv.slice(2), await runtimeAdapter(), {
  stdout: stream(process.stdout),
  stderr: stream(process.stderr),
  env: process.env,
});
