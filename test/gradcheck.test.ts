// Finite-difference gradient checks of every differentiable op and of whole recurrent stacks,
// plus agreement checks between fused and unfused cells and between the built-in and BLAS GEMMs.
//
// The loss is L = sum_k sum(output_k * W_k) with fixed random W_k, accumulated in JS doubles.
// The numerical gradient is the central difference (L(x + e) - L(x - e)) / (x+e - (x-e)) with the
// perturbed values rounded to float32 (the engine computes in float32, hence e ~ 1e-2); it must
// match the autograd gradient within 2e-2 of the gradient's scale (max |grad|, at least 0.1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GRU,
  Generator,
  LSTM,
  RNN,
  add,
  concatCols,
  concatRows,
  dropout,
  embedding,
  fromFloat32Array,
  fromInt32Array,
  gatherRows,
  linear,
  mul,
  noGrad,
  packSequence,
  padPackedSequence,
  reshape,
  rnnLayer,
  scale,
  sliceCols,
  sliceRows,
  softmaxNll,
  sumAll,
  tidy,
  type CellKind,
  type RNNBase,
  type Tensor,
  type RnnLayerResult,
} from '../src/index.js';
import { setUnfusedCells, withUnfusedCells } from '../src/nn/cell_path.js';
import { ErrorLog, gemmProviders, maxAbsDiff, normals, rng, uniforms, withGemm } from './golden-helpers.js';

const log = new ErrorLog();

interface Value {
  data: Float32Array;
  shape: number[];
}

const val = (data: Float32Array, shape: number[]): Value => ({ data, shape });

type Outputs = readonly (Tensor | null | undefined)[];

interface CheckOptions {
  eps?: number;
  tol?: number;
  /** Inputs not to differentiate (still passed to run). */
  constant?: readonly string[];
  /** Where the gradient of input `name` lands after backward (default: the input tensor). */
  gradOf?: (name: string, inputs: Record<string, Tensor>) => Tensor;
  /** Called before each evaluation (e.g. to clear module gradients). */
  reset?: () => void;
  seed?: number;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function makeInputs(values: Record<string, Value>, requiresGrad: (name: string) => boolean): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(values)) {
    out[name] = fromFloat32Array(v.data, v.shape, { requiresGrad: requiresGrad(name) });
  }
  return out;
}

function weightedSum(outputs: Outputs, weights: Float32Array[]): number {
  let s = 0;
  outputs.forEach((o, k) => {
    if (o == null) return;
    const d = o.toFloat32Array();
    const w = weights[k]!;
    for (let i = 0; i < d.length; i++) s += d[i]! * w[i]!;
  });
  return s;
}

/**
 * Checks d(sum_k out_k * W_k)/d(input) for every float input against central differences.
 * Returns the worst relative error.
 */
function gradcheck(label: string, values: Record<string, Value>, run: (inputs: Record<string, Tensor>) => Outputs, options: CheckOptions = {}): number {
  const eps = options.eps ?? 1e-2;
  const tol = options.tol ?? 2e-2;
  const constant = new Set(options.constant ?? []);
  const next = rng(options.seed ?? 12345);
  const differentiable = Object.keys(values).filter((n) => !constant.has(n));

  // Output shapes, then fixed random weights for them.
  const weights = tidy(() =>
    noGrad(() => {
      options.reset?.();
      return run(makeInputs(values, () => false)).map((o) => (o == null ? new Float32Array(0) : normals(next, o.numel)));
    }),
  );

  // Analytical gradients.
  const analytic = tidy(() => {
    options.reset?.();
    const inputs = makeInputs(values, (n) => !constant.has(n));
    const outputs = run(inputs);
    let loss: Tensor | null = null;
    outputs.forEach((o, k) => {
      if (o == null) return;
      const term = sumAll(mul(o, fromFloat32Array(weights[k]!, o.shape)));
      loss = loss === null ? term : add(loss, term);
    });
    assert.ok(loss !== null, `${label}: no outputs`);
    (loss as unknown as Tensor).backward();
    const grads: Record<string, Float32Array> = {};
    for (const name of differentiable) {
      const holder = options.gradOf ? options.gradOf(name, inputs) : inputs[name]!;
      const g = holder.grad;
      grads[name] = g === null ? new Float32Array(product(values[name]!.shape)) : g.toFloat32Array();
    }
    return grads;
  });

  const evaluate = (name: string, i: number, x: number): number =>
    tidy(() =>
      noGrad(() => {
        options.reset?.();
        const data = Float32Array.from(values[name]!.data);
        data[i] = x;
        const inputs = makeInputs({ ...values, [name]: val(data, values[name]!.shape) }, () => false);
        return weightedSum(run(inputs), weights);
      }),
    );

  let worst = 0;
  for (const name of differentiable) {
    const v = values[name]!;
    const ana = analytic[name]!;
    const num = new Float64Array(v.data.length);
    for (let i = 0; i < v.data.length; i++) {
      const x0 = v.data[i]!;
      const xp = Math.fround(x0 + eps);
      const xm = Math.fround(x0 - eps);
      num[i] = (evaluate(name, i, xp) - evaluate(name, i, xm)) / (xp - xm);
    }
    let scaleOf = 0.1;
    for (let i = 0; i < ana.length; i++) scaleOf = Math.max(scaleOf, Math.abs(ana[i]!), Math.abs(num[i]!));
    const rel = maxAbsDiff(ana, num) / scaleOf;
    log.note(label, name, rel);
    worst = Math.max(worst, rel);
    if (!(rel <= tol)) {
      let at = 0;
      for (let i = 0; i < ana.length; i++) if (Math.abs(ana[i]! - num[i]!) > Math.abs(ana[at]! - num[at]!)) at = i;
      assert.unreachable(
        `${label}: d/d${name} relative error ${rel.toExponential(2)} > ${tol} (worst at ${at}: autograd ${ana[at]}, numerical ${num[at]}, scale ${scaleOf})`,
      );
    }
  }
  return worst;
}

// --- element-wise, rows and columns ---------------------------------------------------------

const r0 = rng(7);
const rand = (shape: number[], std = 1): Value => val(normals(r0, product(shape), std), shape);
const unif = (shape: number[], low: number, high: number): Value => val(uniforms(r0, product(shape), low, high), shape);

test('gradcheck mul', () => {
  gradcheck('mul', { a: rand([3, 4]), b: rand([3, 4]) }, ({ a, b }) => [mul(a!, b!)]);
});

test('gradcheck add, scale, sumAll, reshape', () => {
  gradcheck('add/scale/sumAll/reshape', { a: rand([2, 6]), b: rand([2, 6]) }, ({ a, b }) => {
    const y = add(scale(a!, -1.5), b!, 0.75);
    return [reshape(y, [3, 4]), sumAll(mul(a!, b!))];
  });
});

test('gradcheck gatherRows (repeated rows and -1)', () => {
  const idx = Int32Array.from([4, 0, 0, -1, 2, 4, 4]);
  gradcheck('gatherRows', { x: rand([5, 3]) }, ({ x }) => [gatherRows(x!, idx)]);
  gradcheck('gatherRows 3-d', { x: rand([4, 2, 3]) }, ({ x }) => [gatherRows(x!, [3, 1, 3])]);
});

test('gradcheck concatCols and sliceCols', () => {
  gradcheck('concatCols', { a: rand([3, 2]), b: rand([3, 4]), c: rand([3, 1]) }, ({ a, b, c }) => [concatCols([a!, b!, c!])]);
  gradcheck('sliceCols', { x: rand([3, 6]) }, ({ x }) => [sliceCols(x!, 2, 3), sliceCols(x!, 0, 1), sliceCols(x!, 5, 1)]);
});

test('gradcheck concatRows and sliceRows', () => {
  gradcheck('concatRows', { a: rand([2, 3]), b: rand([1, 3]) }, ({ a, b }) => [concatRows([a!, b!])]);
  gradcheck('sliceRows', { x: rand([5, 2]) }, ({ x }) => [sliceRows(x!, 1, 3)]);
});

// --- layers ---------------------------------------------------------------------------------

test('gradcheck embedding (repeated ids)', () => {
  const ids = Int32Array.from([0, 2, 2, 4, 2, 1]);
  gradcheck('embedding', { w: rand([5, 3]) }, ({ w }) => [embedding(w!, fromInt32Array(ids, [2, 3]))]);
});

test('gradcheck linear (2-d and 3-d input, with and without bias)', () => {
  gradcheck('linear', { x: rand([4, 3]), w: rand([5, 3], 0.5), b: rand([5]) }, ({ x, w, b }) => [linear(x!, w!, b!)]);
  gradcheck('linear 3-d', { x: rand([2, 3, 3]), w: rand([2, 3], 0.5), b: rand([2]) }, ({ x, w, b }) => [linear(x!, w!, b!)]);
  gradcheck('linear no bias', { x: rand([4, 3]), w: rand([2, 3], 0.5) }, ({ x, w }) => [linear(x!, w!)]);
});

test('gradcheck dropout (fixed seed)', () => {
  const zerosSeen = tidy(() => {
    const y = dropout(fromFloat32Array(new Float32Array(40).fill(1), [4, 10]), 0.3, true, new Generator(99));
    return y.toArray().filter((v) => v === 0).length;
  });
  assert.ok(zerosSeen > 0 && zerosSeen < 40, `dropout(0.3) zeroed ${zerosSeen} of 40`);
  gradcheck('dropout p=0.3', { x: rand([4, 10]) }, ({ x }) => [dropout(x!, 0.3, true, new Generator(99))]);
});

test('gradcheck softmaxNll (mean and sum, ignored targets)', () => {
  const targets = Int32Array.from([1, -100, 4, 0, 3, 3]);
  for (const reduction of ['mean', 'sum'] as const) {
    gradcheck(`softmaxNll ${reduction}`, { logits: rand([6, 5], 2) }, ({ logits }) => {
      const r = softmaxNll(logits!, fromInt32Array(targets, [6]), { reduction });
      return [r.loss];
    });
  }
  const custom = Int32Array.from([1, 2, 4, 2, 3, 0]);
  gradcheck('softmaxNll ignoreIndex 2', { logits: rand([6, 5], 2) }, ({ logits }) => [
    softmaxNll(logits!, fromInt32Array(custom, [6]), { ignoreIndex: 2 }).loss,
  ]);
});

// --- the layer op -----------------------------------------------------------------------------

const cells: CellKind[] = ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'];
const gatesOf = (cell: CellKind): number => (cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1);

function layerValues(cell: CellKind, batch: number, inSize: number, hidden: number): Record<string, Value> {
  const g = gatesOf(cell) * hidden;
  const values: Record<string, Value> = {
    x: rand([0, inSize]),
    wIh: unif([g, inSize], -0.7, 0.7),
    wHh: unif([g, hidden], -0.7, 0.7),
    bIh: unif([g], -0.5, 0.5),
    bHh: unif([g], -0.5, 0.5),
    h0: rand([batch, hidden], 0.5),
  };
  if (cell === 'lstm') values['c0'] = rand([batch, hidden], 0.5);
  return values;
}

function runLayer(cell: CellKind, batchSizes: Int32Array, reverse: boolean, fused: boolean) {
  return (t: Record<string, Tensor>): Outputs => {
    const run = (): RnnLayerResult =>
      rnnLayer(t['x']!, batchSizes, { wIh: t['wIh']!, wHh: t['wHh']!, bIh: t['bIh']!, bHh: t['bHh']! }, {
        cell,
        reverse,
        h0: t['h0']!,
        c0: t['c0'] ?? null,
      });
    const r = fused ? run() : withUnfusedCells(run);
    return [r.y, r.hN, r.cN];
  };
}

for (const cell of cells) {
  for (const fused of [true, false]) {
    const kind = fused ? 'fused' : 'unfused';
    // relu has kinks: a smaller step keeps the differences off them
    const eps = cell === 'rnn_relu' ? 1e-3 : 1e-2;
    test(`gradcheck rnnLayer ${cell} ${kind}, one step`, () => {
      const values = layerValues(cell, 3, 4, 3);
      values['x'] = rand([3, 4]);
      gradcheck(`rnnLayer ${cell} ${kind} 1 step`, values, runLayer(cell, Int32Array.from([3]), false, fused), { eps });
    });
    for (const reverse of [false, true]) {
      test(`gradcheck rnnLayer ${cell} ${kind}${reverse ? ' reverse' : ''}, packed steps [3,3,2,1]`, () => {
        const batchSizes = Int32Array.from([3, 3, 2, 1]);
        const values = layerValues(cell, 3, 2, 3);
        values['x'] = rand([9, 2]);
        gradcheck(`rnnLayer ${cell} ${kind}${reverse ? ' reverse' : ''} packed`, values, runLayer(cell, batchSizes, reverse, fused), { eps });
      });
    }
  }
}

// --- whole stacks -----------------------------------------------------------------------------

function makeStack(cell: CellKind, options: { inputSize: number; hiddenSize: number; numLayers: number; bidirectional: boolean }): RNNBase {
  const o = { ...options, generator: new Generator(2024) };
  if (cell === 'lstm') return new LSTM(o);
  if (cell === 'gru') return new GRU(o);
  return new RNN({ ...o, nonlinearity: cell === 'rnn_relu' ? 'relu' : 'tanh' });
}

function paramValues(module: RNNBase): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [name, t] of module.stateDict()) out[`p:${name}`] = val(t.toFloat32Array(), [...t.shape]);
  return out;
}

// Runs `module` over packed sequences (lengths in original order, unsorted) with h0 (and c0);
// parameters come from the inputs named p:<state_dict name>.
function runStack(module: RNNBase, lengths: number[]) {
  return (t: Record<string, Tensor>): Outputs => {
    const state: Record<string, Tensor> = {};
    for (const [name, x] of Object.entries(t)) if (name.startsWith('p:')) state[name.slice(2)] = x;
    noGrad(() => module.loadStateDict(state));
    const seqs = lengths.map((_, j) => t[`seq${j}`]!);
    const packed = packSequence(seqs, { enforceSorted: false });
    const hx = module.mode === 'lstm' ? ([t['h0']!, t['c0']!] as const) : t['h0']!;
    const r = module.forward(packed, hx);
    const { padded } = padPackedSequence(r.output);
    return [r.output.data, padded, r.hN, r.cN];
  };
}

function stackValues(module: RNNBase, lengths: number[]): Record<string, Value> {
  const d = module.numDirections;
  const values: Record<string, Value> = { ...paramValues(module) };
  lengths.forEach((len, j) => (values[`seq${j}`] = rand([len, module.inputSize])));
  values['h0'] = rand([module.numLayers * d, lengths.length, module.hiddenSize], 0.5);
  if (module.mode === 'lstm') values['c0'] = rand([module.numLayers * d, lengths.length, module.hiddenSize], 0.5);
  return values;
}

const stackCells: CellKind[] = ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'];
for (const cell of stackCells) {
  test(`gradcheck 2-layer bidirectional ${cell} stack over a packed batch (lengths 2,4,3)`, () => {
    const lengths = [2, 4, 3];
    const module = makeStack(cell, { inputSize: 3, hiddenSize: 3, numLayers: 2, bidirectional: true });
    try {
      const values = stackValues(module, lengths);
      gradcheck(`stack ${cell} 2x bidir packed`, values, runStack(module, lengths), {
        eps: cell === 'rnn_relu' ? 1e-3 : 1e-2,
        gradOf: (name, inputs) => (name.startsWith('p:') ? module.stateDict().get(name.slice(2))! : inputs[name]!),
        reset: () => module.zeroGrad(),
      });
    } finally {
      module.dispose();
    }
  });
}

// --- fused against unfused, built-in GEMM against BLAS ------------------------------------------

// Outputs and gradients (parameters, sequences, h0, c0) of one forward/backward of a stack.
function stackResults(module: RNNBase, values: Record<string, Value>, lengths: number[], weightsSeed: number): Map<string, Float32Array> {
  return tidy(() => {
    module.zeroGrad();
    const inputs: Record<string, Tensor> = {};
    for (const [name, v] of Object.entries(values)) {
      inputs[name] = fromFloat32Array(v.data, v.shape, { requiresGrad: !name.startsWith('p:') });
    }
    const outputs = runStack(module, lengths)(inputs);
    const next = rng(weightsSeed);
    let loss: Tensor | null = null;
    const results = new Map<string, Float32Array>();
    outputs.forEach((o, k) => {
      if (o == null) return;
      results.set(`out${k}`, o.toFloat32Array());
      const term = sumAll(mul(o, fromFloat32Array(normals(next, o.numel), o.shape)));
      loss = loss === null ? term : add(loss, term);
    });
    (loss as unknown as Tensor).backward();
    for (const [name, t] of module.stateDict()) results.set(`grad ${name}`, t.grad!.toFloat32Array());
    for (const [name, t] of Object.entries(inputs)) if (!name.startsWith('p:')) results.set(`grad ${name}`, t.grad!.toFloat32Array());
    return results;
  });
}

function compareResults(label: string, a: Map<string, Float32Array>, b: Map<string, Float32Array>, tol: number): void {
  assert.equal([...a.keys()].sort(), [...b.keys()].sort(), `${label}: same results`);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    let scaleOf = 1;
    for (let i = 0; i < x.length; i++) scaleOf = Math.max(scaleOf, Math.abs(x[i]!));
    const err = maxAbsDiff(x, y) / scaleOf;
    log.note(label, name, err);
    if (!(err <= tol)) assert.unreachable(`${label}: ${name} differs by ${err.toExponential(2)} (relative to ${scaleOf}) > ${tol}`);
  }
}

for (const cell of stackCells) {
  test(`fused and unfused ${cell} stacks agree (outputs, states, every gradient)`, () => {
    const lengths = [7, 3, 5, 1, 7];
    const module = makeStack(cell, { inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true });
    try {
      const values = stackValues(module, lengths);
      setUnfusedCells(module, false);
      const fused = stackResults(module, values, lengths, 77);
      setUnfusedCells(module, true);
      const unfused = stackResults(module, values, lengths, 77);
      compareResults(`fused vs unfused ${cell}`, fused, unfused, 1e-5);
    } finally {
      module.dispose();
    }
  });
}

const providers = gemmProviders();
test('built-in GEMM and BLAS GEMM agree (linear and LSTM/GRU stacks)', () => {
  if (providers.length < 2) {
    console.log('  (this build has no BLAS: only the built-in GEMM to compare)');
    return;
  }
  // linear with awkward sizes (not multiples of any block size), and one with K past the
  // BLAS's K-blocking (below it OpenBLAS and the built-in kernel can agree bit for bit)
  for (const [n, k, m] of [
    [67, 129, 71],
    [64, 1030, 200],
  ] as const) {
    const x = rand([n, k]);
    const w = rand([m, k], 0.1);
    const b = rand([m]);
    const dy = rand([n, m]);
    const linearResults = (): Map<string, Float32Array> =>
      tidy(() => {
        const xt = fromFloat32Array(x.data, x.shape, { requiresGrad: true });
        const wt = fromFloat32Array(w.data, w.shape, { requiresGrad: true });
        const bt = fromFloat32Array(b.data, b.shape, { requiresGrad: true });
        const y = linear(xt, wt, bt);
        sumAll(mul(y, fromFloat32Array(dy.data, dy.shape))).backward();
        return new Map([
          ['y', y.toFloat32Array()],
          ['dx', xt.grad!.toFloat32Array()],
          ['dw', wt.grad!.toFloat32Array()],
          ['db', bt.grad!.toFloat32Array()],
        ]);
      });
    const lb = withGemm('blas', linearResults);
    const li = withGemm('builtin', linearResults);
    compareResults(`GEMM blas vs builtin: linear ${n}x${k}x${m}`, lb, li, 1e-5);
  }

  for (const cell of ['lstm', 'gru'] as CellKind[]) {
    const lengths = [90, 40, 60, 90, 20];
    const module = makeStack(cell, { inputSize: 600, hiddenSize: 37, numLayers: 2, bidirectional: true });
    try {
      const values = stackValues(module, lengths);
      const sb = withGemm('blas', () => stackResults(module, values, lengths, 5));
      const si = withGemm('builtin', () => stackResults(module, values, lengths, 5));
      compareResults(`GEMM blas vs builtin: ${cell} stack`, sb, si, 1e-5);
    } finally {
      module.dispose();
    }
  }
});

test('gradcheck: report of the largest relative errors', () => {
  if (process.env['RNNLM_GOLDEN_REPORT'] !== undefined) log.print('gradcheck / agreement: max relative error per check (worst input)');
});

test.run();
