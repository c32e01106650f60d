// Modules: PyTorch state_dict names and shapes, initialisation ranges, loading, modes, and the
// recurrent layers against a plain-JS reference of PyTorch's cell equations (per sequence, so
// that packing, sorting, directions, stacking and state ordering are all exercised).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Module,
  Embedding,
  Linear,
  Dropout,
  LSTM,
  GRU,
  RNN,
  RNNBase,
  tensor,
  ones,
  tidy,
  liveTensors,
  manualSeed,
  packPaddedSequence,
  padPackedSequence,
  info,
  setGemmProvider,
  sumAll,
  add,
  type CellKind,
} from '../src/index.js';
import { setUnfusedCells } from '../src/nn/cell_path.js';
import { close, throwsCode } from './api-helpers.js';

class TinyLM extends Module {
  readonly embedding: Embedding;
  readonly rnn: LSTM;
  readonly decoder: Linear;
  constructor() {
    super();
    this.embedding = this.registerModule('embedding', new Embedding(7, 3));
    this.rnn = this.registerModule('rnn', new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 }));
    this.decoder = this.registerModule('decoder', new Linear(4, 7));
  }
}

function shapesOf(m: Module): [string, number[]][] {
  return [...m.stateDict()].map(([k, t]) => [k, [...t.shape]]);
}

test('LSTM parameter names and shapes are PyTorch nn.LSTM state_dict', () => {
  const lstm = new LSTM({ inputSize: 5, hiddenSize: 4, numLayers: 2, bidirectional: true });
  const expected: [string, number[]][] = [];
  for (const l of [0, 1]) {
    for (const suffix of ['', '_reverse']) {
      const inSize = l === 0 ? 5 : 8;
      expected.push([`weight_ih_l${l}${suffix}`, [16, inSize]]);
      expected.push([`weight_hh_l${l}${suffix}`, [16, 4]]);
      expected.push([`bias_ih_l${l}${suffix}`, [16]]);
      expected.push([`bias_hh_l${l}${suffix}`, [16]]);
    }
  }
  assert.equal(shapesOf(lstm), expected);
  assert.is(lstm.parameters().length, 16);
  assert.ok(lstm.parameters().every((p) => p.requiresGrad && p.isLeaf));
  lstm.dispose();
});

test('GRU and RNN gate counts; bias false drops the biases', () => {
  const gru = new GRU({ inputSize: 2, hiddenSize: 3 });
  assert.equal(shapesOf(gru), [
    ['weight_ih_l0', [9, 2]],
    ['weight_hh_l0', [9, 3]],
    ['bias_ih_l0', [9]],
    ['bias_hh_l0', [9]],
  ]);
  const rnn = new RNN({ inputSize: 2, hiddenSize: 3, bias: false, nonlinearity: 'relu' });
  assert.is(rnn.mode, 'rnn_relu');
  assert.equal(shapesOf(rnn), [
    ['weight_ih_l0', [3, 2]],
    ['weight_hh_l0', [3, 3]],
  ]);
  throwsCode(() => new RNN({ inputSize: 2, hiddenSize: 3, nonlinearity: 'sigmoid' as never }), 'ERR_RNNLM_ARGUMENT');
  gru.dispose();
  rnn.dispose();
});

test('nested modules name parameters with dotted prefixes', () => {
  const lm = new TinyLM();
  assert.equal(
    [...lm.stateDict().keys()],
    [
      'embedding.weight',
      'rnn.weight_ih_l0',
      'rnn.weight_hh_l0',
      'rnn.bias_ih_l0',
      'rnn.bias_hh_l0',
      'rnn.weight_ih_l1',
      'rnn.weight_hh_l1',
      'rnn.bias_ih_l1',
      'rnn.bias_hh_l1',
      'decoder.weight',
      'decoder.bias',
    ],
  );
  assert.equal(lm.namedChildren().map(([n]) => n), ['embedding', 'rnn', 'decoder']);
  assert.is(lm.parameterCount(), 7 * 3 + (16 * 3 + 16 * 4 + 32) + (16 * 4 + 16 * 4 + 32) + 28 + 7);
  lm.dispose();
});

test('initialisation: U(-1/sqrt(H), 1/sqrt(H)) for RNN weights, U(+-1/sqrt(in)) for Linear, N(0,1) embeddings', () => {
  manualSeed(1);
  const lstm = new LSTM({ inputSize: 6, hiddenSize: 16 });
  for (const p of lstm.parameters()) {
    const v = p.toArray();
    assert.ok(v.every((x) => Math.abs(x) <= 0.25), 'within 1/sqrt(16)');
    assert.ok(Math.max(...v.map(Math.abs)) > 0.2, 'spread over the range');
  }
  const lin = new Linear(100, 10);
  assert.ok(lin.weight.toArray().every((x) => Math.abs(x) <= 0.1));
  assert.ok(lin.bias!.toArray().every((x) => Math.abs(x) <= 0.1));
  const emb = new Embedding(50, 40);
  const e = emb.weight.toArray();
  const mean = e.reduce((a, b) => a + b, 0) / e.length;
  const variance = e.reduce((a, b) => a + (b - mean) ** 2, 0) / e.length;
  assert.ok(Math.abs(mean) < 0.1 && Math.abs(variance - 1) < 0.15, `mean ${mean}, variance ${variance}`);
  // The same seed gives the same weights.
  manualSeed(1);
  const again = new LSTM({ inputSize: 6, hiddenSize: 16 });
  close(again.parameters()[0]!.toArray(), lstm.parameters()[0]!.toArray(), 0);
  for (const m of [lstm, lin, emb, again]) m.dispose();
});

test('loadStateDict copies values and reports mismatches clearly', () => {
  const a = new TinyLM();
  const b = new TinyLM();
  b.loadStateDict(a.stateDict());
  for (const [name, t] of b.stateDict()) close(t.toArray(), a.stateDict().get(name)!.toArray(), 0, name);
  // The parameter objects stay the same (optimizers keep working).
  const before = b.parameters();
  b.loadStateDict(Object.fromEntries(a.stateDict()));
  assert.ok(b.parameters().every((p, i) => p === before[i]));

  const partial = new Map(a.stateDict());
  partial.delete('decoder.bias');
  partial.set('decoder.extra', a.decoder.weight);
  const e = throwsCode(() => b.loadStateDict(partial), 'ERR_RNNLM_STATE');
  assert.match(e.message, 'decoder.bias');
  assert.match(e.message, 'decoder.extra');
  const r = b.loadStateDict(partial, { strict: false });
  assert.equal(r.missing, ['decoder.bias']);
  assert.equal(r.unexpected, ['decoder.extra']);

  const wrong = new Map(a.stateDict());
  const bad = tensor(new Array(12).fill(0), [3, 4]);
  wrong.set('rnn.weight_hh_l1', bad);
  const s = throwsCode(() => b.loadStateDict(wrong), 'ERR_RNNLM_SHAPE');
  assert.match(s.message, 'rnn.weight_hh_l1');
  bad.dispose();
  a.dispose();
  b.dispose();
});

test('train() and eval() reach submodules; Dropout is the identity in eval', () => {
  const lm = new TinyLM();
  lm.eval();
  assert.is(lm.rnn.training, false);
  lm.train();
  assert.is(lm.decoder.training, true);
  const d = new Dropout(0.5).eval();
  tidy(() => close(d.forward(ones([4])).toArray(), [1, 1, 1, 1]));
  lm.dispose();
});

// --- reference recurrences --------------------------------------------------------------------

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function affine(w: number[], b: number[] | null, x: number[], rows: number): number[] {
  const cols = x.length;
  const out = new Array<number>(rows).fill(0);
  for (let r = 0; r < rows; r++) {
    let s = b !== null ? b[r]! : 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[c]!;
    out[r] = s;
  }
  return out;
}

interface DirParams {
  wIh: number[];
  wHh: number[];
  bIh: number[] | null;
  bHh: number[] | null;
}

function refDirection(
  mode: CellKind,
  p: DirParams,
  hidden: number,
  xs: number[][],
  h0: number[],
  c0: number[],
  reverse: boolean,
): { ys: number[][]; h: number[]; c: number[] } {
  const gates = mode === 'lstm' ? 4 : mode === 'gru' ? 3 : 1;
  let h = [...h0];
  let c = [...c0];
  const ys: number[][] = new Array<number[]>(xs.length);
  const order = xs.map((_, t) => t);
  if (reverse) order.reverse();
  for (const t of order) {
    const gi = affine(p.wIh, p.bIh, xs[t]!, gates * hidden);
    const gh = affine(p.wHh, p.bHh, h, gates * hidden);
    const nh = new Array<number>(hidden);
    const nc = new Array<number>(hidden);
    for (let j = 0; j < hidden; j++) {
      if (mode === 'lstm') {
        const g = (k: number): number => gi[k * hidden + j]! + gh[k * hidden + j]!;
        const i = sigmoid(g(0));
        const f = sigmoid(g(1));
        const cand = Math.tanh(g(2));
        const o = sigmoid(g(3));
        nc[j] = f * c[j]! + i * cand;
        nh[j] = o * Math.tanh(nc[j]!);
      } else if (mode === 'gru') {
        const r = sigmoid(gi[j]! + gh[j]!);
        const z = sigmoid(gi[hidden + j]! + gh[hidden + j]!);
        const n = Math.tanh(gi[2 * hidden + j]! + r * gh[2 * hidden + j]!);
        nh[j] = (1 - z) * n + z * h[j]!;
      } else {
        const a = gi[j]! + gh[j]!;
        nh[j] = mode === 'rnn_relu' ? Math.max(0, a) : Math.tanh(a);
      }
    }
    h = nh;
    if (mode === 'lstm') c = nc;
    ys[t] = h;
  }
  return { ys, h, c };
}

// Runs `net` by the reference on every sequence separately.
function refModule(
  net: RNNBase,
  inputs: number[][][],
  h0: number[][][] | null,
  c0: number[][][] | null,
): { outputs: number[][][]; hN: number[][][]; cN: number[][][] } {
  const sd = net.stateDict();
  const get = (name: string): number[] | null => sd.get(name)?.toArray() ?? null;
  const D = net.numDirections;
  const H = net.hiddenSize;
  const hN: number[][][] = [];
  const cN: number[][][] = [];
  const outputs: number[][][] = [];
  inputs.forEach((seq, b) => {
    let xs = seq;
    for (let l = 0; l < net.numLayers; l++) {
      const perDir: number[][][] = [];
      for (let d = 0; d < D; d++) {
        const k = l * D + d;
        const suffix = `l${l}${d === 1 ? '_reverse' : ''}`;
        const p: DirParams = {
          wIh: get(`weight_ih_${suffix}`)!,
          wHh: get(`weight_hh_${suffix}`)!,
          bIh: get(`bias_ih_${suffix}`),
          bHh: get(`bias_hh_${suffix}`),
        };
        const zero = new Array<number>(H).fill(0);
        const r = refDirection(net.mode, p, H, xs, h0?.[k]?.[b] ?? zero, c0?.[k]?.[b] ?? zero, d === 1);
        perDir.push(r.ys);
        (hN[k] ??= [])[b] = r.h;
        (cN[k] ??= [])[b] = r.c;
      }
      xs = xs.map((_, t) => perDir.flatMap((ys) => ys[t]!));
    }
    outputs[b] = xs;
  });
  return { outputs, hN, cN };
}

function pattern(n: number, scale: number, phase: number): number[] {
  return Array.from({ length: n }, (_, i) => scale * Math.sin(0.7 * i + phase));
}

function checkAgainstReference(net: RNNBase, lengths: number[], withState: boolean): void {
  const T = Math.max(...lengths);
  const B = lengths.length;
  const In = net.inputSize;
  const H = net.hiddenSize;
  const K = net.numLayers * net.numDirections;
  const flat = pattern(T * B * In, 1, 0.3);
  const seqs = lengths.map((len, b) => Array.from({ length: len }, (_, t) => flat.slice((t * B + b) * In, (t * B + b + 1) * In)));
  const h0v = withState ? pattern(K * B * H, 0.5, 1.1) : null;
  const c0v = withState && net.mode === 'lstm' ? pattern(K * B * H, 0.5, 2.3) : null;
  const nest = (v: number[]): number[][][] =>
    Array.from({ length: K }, (_, k) => Array.from({ length: B }, (_, b) => v.slice((k * B + b) * H, (k * B + b + 1) * H)));
  const ref = refModule(net, seqs, h0v && nest(h0v), c0v && nest(c0v));
  tidy(() => {
    const x = tensor(flat, [T, B, In]);
    const hx = { h0: h0v && tensor(h0v, [K, B, H]), c0: c0v && tensor(c0v, [K, B, H]) };
    const padded = net.forward(x, hx, lengths);
    const packed = net.forward(packPaddedSequence(x, lengths, { enforceSorted: false }), hx);
    const unpacked = padPackedSequence(packed.output).padded;
    const W = net.numDirections * H;
    const expected = new Array<number>(T * B * W).fill(0);
    ref.outputs.forEach((ys, b) => ys.forEach((y, t) => expected.splice((t * B + b) * W, W, ...y)));
    close(padded.output.toArray(), expected, 1e-4, 'padded output');
    close(unpacked.toArray(), expected, 1e-4, 'packed output');
    close(padded.hN.toArray(), ref.hN.flat(2), 1e-4, 'hN');
    close(packed.hN.toArray(), ref.hN.flat(2), 1e-4, 'hN (packed)');
    if (net.mode === 'lstm') close(padded.cN!.toArray(), ref.cN.flat(2), 1e-4, 'cN');
    else assert.is(padded.cN, null);
  });
}

test('LSTM 2 layers bidirectional, unsorted lengths, h0/c0: matches the reference', () => {
  manualSeed(3);
  const net = new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true });
  checkAgainstReference(net, [2, 4, 3], true);
  checkAgainstReference(net, [4, 4], false);
  setUnfusedCells(net, true);
  checkAgainstReference(net, [2, 4, 3], true);
  net.dispose();
});

test('GRU bidirectional and RNN relu/tanh match the reference', () => {
  manualSeed(4);
  for (const net of [
    new GRU({ inputSize: 3, hiddenSize: 3, numLayers: 2, bidirectional: true }),
    new RNN({ inputSize: 2, hiddenSize: 3, nonlinearity: 'relu' }),
    new RNN({ inputSize: 2, hiddenSize: 3, numLayers: 2, bias: false }),
  ]) {
    checkAgainstReference(net, [3, 1, 2], true);
    setUnfusedCells(net, true);
    checkAgainstReference(net, [3, 1, 2], false);
    net.dispose();
  }
});

test('padded input without lengths, and the built-in GEMM gives the same results', () => {
  manualSeed(5);
  const net = new LSTM({ inputSize: 4, hiddenSize: 5 });
  checkAgainstReference(net, [3, 3, 3], false);
  if (info().gemmProvider === 'blas') {
    setGemmProvider('builtin');
    try {
      checkAgainstReference(net, [3, 2, 3], true);
    } finally {
      setGemmProvider('blas');
    }
  }
  net.dispose();
});

test('input and state shapes are checked with clear errors', () => {
  const net = new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2 });
  tidy(() => {
    throwsCode(() => net.forward(ones([4, 2, 5])), 'ERR_RNNLM_SHAPE');
    throwsCode(() => net.forward(ones([4, 3])), 'ERR_RNNLM_SHAPE');
    throwsCode(() => net.forward(ones([4, 2, 3]), ones([1, 2, 2])), 'ERR_RNNLM_SHAPE');
    const gru = new GRU({ inputSize: 3, hiddenSize: 2 });
    throwsCode(() => gru.forward(ones([4, 2, 3]), { c0: ones([1, 2, 2]) }), 'ERR_RNNLM_ARGUMENT');
    gru.dispose();
  });
  net.dispose();
});

test('dropout between layers is active in training only', () => {
  manualSeed(6);
  const net = new LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2, dropout: 0.5 });
  tidy(() => {
    const x = tensor(pattern(5 * 2 * 3, 1, 0), [5, 2, 3]);
    net.eval();
    const a = net.forward(x).output.toArray();
    const b = net.forward(x).output.toArray();
    close(a, b, 0);
    net.train();
    const c = net.forward(x).output.toArray();
    assert.ok(c.some((v, i) => Math.abs(v - a[i]!) > 1e-6), 'training output differs');
  });
  net.dispose();
});

test('gradients reach every parameter, h0 and c0; nothing leaks', () => {
  const before = liveTensors();
  const net = new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true });
  const h0 = tensor(pattern(4 * 3 * 2, 0.3, 0), [4, 3, 2], { requiresGrad: true });
  const c0 = tensor(pattern(4 * 3 * 2, 0.3, 1), [4, 3, 2], { requiresGrad: true });
  tidy(() => {
    const x = tensor(pattern(4 * 3 * 3, 1, 0.5), [4, 3, 3]);
    const r = net.forward(x, [h0, c0], [4, 2, 3]);
    add(sumAll(r.output), sumAll(r.hN)).backward();
  });
  for (const [name, p] of net.stateDict()) {
    assert.ok(p.grad !== null, `${name} has a gradient`);
    assert.ok(p.grad!.toArray().some((v) => v !== 0), `${name} gradient is not all zero`);
  }
  assert.ok(h0.grad!.toArray().some((v) => v !== 0));
  assert.ok(c0.grad!.toArray().some((v) => v !== 0));
  net.dispose();
  h0.dispose();
  c0.dispose();
  assert.is(liveTensors(), before);
});

test.run();
