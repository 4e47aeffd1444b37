#!/usr/bin/env node
// The packages as a user gets them: `pnpm pack` for every publishable package, the tarballs installed
// with npm into a fresh project outside the workspace, and the README examples run there unchanged on
// Node, Bun and Deno (Deno through that project's node_modules), after a type check against the
// shipped declarations with the `lib` the spec tells users to set. Then `deno publish --dry-run` for the
// JSR packages (every package with a jsr.json), from a Deno workspace of just them: that is how
// @closenotify/deno's bare `@closenotify/core` imports become `jsr:` ones.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PeerClient } from '@closenotify/conformance';
import { spawnPeerDaemon } from '@closenotify/conformance/node';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const examples = join(root, 'packages', 'closenotify', 'test');
/** What the examples import besides their own files; tsc and Deno need no more. */
const EXAMPLE_FILES = ['example.ts', 'sockets-example.ts', 'starttls-example.ts', 'serve-example.ts'];

function run(command, args, cwd, what) {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    throw new Error(
      `${what} failed (${command} ${args.join(' ')}, exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  console.log(`ok   ${what} (${seconds} s)`);
  return result.stdout;
}

/** Every package under packages/ that is not private, by folder. */
function publishable() {
  const packages = join(root, 'packages');
  return readdirSync(packages)
    .map((folder) => ({ folder: join(packages, folder), manifest: join(packages, folder, 'package.json') }))
    .filter(({ manifest }) => {
      try {
        return JSON.parse(readFileSync(manifest, 'utf8')).private !== true;
      } catch {
        return false;
      }
    })
    .map(({ folder, manifest }) => ({ folder, name: JSON.parse(readFileSync(manifest, 'utf8')).name }));
}

/** The test CA and server credential, from the conformance peer daemon that owns the test PKI. */
async function testPki() {
  const daemon = await spawnPeerDaemon();
  try {
    const { ca, server } = await new PeerClient(daemon.controlUrl).pki();
    return { ca, server };
  } finally {
    await daemon.stop();
  }
}

/** Node 20 runs no TypeScript: the examples, compiled file by file, next to their sources. */
function compileForNode(project, files) {
  for (const file of files) {
    const source = readFileSync(join(project, file), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        rewriteRelativeImportExtensions: true,
        verbatimModuleSyntax: true,
      },
      fileName: file,
    });
    writeFileSync(join(project, file.replace(/\.ts$/, '.js')), outputText);
  }
}

const work = mkdtempSync(join(tmpdir(), 'closenotify-pack-'));
try {
  const tarballs = join(work, 'tarballs');
  const project = join(work, 'project');
  mkdirSync(tarballs);
  mkdirSync(join(project, 'test'), { recursive: true });
  const dependencies = {};
  for (const { folder, name } of publishable()) {
    const before = new Set(readdirSync(tarballs));
    run(
      'npx',
      ['--yes', packageManager, 'pack', '--pack-destination', tarballs],
      folder,
      `pnpm pack ${name}`,
    );
    const [tarball] = readdirSync(tarballs).filter((file) => !before.has(file));
    dependencies[name] = `file:${join(tarballs, tarball)}`;
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'closenotify-pack-test', private: true, type: 'module', dependencies }, null, 2),
  );
  run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    project,
    'npm install',
  );

  for (const file of EXAMPLE_FILES) cpSync(join(examples, file), join(project, 'test', file));
  mkdirSync(join(project, '.tmp'));
  writeFileSync(join(project, '.tmp', 'pki.json'), JSON.stringify(await testPki()));
  writeFileSync(
    join(project, 'main.ts'),
    "import { runExample, runSocketsExample, runStarttlsExample } from './test/serve-example.ts';\n\nawait runExample();\nawait runSocketsExample();\nawait runStarttlsExample();\nconsole.log('examples ok');\n",
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022', 'ESNext.Disposable', 'DOM', 'DOM.AsyncIterable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        types: [],
      },
      // serve-example.ts needs Node's types, which a user's project would bring; the examples need none.
      files: ['test/example.ts', 'test/sockets-example.ts', 'test/starttls-example.ts'],
    }),
  );
  run(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project],
    project,
    'tsc against the shipped declarations',
  );

  compileForNode(project, ['main.ts', ...EXAMPLE_FILES.map((file) => `test/${file}`)]);
  const ran = (output, what) => {
    if (!output.includes('examples ok')) throw new Error(`${what}: the examples did not finish:\n${output}`);
  };
  ran(run(process.execPath, ['main.js'], project, 'the examples on Node'), 'Node');
  ran(run(bin('bun'), ['main.ts'], project, 'the examples on Bun'), 'Bun');
  writeFileSync(join(project, 'deno.json'), JSON.stringify({ nodeModulesDir: 'manual' }));
  ran(
    run(
      bin('deno'),
      ['run', '--allow-net=127.0.0.1,localhost', '--allow-read=.tmp/pki.json', 'main.ts'],
      project,
      'the examples on Deno',
    ),
    'Deno',
  );

  const jsr = join(work, 'jsr');
  const members = readdirSync(join(root, 'packages')).filter((folder) => {
    try {
      readFileSync(join(root, 'packages', folder, 'jsr.json'));
      return true;
    } catch {
      return false;
    }
  });
  for (const folder of members) {
    const { publish } = JSON.parse(readFileSync(join(root, 'packages', folder, 'jsr.json'), 'utf8'));
    for (const path of publish.include) {
      cpSync(join(root, 'packages', folder, path), join(jsr, folder, path), { recursive: true });
    }
  }
  writeFileSync(
    join(jsr, 'deno.json'),
    JSON.stringify({ workspace: members.map((folder) => `./${folder}`) }),
  );
  run(
    bin('deno'),
    ['publish', '--dry-run', '--allow-dirty'],
    jsr,
    `deno publish --dry-run (${members.join(', ')})`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
