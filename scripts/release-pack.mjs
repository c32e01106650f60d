// npm run release:pack: the platform packages this machine can build and the main package, as
// npm tarballs in release/ (docs/install.md, packages/README.md).
//
//   1. versions: packages/*/package.json and the main package's optionalDependencies must all
//      name the main package's version;
//   2. dist/ (tsc);
//   3. @rnnlm/linux-x64: cmake-js with RNNLM_PORTABLE=ON, RNNLM_CUDA=OFF (build-release-cpu/);
//      @rnnlm/linux-x64-cuda: the same with RNNLM_CUDA=ON (build-release-cuda/), when nvcc is
//      found and RNNLM_RELEASE_CUDA is not 0; RNNLM_RELEASE_CUDA_ARCHITECTURES narrows its GPU
//      architectures (CI: one, to keep it short; a release: the default list);
//   4. npm pack each into release/, checking the file lists: a platform package holds exactly
//      package.json and rnnlm.node; the main package has dist/, the install script and the
//      sources of the fallback build, and no tests, build folders or release/.
// Build folders are kept, so a second run only relinks what changed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const releaseDir = join(root, 'release');
const require = createRequire(import.meta.url);
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const log = (line) => process.stdout.write(`release:pack: ${line}\n`);

function fail(message) {
  process.stderr.write(`release:pack: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const child = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (child.status !== 0) fail(`${command} ${args.join(' ')} failed (${child.status ?? child.signal})`);
  return child;
}

// --- 1. versions -------------------------------------------------------------------------------
const main = readJson(join(root, 'package.json'));
const platforms = [
  { dir: 'linux-x64', cuda: false },
  { dir: 'linux-x64-cuda', cuda: true },
].map((p) => ({ ...p, manifest: readJson(join(root, 'packages', p.dir, 'package.json')) }));
for (const { manifest } of platforms) {
  if (manifest.version !== main.version) fail(`packages: ${manifest.name} is ${manifest.version}, rnnlm is ${main.version}`);
  const wanted = main.optionalDependencies?.[manifest.name];
  if (wanted !== main.version) fail(`package.json optionalDependencies["${manifest.name}"] is ${wanted}, not ${main.version}`);
}
log(`version ${main.version}`);

// --- 2. TypeScript ------------------------------------------------------------------------------
run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);

// --- 3. the binaries ----------------------------------------------------------------------------
function hasNvcc() {
  if (process.env.RNNLM_RELEASE_CUDA === '0') return false;
  const which = spawnSync('sh', ['-c', 'command -v nvcc || test -x /usr/local/cuda/bin/nvcc'], { encoding: 'utf8' });
  return which.status === 0;
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const built = [];
for (const platform of platforms) {
  if (platform.cuda && !hasNvcc()) {
    log(`${platform.manifest.name}: skipped (no nvcc here, or RNNLM_RELEASE_CUDA=0)`);
    continue;
  }
  const out = platform.cuda ? 'build-release-cuda' : 'build-release-cpu';
  const defines = ['--CDRNNLM_PORTABLE=ON', `--CDRNNLM_CUDA=${platform.cuda ? 'ON' : 'OFF'}`];
  const archs = process.env.RNNLM_RELEASE_CUDA_ARCHITECTURES;
  if (platform.cuda && archs) defines.push(`--CDRNNLM_CUDA_ARCHITECTURES=${archs}`);
  log(`${platform.manifest.name}: cmake-js compile --out ${out} ${defines.join(' ')}`);
  run(process.execPath, [cmakeJs, 'compile', '--out', out, ...defines, '--parallel', process.env.RNNLM_RELEASE_JOBS ?? '2']);
  built.push({ ...platform, binary: join(root, out, 'Release', 'rnnlm.node') });
}

// --- 4. tarballs --------------------------------------------------------------------------------
rmSync(releaseDir, { recursive: true, force: true });
mkdirSync(releaseDir, { recursive: true });

// npm pack in `cwd`, returning the file list of the tarball it wrote.
function pack(cwd) {
  const child = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', releaseDir], { cwd, encoding: 'utf8' });
  if (child.status !== 0) fail(`npm pack in ${cwd} failed: ${child.stderr}`);
  const [result] = JSON.parse(child.stdout);
  return { filename: result.filename, files: result.files.map((f) => f.path) };
}

for (const platform of built) {
  const stage = join(releaseDir, 'stage', platform.dir);
  mkdirSync(stage, { recursive: true });
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(platform.manifest, null, 2)}\n`);
  copyFileSync(platform.binary, join(stage, 'rnnlm.node'));
  const { filename, files } = pack(stage);
  const expected = ['package.json', 'rnnlm.node'];
  if (files.slice().sort().join() !== expected.join()) fail(`${filename} holds ${files.join(', ')}, not ${expected.join(', ')}`);
  log(`release/${filename}`);
}
rmSync(join(releaseDir, 'stage'), { recursive: true, force: true });

const { filename, files } = pack(root);
const forbidden = files.filter((f) => /^(test|build[^/]*|release|node_modules|runs|bench|examples|\.ci)\//.test(f) || /(^|\/)test_[^/]*\.cpp$/.test(f));
if (forbidden.length > 0) fail(`${filename} must not hold ${forbidden.join(', ')}`);
for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/native.js', 'scripts/install.mjs', 'CMakeLists.txt', 'cmake/isa.cmake', 'cmake/distributed.cmake', 'native/cpu/isa_dispatch.cpp', 'native/distributed/comm.cpp', 'bindings/addon.cpp', 'bindings/distributed.cpp']) {
  if (!files.includes(needed)) fail(`${filename} lacks ${needed}`);
}
log(`release/${filename} (${files.length} files)`);
if (!existsSync(join(releaseDir, filename))) fail(`npm pack did not write release/${filename}`);
