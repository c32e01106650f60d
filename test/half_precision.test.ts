// Half-precision weights from PyTorch: every F16 and BF16 bit pattern widens to the float32 that a
// bit-level reference and PyTorch's .float() give; F16 and BF16 checkpoints that PyTorch wrote
// (model.half() / .to(torch.bfloat16), test/fixtures/interchange/half_*, from
// scripts/interchange.py) of every model kind load through the normal loaders and the CLI and
// give the outputs PyTorch computes from the rounded weights, and stay within the first-order
// effect of the rounding of the float32 model's outputs; saving writes F32.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadClassifier } from '../src/checkpoint/classifier_checkpoint.js';
import { loadLanguageModel, readCheckpoint, saveLanguageModel } from '../src/checkpoint/index.js';
import { loadSentenceVae } from '../src/checkpoint/vae_checkpoint.js';
import { bfloat16ToFloat32, halfToFloat32 } from '../src/io/half_float.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { fromInt32Array, liveTensors, tidy } from '../src/tensor.js';
import { throwsCode } from './api-helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(root, 'test', 'fixtures', 'interchange');
const HALF_DTYPES = ['F16', 'BF16'] as const;
type HalfDType = (typeof HALF_DTYPES)[number];

// --- the conversion ---------------------------------------------------------------------------

/** Value of an F16 bit pattern from its definition (float64 arithmetic). */
function referenceHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** Value of a BF16 bit pattern from its definition (float64 arithmetic). */
function referenceBfloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 7) & 0xff;
  const mantissa = bits & 0x7f;
  if (exponent === 0) return sign * mantissa * 2 ** -133;
  if (exponent === 0xff) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (128 + mantissa) * 2 ** (exponent - 134);
}

const ALL_PATTERNS = Uint16Array.from({ length: 65536 }, (_, i) => i);
const CONVERSIONS = {
  F16: { widen: halfToFloat32, reference: referenceHalf, mantissaBits: 10 },
  BF16: { widen: bfloat16ToFloat32, reference: referenceBfloat16, mantissaBits: 7 },
} as const;

for (const dtype of HALF_DTYPES) {
  test(`${dtype}: all 65536 bit patterns widen exactly (subnormals, -0, infinities, NaN payloads) and as PyTorch's .float()`, () => {
    const { widen, reference, mantissaBits } = CONVERSIONS[dtype];
    const got = widen(ALL_PATTERNS);
    const gotBits = new Uint32Array(got.buffer, got.byteOffset, got.length);
    let nans = 0;
    for (let i = 0; i < 65536; i++) {
      const want = reference(i);
      if (Number.isNaN(want)) {
        nans++;
        assert.ok(Number.isNaN(got[i]!), `${dtype} 0x${i.toString(16)} is NaN`);
        // Sign and payload kept (F16's quiet bit set, as PyTorch does).
        const payload = (i & ((1 << mantissaBits) - 1)) << (23 - mantissaBits);
        const quiet = dtype === 'F16' ? 0x400000 : 0;
        assert.is(gotBits[i], ((i & 0x8000) << 16 | 0x7f800000 | quiet | payload) >>> 0, `${dtype} 0x${i.toString(16)} NaN bits`);
      } else {
        assert.ok(Math.fround(want) === want, 'every value is a float32');
        assert.ok(Object.is(got[i], want), `${dtype} 0x${i.toString(16)}: ${got[i]} should be ${want}`);
      }
    }
    assert.is(nans, dtype === 'F16' ? 2 * 1023 : 2 * 127);
    const torch = JSON.parse(readFileSync(join(FIXTURES, 'half_float_bits.json'), 'utf8')) as { sha256: Record<HalfDType, string> };
    const digest = createHash('sha256').update(new Uint8Array(got.buffer, got.byteOffset, got.byteLength)).digest('hex');
    assert.is(digest, torch.sha256[dtype], 'bit for bit what PyTorch computes');
  });
}

test('known values: F16 1, 65504, 2^-14 (smallest normal), 2^-24 (smallest subnormal); BF16 1, largest, 2^-133', () => {
  assert.equal(Array.from(halfToFloat32(Uint16Array.from([0x3c00, 0x7bff, 0x0400, 0x0001, 0x8001, 0xc000, 0x3555]))), [
    1, 65504, 2 ** -14, 2 ** -24, -(2 ** -24), -2, 0.333251953125,
  ]);
  assert.equal(Array.from(bfloat16ToFloat32(Uint16Array.from([0x3f80, 0x7f7f, 0x0001, 0xc040, 0x3eab]))), [
    1, 3.3895313892515355e38, 2 ** -133, -3, 0.333984375,
  ]);
  assert.equal(halfToFloat32(new Uint16Array(0)).length, 0);
});

// --- PyTorch-written checkpoints --------------------------------------------------------------

interface Matrix {
  shape: number[];
  data: number[];
}

interface HalfFixture {
  meta: { kind: 'language_model' | 'sentence_vae' | 'classifier'; cell: string; dtype: HalfDType };
  inputs: Matrix | number[][];
  /** What PyTorch computes (float64) from the rounded weights. */
  outputs: Matrix;
  /** The same from the float32 weights before rounding. */
  outputs_f32: Matrix;
  /** First-order bound on |outputs - outputs_f32| from the dtype's rounding of every weight. */
  bound: Matrix;
}

const LM_CELLS = ['lstm', 'gru', 'rnn', 'rnn_relu'];
const FOLDERS = HALF_DTYPES.flatMap((dtype) => {
  const d = dtype.toLowerCase();
  return [...LM_CELLS.map((cell) => `half_lm_${cell}_${d}`), `half_vae_${d}`, `half_classifier_${d}`];
});

// rnnlm computes in float32; PyTorch's reference is float64 rounded to float32. Logits and class
// scores are O(1); a sentence's summed NLL is O(50), so it gets a relative tolerance.
const ABS_TOLERANCE = 2e-6;
const REL_TOLERANCE = 1e-6;
// The bound is first order in the rounding; the second-order rest is O(u^2) (u = 2^-8 for BF16).
const BOUND_SLACK = 1.05;

function readFixture(folder: string): HalfFixture {
  return JSON.parse(readFileSync(join(FIXTURES, `${folder}.json`), 'utf8')) as HalfFixture;
}

/** rnnlm's outputs for the fixture's inputs, through the loader of its kind. */
function rnnlmOutputs(dir: string, fixture: HalfFixture): number[] {
  const before = liveTensors();
  let out: number[];
  if (fixture.meta.kind === 'language_model') {
    const { model } = loadLanguageModel(dir);
    const ids = fixture.inputs as Matrix;
    out = tidy(() => Array.from(model.forward(fromInt32Array(Int32Array.from(ids.data), ids.shape), null).logits.toFloat32Array()));
    model.dispose();
  } else if (fixture.meta.kind === 'sentence_vae') {
    const { model } = loadSentenceVae(dir);
    out = (fixture.inputs as number[][]).flatMap((sentence) =>
      tidy(() => {
        const { nll, kl } = model.forward([sentence], { z: 'mean' });
        return [nll.item(), kl.item()];
      }),
    );
    model.dispose();
  } else {
    const { model } = loadClassifier(dir);
    out = tidy(() => Array.from(model.forwardIds(fixture.inputs as number[][]).toFloat32Array()));
    model.dispose();
  }
  assert.is(liveTensors(), before, 'no tensor leaked');
  return out;
}

for (const folder of FOLDERS) {
  test(`${folder}: PyTorch's checkpoint loads and gives PyTorch's outputs from the rounded weights`, () => {
    const fixture = readFixture(folder);
    const dir = join(FIXTURES, folder);
    const stored = readCheckpoint(dir, { trainer: false }).weights;
    for (const [name, t] of stored) assert.is(t.dtype, fixture.meta.dtype, `${name} is stored as ${fixture.meta.dtype}`);
    const got = rnnlmOutputs(dir, fixture);
    assert.is(got.length, fixture.outputs.data.length);
    let drift = 0;
    for (let i = 0; i < got.length; i++) {
      const want = fixture.outputs.data[i]!;
      const tolerance = Math.max(ABS_TOLERANCE, REL_TOLERANCE * Math.abs(want));
      assert.ok(Math.abs(got[i]! - want) <= tolerance, `output ${i}: rnnlm ${got[i]}, PyTorch ${want}`);
      // The rounding moved the outputs, by no more than it can.
      const moved = Math.abs(got[i]! - fixture.outputs_f32.data[i]!);
      const limit = BOUND_SLACK * fixture.bound.data[i]! + tolerance;
      assert.ok(moved <= limit, `output ${i} moved ${moved} from the float32 model's, more than the ${limit} rounding allows`);
      drift = Math.max(drift, moved);
    }
    assert.ok(drift > 0, 'the outputs differ from the float32 model: the stored weights were rounded');
  });
}

test('half checkpoints re-encode to the same bytes (dtype order F16 after BF16 after the 4-byte types)', () => {
  for (const folder of FOLDERS) {
    const path = join(FIXTURES, folder, 'model.safetensors');
    const bytes = readFileSync(path);
    const { tensors, metadata } = decodeSafetensors(bytes, path);
    assert.ok(encodeSafetensors(tensors, metadata).equals(bytes), `${path}: re-encoded bytes differ`);
  }
});

const scratch = mkdtempSync(join(tmpdir(), 'rnnlm-half-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('saving a model loaded from a half checkpoint writes F32 holding the widened values', () => {
  const source = join(FIXTURES, 'half_lm_gru_bf16');
  const { model, vocab } = loadLanguageModel(source);
  const dir = join(scratch, 'resaved');
  saveLanguageModel(dir, model, { vocab });
  model.dispose();
  const saved = readCheckpoint(dir).weights;
  for (const [name, t] of readCheckpoint(source).weights) {
    const again = saved.get(name)!;
    assert.is(again.dtype, 'F32', name);
    assert.equal(Array.from(again.data as Float32Array), Array.from(bfloat16ToFloat32(t.data as Uint16Array)), name);
  }
});

test('NaN and infinity in F16 / BF16 weights are refused with the value and the element', () => {
  for (const [folder, bits, shown] of [
    ['half_lm_rnn_f16', 0x7e00, 'NaN'],
    ['half_classifier_bf16', 0xff80, '-Infinity'],
  ] as const) {
    const dir = join(scratch, folder);
    cpSync(join(FIXTURES, folder), dir, { recursive: true });
    const path = join(dir, 'model.safetensors');
    const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
    (tensors.get('embedding.weight')!.data as Uint16Array)[3] = bits;
    writeFileSync(path, encodeSafetensors(tensors, metadata));
    const load = folder.includes('classifier') ? () => loadClassifier(dir) : () => loadLanguageModel(dir);
    const e = throwsCode(load, 'ERR_RNNLM_CHECKPOINT');
    assert.ok(e.message.includes(`tensor 'embedding.weight' holds ${shown} at element 3`), e.message);
  }
});

test('an integer tensor where a weight belongs is refused, naming the float dtypes that load', () => {
  const dir = join(scratch, 'ints');
  cpSync(join(FIXTURES, 'half_lm_rnn_f16'), dir, { recursive: true });
  const path = join(dir, 'model.safetensors');
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  tensors.set('decoder.bias', { dtype: 'I32', shape: [13], data: new Int32Array(13) });
  writeFileSync(path, encodeSafetensors(tensors, metadata));
  const e = throwsCode(() => loadLanguageModel(dir), 'ERR_RNNLM_CHECKPOINT');
  assert.ok(e.message.includes("'decoder.bias' is I32, expected F32 (or F64, F16, BF16, which load as float32)"), e.message);
});

// --- the CLI ----------------------------------------------------------------------------------

const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

function rnnlm(...args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: scratch,
    encoding: 'utf8',
    env: { ...process.env, RNNLM_THREADS: '1' },
  });
  assert.is(r.status, 0, `rnnlm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('CLI: sample and eval a BF16 language model; eval is within rounding of the float32 one', () => {
  const half = join(FIXTURES, 'half_lm_lstm_bf16');
  const text = rnnlm('sample', '-c', half, '--prime', 'the ', '-n', '20', '--seed', '3');
  assert.ok(text.startsWith('the ') && [...text].length === 4 + 20 + 1, text);
  const data = join(scratch, 'text.txt');
  writeFileSync(data, 'the cat sat on the hat\nthe hen is in the shed\n');
  const scored = JSON.parse(rnnlm('eval', '-c', half, '--data', data, '--json')) as { nll: number; tokens: number };
  const exact = JSON.parse(rnnlm('eval', '-c', join(FIXTURES, 'torch_lstm'), '--data', data, '--json')) as { nll: number };
  assert.is(scored.tokens, 45);
  assert.ok(Number.isFinite(scored.nll) && Math.abs(scored.nll - exact.nll) < 1e-2, `${scored.nll} vs ${exact.nll}`);
});

test('CLI: vae sample from an F16 sentence VAE; classify predict with a BF16 classifier gives PyTorch\'s top class', () => {
  const rows = rnnlm('vae', 'sample', '-c', join(FIXTURES, 'half_vae_f16'), '-n', '2', '--seed', '1', '--json').trim().split('\n');
  assert.is(rows.length, 2);
  for (const row of rows) assert.type((JSON.parse(row) as { text: unknown }).text, 'string');

  const folder = 'half_classifier_bf16';
  const fixture = readFixture(folder);
  const tokens = (JSON.parse(readFileSync(join(FIXTURES, folder, 'vocab.json'), 'utf8')) as { tokens: string[] }).tokens;
  const labels = (JSON.parse(readFileSync(join(FIXTURES, folder, 'config.json'), 'utf8')) as { labels: string[] }).labels;
  // Sequences without the unknown-character token 0, which has no text of its own.
  const texts = (fixture.inputs as number[][]).map((ids, row) => ({ ids, row })).filter(({ ids }) => !ids.includes(0));
  assert.ok(texts.length > 0);
  const out = rnnlm('classify', 'predict', '-c', join(FIXTURES, folder), ...texts.map(({ ids }) => ids.map((i) => tokens[i]).join('')), '--json');
  const predictions = out.trim().split('\n').map((l) => JSON.parse(l) as { predictions: { label: string; probability: number }[] });
  const C = labels.length;
  texts.forEach(({ row }, k) => {
    const scores = fixture.outputs.data.slice(row * C, (row + 1) * C);
    const best = scores.indexOf(Math.max(...scores));
    const top = predictions[k]!.predictions[0]!;
    assert.is(top.label, labels[best]);
    const p = 1 / scores.reduce((sum, s) => sum + Math.exp(s - scores[best]!), 0);
    assert.ok(Math.abs(top.probability - p) < 1e-5, `${top.probability} vs ${p}`);
  });
});

test.run();
