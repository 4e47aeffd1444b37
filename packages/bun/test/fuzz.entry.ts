// Model-based fuzzing inside Bun, against @closenotify/bun. Started by
// `node packages/conformance/dist/cli.js fuzz --runtime bun`, which runs the peer daemon.
import { catchEscapes, EscapedErrors, runFuzzFromCommandLine } from '@closenotify/conformance';
import packageJson from '../package.json' with { type: 'json' };
import { capabilities, connect, listen } from '../src/index.ts';
import { runtimeResources } from './runtime-resources.ts';

const escaped = new EscapedErrors();
catchEscapes(escaped);

await runFuzzFromCommandLine({
  adapter: { name: packageJson.name, version: packageJson.version, connect, listen, capabilities },
  runtime: { name: 'bun', version: Bun.version, tls: `BoringSSL ${process.versions.boringssl?.slice(0, 8)}` },
  args: process.argv.slice(2),
  escaped,
  runtimeResources,
});
