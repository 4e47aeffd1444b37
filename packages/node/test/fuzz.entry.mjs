// Model-based fuzzing inside Node, against @closenotify/node. Started by
// `node packages/conformance/dist/cli.js fuzz --runtime node`, which runs the peer daemon.
import { readFileSync } from 'node:fs';
import { catchEscapes, EscapedErrors, runFuzzFromCommandLine } from '@closenotify/conformance';
import { runtimeResources } from '@closenotify/conformance/node';
import { capabilities, connect, listen } from '@closenotify/node';

const { name, version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const escaped = new EscapedErrors();
catchEscapes(escaped);

await runFuzzFromCommandLine({
  adapter: { name, version, connect, listen, capabilities },
  runtime: { name: 'node', version: process.versions.node, tls: `OpenSSL ${process.versions.openssl}` },
  args: process.argv.slice(2),
  escaped,
  runtimeResources,
});
