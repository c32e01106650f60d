// npm's install hook for rnnlm (package.json "install"): use a prebuilt binary when one fits,
// else compile from source with cmake-js.
//
//   In a clone (this package is not inside node_modules): always the source build, as before.
//   Installed as a dependency: a platform package (@rnnlm/linux-x64, @rnnlm/linux-x64-cuda) whose
//   binary loads and passes the loader's test op (src/native.ts) means no compiling at all;
//   otherwise cmake-js compile. RNNLM_BUILD_FROM_SOURCE=1 (or npm's --build-from-source flag)
//   compiles in any case. A failed source build with a usable prebuilt binary warns and goes on.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (line) => process.stderr.write(`rnnlm: ${line}\n`);
const truthy = (value) => value !== undefined && value !== '' && value !== '0' && value !== 'false';

const forced = truthy(process.env.RNNLM_BUILD_FROM_SOURCE) || truthy(process.env.npm_config_build_from_source);
const inClone = !root.split(sep).includes('node_modules');

// The prebuilt binary the loader (src/native.ts) picks here, tested in a child process (so that a
// crash while loading cannot take this installer down): {found: {path, packageName} | null,
// skipped: reasons the candidates before it were passed over}.
function usablePrebuilt() {
  const loader = new URL('../dist/native.js', import.meta.url);
  if (!existsSync(fileURLToPath(loader))) return { found: null, skipped: ['dist/native.js is not built'] };
  const script = `
    import { addonOrigin, native } from ${JSON.stringify(loader.href)};
    let origin = null, error = null;
    try { native(); origin = addonOrigin(); } catch (e) { error = e.message; }
    const skipped = (origin?.skipped ?? []).map((s) => s.source + ' ' + s.path + ': ' + s.reason);
    const found = origin?.source === 'prebuilt package' ? { path: origin.path, packageName: origin.packageName } : null;
    console.log(JSON.stringify({ found, skipped: error !== null ? [error] : skipped }));`;
  const env = { ...process.env };
  delete env.RNNLM_ADDON;  // the install is about this package's own binaries
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
  if (child.status !== 0) return { found: null, skipped: [`the probe exited with ${child.status ?? child.signal}: ${child.stderr.trim()}`] };
  return JSON.parse(child.stdout.trim().split('\n').pop());
}

function sourceBuild() {
  const require = createRequire(import.meta.url);
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  } catch {
    log('cmake-js is not installed, so the source build cannot run');
    return 1;
  }
  const child = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
  return child.status ?? 1;
}

if (inClone) process.exit(sourceBuild());

if (!forced) {
  const { found, skipped } = usablePrebuilt();
  if (found !== null) {
    log(`using the prebuilt binary of ${found.packageName} (${found.path}); set RNNLM_BUILD_FROM_SOURCE=1 to compile instead`);
    process.exit(0);
  }
  log(`no prebuilt binary fits this machine${skipped.length > 0 ? ` (${skipped.join('; ')})` : ''}: building from source (needs CMake and a C++ compiler)`);
} else {
  log('RNNLM_BUILD_FROM_SOURCE / --build-from-source: building from source');
}

const status = sourceBuild();
if (status === 0) process.exit(0);
const { found } = usablePrebuilt();
if (found !== null) {
  log(`warning: the source build failed (exit ${status}); using the prebuilt binary of ${found.packageName} instead`);
  process.exit(0);
}
log(`the source build failed (exit ${status}) and no prebuilt binary loads here. Install CMake and a C++17 compiler ` +
  '(and libopenblas-dev for a fast CPU GEMM), then run `npm rebuild rnnlm`; see docs/install.md [ERR_RNNLM_ADDON]');
process.exit(status);
