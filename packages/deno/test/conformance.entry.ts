// The conformance catalogue inside Deno, against @closenotify/deno. Started by
// `node packages/conformance/dist/cli.js --runtime deno`, which runs the peer daemon and grants
// Deno nothing but --allow-net=127.0.0.1,localhost and the one name that never resolves.
import { catchEscapes, EscapedErrors, runFromCommandLine } from '@closenotify/conformance';
import packageJson from '../package.json' with { type: 'json' };
import { capabilities, connect, listen } from '../src/index.ts';
import { runtimeResources } from './runtime-resources.ts';

const escaped = new EscapedErrors();
catchEscapes(escaped);

await runFromCommandLine({
  adapter: { name: packageJson.name, version: packageJson.version, connect, listen, capabilities },
  runtime: { name: 'deno', version: Deno.version.deno, tls: 'rustls' },
  args: Deno.args,
  escaped,
  runtimeResources,
});
