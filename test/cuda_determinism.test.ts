// Training on the CUDA backend is deterministic: the same seed gives the same bytes (weights,
// optimizer state, metrics, samples) run after run, and --resume continues bit for bit.
// On a machine with a usable GPU the short training runs twice on it. Without one, it runs on the
// CUDA kernels compiled for the emulator (build-emu), once with blocks and threads scheduled in
// grid order and once the other way round: a sum whose order depends on which block runs first
// (float atomics) gives other bits there, as it would from one GPU run to the next.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emulatedAddonPath } from './support/cuda_emulation.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src', 'cli', 'main.ts');
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const work = mkdtempSync(join(tmpdir(), 'rnnlm-determinism-'));

type Env = Record<string, string>;

function rnnlm(env: Env, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', tsx, main, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, RNNLM_THREADS: '1', ...env } });
}

/** The two runs to compare: on the GPU twice, or on the emulator in both schedules; null: neither. */
function sides(): { device: string; first: Env; second: Env } | null {
  const info = rnnlm({}, 'info', '--json');
  if (info.status === 0 && (JSON.parse(info.stdout) as { cuda: unknown }).cuda !== null) {
    return { device: 'GPU', first: {}, second: {} };
  }
  const emulated = emulatedAddonPath();
  if (!existsSync(emulated)) return null;
  return {
    device: 'emulated CUDA (grid order, then reversed)',
    first: { RNNLM_ADDON: emulated, RNNLM_EMU_SCHEDULE: 'forward' },
    second: { RNNLM_ADDON: emulated, RNNLM_EMU_SCHEDULE: 'reverse' },
  };
}

// Short lines over a small alphabet: every batch repeats ids, so the embedding gradient sums
// several positions into one row (where an order-dependent sum shows).
const corpus = join(work, 'corpus.txt');
writeFileSync(corpus, Array.from({ length: 200 }, (_, i) => `abc ${'cab'.repeat(1 + (i % 3))} ${i % 7}`).join('\n') + '\n');
const recipe = ['--data', corpus, '--device', 'cuda', '--embedding', '8', '--hidden', '16', '--layers', '2', '--dropout', '0.2', '--batch', '4', '--seq', '12', '--valid-every', '3', '--sample-every', '0', '--seed', '11'];

function trainedBytes(env: Env, out: string, steps: number): Record<string, Buffer> {
  const r = rnnlm(env, 'train', ...recipe, '--steps', String(steps), '--out', out);
  assert.is(r.status, 0, r.stderr);
  const files: Record<string, Buffer> = {};
  for (const f of ['model.safetensors', 'optimizer.safetensors']) files[f] = readFileSync(join(work, out, 'last', f));
  // The metrics without their wall-clock fields.
  files['metrics'] = Buffer.from(
    readFileSync(join(work, out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.stringify({ ...(JSON.parse(l) as object), time: 0, tokens_per_s: 0 }))
      .join('\n'),
  );
  return files;
}

const chosen = sides();

test('the same seed trains to the same bytes on the CUDA backend, and resume continues bit for bit', () => {
  if (chosen === null) {
    console.log('  (skipped: no usable GPU and no emulated addon; build it with npx cmake-js compile --out build-emu --CDRNNLM_CUDA_EMULATION=ON)');
    return;
  }
  console.log(`  (device: ${chosen.device})`);
  const a = trainedBytes(chosen.first, 'a', 6);
  const b = trainedBytes(chosen.second, 'b', 6);
  for (const f of Object.keys(a)) assert.ok(a[f]!.equals(b[f]!), `${f} differs between the two runs`);

  // 3 steps, then --resume to 6: the same bytes as the uninterrupted run.
  trainedBytes(chosen.second, 'c', 3);
  const resumed = rnnlm(chosen.second, 'train', '--resume', 'c', '--steps', '6');
  assert.is(resumed.status, 0, resumed.stderr);
  for (const f of ['model.safetensors', 'optimizer.safetensors']) {
    assert.ok(readFileSync(join(work, 'c', 'last', f)).equals(a[f]!), `${f} after --resume differs from the straight run`);
  }

  // Samples from the trained model, same seed, both sides.
  const sample = (env: Env): string => {
    const r = rnnlm({ ...env, RNNLM_DEVICE: 'cuda' }, 'sample', '-c', 'a', '-n', '40', '--seed', '3', '-t', '0.9');
    assert.is(r.status, 0, r.stderr);
    return r.stdout;
  };
  assert.is(sample(chosen.first), sample(chosen.second));
});

test.run();
