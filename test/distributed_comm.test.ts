// The data-parallel communication layer (src/distributed/comm.ts, native/distributed): real
// two-rank jobs under Open MPI's mpirun running test/fixtures/distributed/comm_job.mjs against the
// built library (dist/), the fault cases (a stalled rank, a rank that exits or is killed, a rank
// that passes other tensors) ending the job in bounded time with the rank named, and the NCCL path
// on the emulated addon's single-rank stand-in. Skipped with a message where mpirun is absent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addonPath } from '../src/native.js';
import { distributedInfo, initDistributed, mpirunWorldSize } from '../src/distributed/comm.js';
import { resolveBucketBytes, resolveTimeoutMs } from '../src/distributed/launch.js';
import { emulatedAddonPath } from './support/cuda_emulation.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const job = fileURLToPath(new URL('./fixtures/distributed/comm_job.mjs', import.meta.url));
const builtLibrary = existsSync(fileURLToPath(new URL('../dist/distributed/comm.js', import.meta.url)));
const hasMpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const mpiCompiled = distributedInfo().mpi.compiled;

interface JobResult {
  status: number | null;
  output: string;
  seconds: number;
}

/** `mpirun -np N node comm_job.mjs <scenario>`, killed after 90 s so that a hang fails instead of waiting. */
function runJob(np: number, scenario: string, env: Record<string, string> = {}): JobResult {
  const started = Date.now();
  const result = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), process.execPath, job, scenario], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RNNLM_THREADS: '1', ...env },
    timeout: 90_000,
    killSignal: 'SIGKILL',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}`, seconds: (Date.now() - started) / 1000 };
}

/** Runs `body` when mpirun, MPI support and dist/ are all there; else says why it is skipped. */
function mpiTest(name: string, body: () => void): void {
  test(name, () => {
    if (!hasMpirun) return console.log(`  (skipped "${name}": mpirun not found; apt-get install openmpi-bin libopenmpi-dev)`);
    if (!mpiCompiled) return console.log(`  (skipped "${name}": ${distributedInfo().mpi.reason})`);
    if (!builtLibrary) return console.log(`  (skipped "${name}": dist/ is not built; run npx tsc -p tsconfig.json)`);
    body();
  });
}

/** A fault job: it failed, within `bound` seconds (not the 90 s kill), and said `expected`. */
function assertEnded(result: JobResult, expected: readonly string[], bound = 30): void {
  assert.ok(result.status !== 0 && result.status !== null, `the job should fail, got status ${result.status}:\n${result.output}`);
  assert.ok(result.seconds < bound, `the job took ${result.seconds} s (bound ${bound} s):\n${result.output}`);
  for (const text of expected) assert.ok(result.output.includes(text), `expected "${text}" in:\n${result.output}`);
  assert.not.ok(/passed the/.test(result.output), `a rank went past the failed collective:\n${result.output}`);
}

test('initDistributed is null outside mpirun; timeouts and buckets come from options, then the environment', () => {
  const saved = process.env['OMPI_COMM_WORLD_SIZE'];
  delete process.env['OMPI_COMM_WORLD_SIZE'];
  try {
    assert.is(initDistributed({ device: 'cpu' }), null);
    assert.is(initDistributed({ device: 'cuda' }), null);
  } finally {
    if (saved !== undefined) process.env['OMPI_COMM_WORLD_SIZE'] = saved;
  }
  assert.is(mpirunWorldSize({}), null);
  assert.is(mpirunWorldSize({ OMPI_COMM_WORLD_SIZE: '4' }), 4);
  assert.is(mpirunWorldSize({ OMPI_COMM_WORLD_SIZE: 'x' }), null);
  assert.is(resolveTimeoutMs(undefined, {}), 120_000);
  assert.is(resolveTimeoutMs(undefined, { RNNLM_DIST_TIMEOUT_MS: '2500' }), 2500);
  assert.is(resolveTimeoutMs(700, { RNNLM_DIST_TIMEOUT_MS: '2500' }), 700);
  assert.throws(() => resolveTimeoutMs(undefined, { RNNLM_DIST_TIMEOUT_MS: '-1' }), (e: { code?: string }) => e.code === 'ERR_RNNLM_ARGUMENT');
  assert.is(resolveBucketBytes(undefined, {}), 25 * 1024 * 1024);
  assert.is(resolveBucketBytes(undefined, { RNNLM_DIST_BUCKET_BYTES: '64' }), 64);
});

test('distributedInfo and `rnnlm info` report MPI and NCCL support', () => {
  const info = distributedInfo();
  for (const part of [info.mpi, info.nccl]) {
    assert.type(part.compiled, 'boolean');
    assert.type(part.available, 'boolean');
    if (part.available) {
      assert.ok(part.compiled);
      assert.type(part.library, 'string');
      assert.type(part.version, 'string');
      assert.is(part.reason, null);
    } else {
      assert.type(part.reason, 'string');
    }
  }
  if (info.mpi.available) assert.match(info.mpi.version ?? '', /^Open MPI v\d+\.\d+/);
  if (info.nccl.available) assert.match(info.nccl.version ?? '', /^NCCL \d+\.\d+\.\d+$/);
  if (hasMpirun && info.mpi.compiled) assert.ok(info.mpi.available, `mpirun is installed but libmpi did not load: ${info.mpi.reason}`);
  if (!builtLibrary) return;
  const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  const json = spawnSync(process.execPath, [main, 'info', '--json'], { cwd: root, encoding: 'utf8' });
  assert.is(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { backend: string; distributed: typeof info };
  assert.type(report.backend, 'string');
  assert.equal(report.distributed, info);
  const text = spawnSync(process.execPath, [main, 'info'], { cwd: root, encoding: 'utf8' });
  assert.match(text.stdout, /^mpi +(Open MPI v|- \()/m);
  assert.match(text.stdout, /^nccl +(NCCL |- \()/m);
});

test('the addon does not link libmpi or libnccl (both are loaded at run time)', () => {
  const nm = spawnSync('nm', ['-D', '--undefined-only', addonPath()], { encoding: 'utf8' });
  if (nm.status !== 0) return console.log('  (skipped: nm not available)');
  const imported = nm.stdout.split('\n').filter((line) => /\b(MPI_|PMPI_|ompi_|nccl)/.test(line));
  assert.equal(imported, [], 'symbols the addon would need from libmpi / libnccl at load time');
});

mpiTest('two ranks: all-reduce over several buckets, scale, numbers, broadcast, JSON, barrier, ranks', () => {
  const result = runJob(2, 'collectives');
  assert.is(result.status, 0, result.output);
  assert.ok(result.output.includes('rank 0 ok') && result.output.includes('rank 1 ok'), result.output);
});

mpiTest('a rank that stalls past the 2 s deadline ends the job with one line naming it', () => {
  assertEnded(runJob(2, 'stall', { STALL_RANK: '1' }), ['rnnlm: rank 1 did not reach all-reduce #2 within 2 s (stalled or dead); ending the job']);
});

mpiTest('rank 0 stalling is named by the other ranks', () => {
  assertEnded(runJob(2, 'stall', { STALL_RANK: '0' }), ['rnnlm: rank 0 did not reach all-reduce #2 within 2 s (stalled or dead); ending the job']);
});

mpiTest('a rank that exits mid-job ends the job at once (the others wait on a 600 s deadline)', () => {
  assertEnded(runJob(2, 'exit'), ['rnnlm: rank 1 exited with code 3; mpirun ends the job']);
});

mpiTest('a rank killed with SIGKILL mid-job ends the job at once', () => {
  assertEnded(runJob(2, 'sigkill'), ['rank 1', 'signal 9']);
});

mpiTest('ranks passing different tensors to one all-reduce end the job with the reason', () => {
  assertEnded(runJob(2, 'mismatch'), ['rnnlm: rank 1 passed other tensors or values to all-reduce #1 than rank 0 did']);
});

mpiTest('abort(message) ends every rank with the message', () => {
  assertEnded(runJob(2, 'abort'), ['rnnlm: rank 1 gives up on purpose']);
});

mpiTest('NCCL path on the emulated addon: the single-rank stand-in reduces and broadcasts CUDA tensors', () => {
  const emu = emulatedAddonPath();
  if (!existsSync(emu)) {
    return console.log('  (skipped: no emulated addon; build it with npx cmake-js compile --out build-emu --CDRNNLM_CUDA_EMULATION=ON)');
  }
  const one = runJob(1, 'nccl', { RNNLM_ADDON: emu });
  assert.is(one.status, 0, one.output);
  assert.ok(one.output.includes("rank 0 ok (the CUDA emulator's single-rank NCCL stand-in)"), one.output);
  const two = runJob(2, 'nccl-world', { RNNLM_ADDON: emu });
  assertEnded(two, ['ERR_RNNLM_DISTRIBUTED', 'serves a world of one rank only']);
});

test.run();
