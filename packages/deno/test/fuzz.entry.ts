// Model-based fuzzing inside Deno, against @closenotify/deno. Started by
// `node packages/conformance/dist/cli.js fuzz --runtime deno`, which runs the peer daemon and grants
// Deno nothing but loopback networking.
import { catchEscapes, EscapedErrors, runFuzzFromCommandLine } from '@closenotify/conformance';
import packageJson from '../package.json' with { type: 'json' };
import { capabilities, connect, listen } from '../src/index.ts';
import { runtimeResources } from './runtime-resources.ts';

const escaped = new EscapedErrors();
catchEscapes(escaped);

await runFuzzFromCommandLine({
  adapter: { name: packageJson.name, version: packageJson.version, connect, listen, capabilities },
  runtime: { name: 'deno', version: Deno.version.deno, tls: 'rustls' },
  args: Deno.args,
  escaped,
  runtimeResources,
});
