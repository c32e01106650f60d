// The prebuilt packages work on a machine with no build tools: the tarballs `npm run
// release:pack` wrote to release/ are installed into a fresh folder whose PATH holds only node,
// npm and sh (no CMake, compiler or nvcc), with dependencies from npm's cache; then `npx rnnlm
// info`, a 20-step `npx rnnlm train`, and a TypeScript file importing the typed API, compiled
// with `tsc --strict` and run. Needs release/ and RNNLM_RELEASE_TEST=1 (CI's release step sets
// both; it takes a minute or two), else it says so and checks nothing.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const releaseDir = join(root, 'release');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const enabled = process.env['RNNLM_RELEASE_TEST'] === '1';
const tarballs = existsSync(releaseDir) ? readdirSync(releaseDir).filter((f) => f.endsWith(`-${version}.tgz`)) : [];

if (!enabled || tarballs.length === 0) {
  console.log(`  (release install test not run: ${!enabled ? 'set RNNLM_RELEASE_TEST=1' : 'no tarballs in release/; run npm run release:pack'})`);
} else {
  const work = mkdtempSync(join(tmpdir(), 'rnnlm-release-'));
  const project = join(work, 'project');
  const bin = join(work, 'bin');
  mkdirSync(project);
  mkdirSync(bin);
  // node, npm, npx and sh (npm runs scripts with sh): nothing else is on PATH.
  const npmCli = join(dirname(process.execPath), 'npm');
  const which = (name: string): string => spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync(existsSync(npmCli) ? npmCli : which('npm'), join(bin, 'npm'));
  symlinkSync(existsSync(join(dirname(process.execPath), 'npx')) ? join(dirname(process.execPath), 'npx') : which('npx'), join(bin, 'npx'));
  symlinkSync(which('sh'), join(bin, 'sh'));
  const env: NodeJS.ProcessEnv = { HOME: process.env['HOME'], PATH: bin, RNNLM_THREADS: '2', TMPDIR: tmpdir() };
  for (const key of ['npm_config_cache', 'NPM_CONFIG_CACHE']) if (process.env[key]) env[key] = process.env[key];

  const sh = (command: string, args: string[], extra: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> =>
    spawnSync(command, args, { cwd: project, encoding: 'utf8', env: { ...env, ...extra }, timeout: 300_000 });
  const show = (r: SpawnSyncReturns<string>): string => `exit ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`;

  test('no CMake, compiler or nvcc is on the PATH of the install', () => {
    for (const tool of ['cmake', 'cc', 'c++', 'gcc', 'g++', 'clang', 'nvcc', 'make', 'ninja']) {
      const r = sh(join(bin, 'sh'), ['-c', `command -v ${tool}`]);
      assert.is.not(r.status, 0, `${tool} is on PATH: ${r.stdout}`);
    }
  });

  test('npm installs the tarballs offline (dependencies from the cache) without compiling', () => {
    // allowScripts: npm 11 runs a dependency's install script only when the project allows it.
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'release-check', version: '1.0.0', private: true, type: 'module', allowScripts: { rnnlm: true } }));
    const files = tarballs.map((f) => join(releaseDir, f));
    const flags = ['--no-audit', '--no-fund', '--foreground-scripts'];
    let r = sh(join(bin, 'npm'), ['install', '--offline', ...flags, ...files]);
    if (r.status !== 0) {
      // A cache without some dependency: let npm fetch only what is missing.
      console.log(`  (npm install --offline failed, retrying with --prefer-offline: ${r.stderr.trim().split('\n').slice(-2).join(' ')})`);
      r = sh(join(bin, 'npm'), ['install', '--prefer-offline', ...flags, ...files]);
    }
    assert.is(r.status, 0, show(r));
    assert.match(r.stdout + r.stderr, /rnnlm: using the prebuilt binary of @rnnlm\/linux-x64/);
    assert.ok(!existsSync(join(project, 'node_modules', 'rnnlm', 'build')), 'the install compiled a source build');
  });

  test('RNNLM_BUILD_FROM_SOURCE=1 without build tools: the source build fails, the prebuilt binary is kept with a warning', () => {
    const r = sh(join(bin, 'npm'), ['rebuild', 'rnnlm', '--foreground-scripts'], { RNNLM_BUILD_FROM_SOURCE: '1' });
    assert.is(r.status, 0, show(r));
    assert.match(r.stdout + r.stderr, /warning: the source build failed .*using the prebuilt binary of @rnnlm\/linux-x64/);
  });

  test('npx rnnlm info reports the prebuilt, portable binary', () => {
    const r = sh(join(bin, 'npx'), ['--no-install', 'rnnlm', 'info', '--json']);
    assert.is(r.status, 0, show(r));
    const info = JSON.parse(r.stdout) as { addonSource: string; addonPackage: string; portable: boolean; cpuKernels: string; blas: string; blasReason: string };
    assert.is(info.addonSource, 'prebuilt package');
    assert.match(info.addonPackage, /^@rnnlm\/linux-x64/);
    assert.ok(info.portable);
    assert.ok(['avx512', 'avx2', 'x86-64-v2'].includes(info.cpuKernels), info.cpuKernels);
    assert.ok(info.blasReason.length > 0);
    const text = sh(join(bin, 'npx'), ['--no-install', 'rnnlm', 'info']);
    assert.is(text.status, 0, show(text));
    assert.match(text.stdout, /prebuilt package @rnnlm\/linux-x64/);
    assert.match(text.stdout, /cpu kernels +\S+ \(.*CPU flags seen/);
    console.log(`  ${text.stdout.trim().split('\n').join('\n  ')}`);
  });

  test('npx rnnlm train runs 20 steps', () => {
    const r = sh(join(bin, 'npx'), ['--no-install', 'rnnlm', 'train', '--steps', '20', '--hidden', '64', '--embedding', '32', '--batch', '8', '--seq', '32',
      '--valid-every', '20', '--sample-every', '0', '--out', join(project, 'run'), '--json', '--device', 'cpu']);
    assert.is(r.status, 0, show(r));
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type?: string; event?: string; step?: number });
    assert.ok(lines.length > 0, r.stdout);
    assert.ok(existsSync(join(project, 'run', 'metrics.jsonl')));
    assert.ok(existsSync(join(project, 'run', 'last')));
  });

  test('a TypeScript file imports the typed API, compiles with tsc --strict and runs', () => {
    writeFileSync(join(project, 'main.ts'), [
      "import { info, linear, tensor, type RuntimeInfo } from 'rnnlm';",
      'const report: RuntimeInfo = info();',
      'const a = tensor([[1, 2], [3, 4]]);',
      'const product: number[] = Array.from(linear(a, a).toFloat32Array()); // a a^T',
      'console.log(JSON.stringify({ source: report.addonSource, kernels: report.cpuKernels, product }));',
      '',
    ].join('\n'));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const types = join(root, 'node_modules', '@types');
    const c = sh(process.execPath, [tsc, '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--typeRoots', types, '--types', 'node', 'main.ts']);
    assert.is(c.status, 0, show(c));
    const r = sh(process.execPath, ['main.js']);
    assert.is(r.status, 0, show(r));
    const out = JSON.parse(r.stdout) as { source: string; product: number[] };
    assert.is(out.source, 'prebuilt package');
    assert.equal(out.product, [5, 11, 11, 25]);
  });
}

test.run();
