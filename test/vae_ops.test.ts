// The sentence VAE's engine ops: exp and the Gaussian KL term (values against doubles, gradients
// by central differences), and decodeScan, the step-by-step decoder: with every step reading the
// true word it must reproduce the teacher-forced path (embedding -> rnnLayer per layer ->
// linear) and its gradients; with its own predictions it must feed back exactly the argmax of
// the step before, and the teacher-forced path fed those ids must again agree in logits and
// gradients (the fed ids are constants); mixed ratios must pick each row's input from the two
// candidates with the Philox draws, repeatably.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward } from '../src/autograd.js';
import * as F from '../src/functional.js';
import * as FV from '../src/functional_vae.js';
import type { CellKind } from '../src/native.js';
import { Generator, randn } from '../src/random.js';
import { fromFloat32Array, fromInt32Array, tidy, type Tensor } from '../src/tensor.js';
import { close, throwsCode } from './api-helpers.js';

function values(t: Tensor): number[] {
  return Array.from(t.toFloat32Array());
}

test('exp matches Math.exp and its gradient is g * e^x', () => {
  const data = Float32Array.from([-3, -0.5, 0, 0.25, 2, 5]);
  const x = fromFloat32Array(data, [2, 3], { requiresGrad: true });
  const y = FV.exp(x);
  close(values(y), Array.from(data, Math.exp), 1e-6, 'exp');
  const w = fromFloat32Array(Float32Array.from([1, -2, 3, 0.5, -1, 0.1]), [2, 3]);
  backward(F.sumAll(F.mul(y, w)));
  close(values(x.grad!), Array.from(data, (v, i) => Math.exp(v) * [1, -2, 3, 0.5, -1, 0.1][i]!), 1e-5, 'dx');
});

test('gaussianKl is -0.5 sum(1 + logv - mean^2 - e^logv) per row, with central-difference gradients', () => {
  const g = new Generator(7);
  const B = 3;
  const Z = 4;
  const mean0 = randn([B, Z], { generator: g }).toFloat32Array();
  const logv0 = randn([B, Z], { generator: g }).toFloat32Array();
  const expected = Array.from({ length: B }, (_, b) => {
    let s = 0;
    for (let j = 0; j < Z; j++) {
      const m = mean0[b * Z + j]!;
      const l = logv0[b * Z + j]!;
      s += 1 + l - m * m - Math.exp(l);
    }
    return -0.5 * s;
  });
  const rowWeights = [1.5, -0.7, 2];
  const loss = (m: Float32Array, l: Float32Array): number =>
    tidy(() => {
      const kl = FV.gaussianKl(fromFloat32Array(m, [B, Z]), fromFloat32Array(l, [B, Z]));
      return values(kl).reduce((s, v, b) => s + v * rowWeights[b]!, 0);
    });
  const mean = fromFloat32Array(mean0, [B, Z], { requiresGrad: true });
  const logv = fromFloat32Array(logv0, [B, Z], { requiresGrad: true });
  const kl = FV.gaussianKl(mean, logv);
  close(values(kl), expected, 1e-5, 'kl');
  backward(F.sumAll(F.mul(kl, fromFloat32Array(Float32Array.from(rowWeights), [B]))));
  const eps = 1e-2;
  for (const [which, base, grad] of [['mean', mean0, mean.grad!], ['logv', logv0, logv.grad!]] as const) {
    const analytic = values(grad);
    for (let i = 0; i < base.length; i++) {
      const plus = Float32Array.from(base);
      const minus = Float32Array.from(base);
      plus[i]! += eps;
      minus[i]! -= eps;
      const numeric = which === 'mean' ? (loss(plus, logv0) - loss(minus, logv0)) / (plus[i]! - minus[i]!) : (loss(mean0, plus) - loss(mean0, minus)) / (plus[i]! - minus[i]!);
      assert.ok(Math.abs(numeric - analytic[i]!) < 2e-2 * Math.max(1, Math.abs(numeric)), `d${which}[${i}]: ${analytic[i]} vs numeric ${numeric}`);
    }
  }
});

test('gaussianKl rejects mismatched shapes', () => {
  throwsCode(() => FV.gaussianKl(fromFloat32Array(new Float32Array(6), [2, 3]), fromFloat32Array(new Float32Array(4), [2, 2])), 'ERR_RNNLM_SHAPE');
});

// --- decodeScan -------------------------------------------------------------------------------

interface Decoder {
  cell: CellKind;
  embedding: Tensor;
  layers: F.RnnLayerWeights[];
  outW: Tensor;
  outB: Tensor;
  h0: Tensor[];
  c0: Tensor[] | null;
  params: Tensor[];
}

const V = 9;
const E = 5;
const H = 4;

function decoder(cell: CellKind, layers: number, seed: number): Decoder {
  const g = new Generator(seed);
  const G = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
  const p = (shape: number[], scale = 0.5): Tensor => {
    const t = F.scale(randn(shape, { generator: g }), scale);
    t.requiresGrad = true;
    return t;
  };
  const B = 3;
  const d: Decoder = {
    cell,
    embedding: p([V, E], 1),
    layers: Array.from({ length: layers }, (_, l) => ({ wIh: p([G * H, l === 0 ? E : H]), wHh: p([G * H, H]), bIh: p([G * H], 0.1), bHh: p([G * H], 0.1) })),
    outW: p([V, H], 1),
    outB: p([V], 0.1),
    h0: Array.from({ length: layers }, () => p([B, H])),
    c0: cell === 'lstm' ? Array.from({ length: layers }, () => p([B, H])) : null,
    params: [],
  };
  d.params = [d.embedding, ...d.layers.flatMap((l) => [l.wIh, l.wHh, l.bIh!, l.bHh!]), d.outW, d.outB, ...d.h0, ...(d.c0 ?? [])];
  return d;
}

// Three sequences of lengths 4, 3, 1, packed (time-major, sorted): batch sizes 3, 2, 2, 1.
const BATCH_SIZES = [3, 2, 2, 1];
const INPUTS = [2, 2, 2, 5, 6, 7, 8, 3];

// The reference: the teacher-forced path fed `ids` (embedding -> layers -> linear).
function teacherForced(d: Decoder, ids: Int32Array, mask: Tensor | null): Tensor {
  let x = F.embedding(d.embedding, fromInt32Array(ids, [ids.length]));
  if (mask !== null) x = F.mul(x, mask);
  for (let l = 0; l < d.layers.length; l++) {
    x = F.rnnLayer(x, BATCH_SIZES, d.layers[l]!, { cell: d.cell, h0: d.h0[l]!, c0: d.c0?.[l] ?? null }).y;
  }
  return F.linear(x, d.outW, d.outB);
}

function gradsAfter(d: Decoder, logits: Tensor, weights: Tensor): number[][] {
  for (const p of d.params) {
    p.grad?.dispose();
    p.grad = null;
  }
  backward(F.sumAll(F.mul(logits, weights)));
  return d.params.map((p) => (p.grad === null ? [] : values(p.grad)));
}

function scan(d: Decoder, ratio: number, options: { mask?: Tensor | null; seed?: number; temperature?: number } = {}): FV.DecodeScanResult {
  return FV.decodeScan(fromInt32Array(Int32Array.from(INPUTS), [INPUTS.length]), BATCH_SIZES, { embedding: d.embedding, layers: d.layers, outW: d.outW, outB: d.outB }, {
    cell: d.cell,
    teacherRatio: ratio,
    temperature: options.temperature ?? 0,
    generator: new Generator(options.seed ?? 5),
    h0: d.h0,
    c0: d.c0,
    inputMask: options.mask ?? null,
  });
}

for (const [cell, layers] of [['gru', 2], ['lstm', 2], ['rnn_tanh', 1]] as const) {
  test(`decodeScan ${cell} x${layers}: reading every true word equals the teacher-forced path, gradients included`, () => {
    const d = decoder(cell, layers, 11);
    const weights = randn([INPUTS.length, V], { generator: new Generator(3) });
    const mask = F.dropout(fromFloat32Array(new Float32Array(INPUTS.length * E).fill(1), [INPUTS.length, E]), 0.3, true, new Generator(9));
    const r = scan(d, 1, { mask });
    assert.equal(Array.from(r.inputs.toInt32Array()), INPUTS, 'every row read its true word');
    assert.equal(Array.from(r.batchSizes), BATCH_SIZES);
    const ref = teacherForced(d, Int32Array.from(INPUTS), mask);
    close(values(r.logits), values(ref), 1e-5, 'logits');
    const gScan = gradsAfter(d, r.logits, weights);
    const gRef = gradsAfter(d, ref, weights);
    gScan.forEach((g, i) => close(g, gRef[i]!, 1e-4, `gradient of parameter ${i}`));
  });

  test(`decodeScan ${cell} x${layers}: free running feeds back the argmax, and its gradients are the teacher path's on those ids`, () => {
    const d = decoder(cell, layers, 12);
    const weights = randn([INPUTS.length, V], { generator: new Generator(4) });
    const r = scan(d, 0);
    const read = r.inputs.toInt32Array();
    const picked = r.predicted.toInt32Array();
    const logits = r.logits.toFloat32Array();
    // predicted = argmax of each row's logits
    for (let row = 0; row < INPUTS.length; row++) {
      const rowLogits = Array.from(logits.subarray(row * V, (row + 1) * V));
      assert.is(picked[row], rowLogits.indexOf(Math.max(...rowLogits)), `argmax of row ${row}`);
    }
    // step 0 reads the given ids; step t reads the pick of the same sequence at step t - 1
    let offset = 0;
    for (let t = 0; t < BATCH_SIZES.length; t++) {
      for (let b = 0; b < BATCH_SIZES[t]!; b++) {
        const expected = t === 0 ? INPUTS[b] : picked[offset - BATCH_SIZES[t - 1]! + b];
        assert.is(read[offset + b], expected, `step ${t} sequence ${b}`);
      }
      offset += BATCH_SIZES[t]!;
    }
    const ref = teacherForced(d, read, null);
    close(values(r.logits), values(ref), 1e-5, 'logits');
    const gScan = gradsAfter(d, r.logits, weights);
    const gRef = gradsAfter(d, ref, weights);
    gScan.forEach((g, i) => close(g, gRef[i]!, 1e-4, `gradient of parameter ${i}`));
  });
}

test('decodeScan with a mixed ratio reads the true word or the prediction per row, repeatably under a seed', () => {
  const d = decoder('gru', 1, 13);
  const a = scan(d, 0.5, { seed: 21 });
  const b = scan(d, 0.5, { seed: 21 });
  const readA = Array.from(a.inputs.toInt32Array());
  assert.equal(readA, Array.from(b.inputs.toInt32Array()), 'same seed, same choices');
  const picked = a.predicted.toInt32Array();
  let fromTruth = 0;
  let fromModel = 0;
  let offset = BATCH_SIZES[0]!;
  for (let t = 1; t < BATCH_SIZES.length; t++) {
    for (let r = 0; r < BATCH_SIZES[t]!; r++) {
      const truth = INPUTS[offset + r]!;
      const own = picked[offset - BATCH_SIZES[t - 1]! + r]!;
      const got = readA[offset + r]!;
      assert.ok(got === truth || got === own, `row ${offset + r} reads ${got}, neither ${truth} nor ${own}`);
      if (truth !== own) {
        if (got === truth) fromTruth++;
        else fromModel++;
      }
    }
    offset += BATCH_SIZES[t]!;
  }
  // With a ratio of 0.5 over many seeds both sources must occur.
  let sawTruth = fromTruth > 0;
  let sawModel = fromModel > 0;
  for (let seed = 0; seed < 20 && !(sawTruth && sawModel); seed++) {
    const r = scan(d, 0.5, { seed });
    const read = r.inputs.toInt32Array();
    const all = scan(d, 0, { seed }).inputs.toInt32Array();
    for (let i = BATCH_SIZES[0]!; i < INPUTS.length; i++) {
      if (read[i] === INPUTS[i] && all[i] !== INPUTS[i]) sawTruth = true;
      if (read[i] !== INPUTS[i]) sawModel = true;
    }
  }
  assert.ok(sawTruth && sawModel, 'a ratio of 0.5 mixes true words and predictions');
});

test('decodeScan stops once every sequence has produced the stop id, and samples repeatably at a temperature', () => {
  const d = decoder('gru', 1, 14);
  // Bias the output towards id 3 so that every row predicts it at once.
  const outB = fromFloat32Array(Float32Array.from({ length: V }, (_, i) => (i === 3 ? 50 : 0)), [V]);
  const full = new Int32Array(3 * 6).fill(2);
  const r = FV.decodeScan(fromInt32Array(full, [full.length]), [3, 3, 3, 3, 3, 3], { embedding: d.embedding, layers: d.layers, outW: d.outW, outB }, { cell: 'gru', stopId: 3, h0: d.h0 });
  assert.equal(Array.from(r.batchSizes), [3], 'one step ran');
  assert.equal(Array.from(r.predicted.toInt32Array()), [3, 3, 3]);
  const sample = (seed: number): number[] =>
    Array.from(FV.decodeScan(fromInt32Array(full, [full.length]), [3, 3, 3, 3, 3, 3], { embedding: d.embedding, layers: d.layers, outW: d.outW, outB: d.outB }, { cell: 'gru', temperature: 1.5, generator: new Generator(seed), h0: d.h0 }).predicted.toInt32Array());
  assert.equal(sample(8), sample(8), 'same seed, same draws');
  assert.ok([1, 2, 3, 4, 5].some((s) => sample(s).join() !== sample(8).join()), 'other seeds draw differently');
});

test('decodeScan validates its arguments', () => {
  const d = decoder('gru', 1, 15);
  const ids = fromInt32Array(Int32Array.from(INPUTS), [INPUTS.length]);
  const w = { embedding: d.embedding, layers: d.layers, outW: d.outW, outB: d.outB };
  throwsCode(() => FV.decodeScan(ids, [3, 2, 2], w, { cell: 'gru' }), 'ERR_RNNLM_SHAPE');
  throwsCode(() => FV.decodeScan(ids, BATCH_SIZES, w, { cell: 'gru', teacherRatio: 1.5 }), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => FV.decodeScan(ids, BATCH_SIZES, w, { cell: 'lstm' }), 'ERR_RNNLM_SHAPE');
  throwsCode(() => FV.decodeScan(fromInt32Array(Int32Array.from(INPUTS.map((v) => v + 20)), [INPUTS.length]), BATCH_SIZES, w, { cell: 'gru' }), 'ERR_RNNLM_INDEX');
  throwsCode(() => FV.decodeScan(ids, BATCH_SIZES, { ...w, outW: d.layers[0]!.wHh }, { cell: 'gru' }), 'ERR_RNNLM_SHAPE');
});

test.run();
