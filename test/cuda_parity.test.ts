// Parity of the CUDA backend with the CPU backend: every op, and whole training steps of
// LSTM / GRU / RNN language models (packed, bidirectional, dropout), agree within
// 1e-5 absolute + 1e-5 relative.
//
// Without a GPU the CUDA kernels run in the CPU emulator (build-emu/Release/rnnlm_emu.node, see
// docs/cuda.md); its 'cuda' device is the emulated backend and its 'cpu' device the regular one,
// so one addon holds both sides. When the regular addon has a usable GPU, the same op suite runs
// there too, at larger sizes. Each part says when it skips.
//
// The training steps go through the library (LanguageModel, nn.LSTM, optimizers), which loads
// its addon once per process; they run in a child process started with RNNLM_ADDON pointing at
// the addon under test, and this file is that child when RNNLM_PARITY_CHILD is set.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { emulatedAddonPath, loadEmulatedAddon, type CudaAddon } from './support/cuda_emulation.js';
import { addonPath, native, type CellKind, type NativeAddon, type NativeLayerForward, type NativeLayerSpec, type NativeLayerWeights, type NativeTensor } from '../src/native.js';

const ATOL = 1e-5;
const RTOL = 1e-5;
const THIS_FILE = fileURLToPath(import.meta.url);
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

// --- sizes ------------------------------------------------------------------------------------

interface Sizes {
  label: string;
  /** rows x cols of the element-wise and row tests */
  rows: number;
  cols: number;
  /** a length that spans many blocks, for the reductions */
  long: number;
  vocab: number;
  embedding: number;
  input: number;
  hidden: number;
  /** a packed layout with sequences ending at different steps */
  batchSizes: number[];
}

// Small enough for the emulator (every CUDA thread is a fiber), yet several blocks wide.
const EMULATED: Sizes = {
  label: 'emulated',
  rows: 9,
  cols: 37,
  long: 3000,
  vocab: 41,
  embedding: 6,
  input: 7,
  hidden: 5,
  batchSizes: [4, 4, 3, 1, 1],
};

const GPU: Sizes = {
  label: 'gpu',
  rows: 333,
  cols: 1031,
  long: (1 << 22) + 17,
  vocab: 10007,
  embedding: 128,
  input: 200,
  hidden: 256,
  batchSizes: [...Array<number>(30).fill(64), 50, 50, 33, 17, 17, 8, 1],
};

// --- helpers ------------------------------------------------------------------------------------

// mulberry32: reproducible data without depending on either backend's generator.
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  floats(n: number, lo = -1, hi = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * this.next();
    return a;
  }
  ints(n: number, lo: number, hi: number): Int32Array {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + Math.floor((hi - lo) * this.next());
    return a;
  }
}

interface Pair {
  cpu: NativeTensor;
  cuda: NativeTensor;
}

function values(t: NativeTensor): Float32Array | Int32Array {
  const buf = t.toArrayBuffer();
  return t.dtype === 'int32' ? new Int32Array(buf) : new Float32Array(buf);
}

// Worst |a - e| / (ATOL + RTOL |e|) seen per suite, printed at the end (<= 1 passes).
const worst = new Map<string, { ratio: number; what: string }>();

function expectArraysClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, exact = false): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  let ratio = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    const err = Math.abs(a - e);
    const ok = exact ? a === e : err <= ATOL + RTOL * Math.abs(e);
    if (!ok) assert.unreachable(`${what}[${i}]: cuda ${a}, cpu ${e} (|diff| ${err}, tolerance ${ATOL} + ${RTOL} |cpu|)`);
    ratio = Math.max(ratio, err / (ATOL + RTOL * Math.abs(e)));
  }
  const prev = worst.get(label);
  if (prev === undefined || ratio > prev.ratio) worst.set(label, { ratio, what });
}

/** The CUDA tensor matches the CPU tensor: device, shape, dtype and values. */
function expectClose(label: string, cuda: NativeTensor | null, cpu: NativeTensor | null, what: string, exact = false): void {
  if (cuda === null || cpu === null) {
    assert.is(cuda === null, cpu === null, `${what}: presence`);
    return;
  }
  assert.is(cuda.device, 'cuda', `${what}: device`);
  assert.is(cpu.device, 'cpu', `${what}: device`);
  assert.equal(cuda.shape, cpu.shape, `${what}: shape`);
  assert.is(cuda.dtype, cpu.dtype, `${what}: dtype`);
  expectArraysClose(label, values(cuda), values(cpu), what, exact || cpu.dtype === 'int32');
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

// --- the op suite ----------------------------------------------------------------------------

function registerOpSuite(name: string, n: NativeAddon, z: Sizes): void {
  const s = suite(name);
  const rng = new Rng(20240601);
  const L = z.label;
  const f32 = (shape: number[], lo = -1, hi = 1): Pair => {
    const data = rng.floats(shape.reduce((a, b) => a * b, 1), lo, hi);
    return { cpu: n.fromTypedArray(data, shape, 'cpu'), cuda: n.fromTypedArray(data, shape, 'cuda') };
  };
  const i32 = (data: Int32Array, shape: number[] = [data.length]): Pair => ({
    cpu: n.fromTypedArray(data, shape, 'cpu'),
    cuda: n.fromTypedArray(data, shape, 'cuda'),
  });
  const same = (p: Pair, what: string, exact = false): void => expectClose(L, p.cuda, p.cpu, what, exact);

  s('memory: host round trips, zeros, clone, copies across devices', () => {
    const x = f32([z.rows, z.cols]);
    same(x, 'fromTypedArray f32', true);
    same(i32(rng.ints(z.cols, -5, 1000)), 'fromTypedArray i32', true);
    same({ cpu: n.zeros([z.rows, 3], 'float32', 'cpu'), cuda: n.zeros([z.rows, 3], 'float32', 'cuda') }, 'zeros', true);
    same({ cpu: n.clone(x.cpu), cuda: n.clone(x.cuda) }, 'clone', true);
    same({ cpu: n.toDevice(x.cuda, 'cpu'), cuda: n.toDevice(x.cpu, 'cuda') }, 'toDevice', true);
    const empty = n.empty([0, 4], 'float32', 'cuda');
    assert.equal(empty.shape, [0, 4]);
    assert.is(values(empty).length, 0);
  });

  s('element-wise: fill_, add_, scale_, mul, sumAll', () => {
    const a = f32([z.rows, z.cols]);
    const b = f32([z.rows, z.cols]);
    for (const d of ['cpu', 'cuda'] as const) {
      n.add_(a[d], b[d], -0.75);
      n.scale_(b[d], 1.5);
    }
    same(a, 'add_');
    same(b, 'scale_');
    same({ cpu: n.mul(a.cpu, b.cpu), cuda: n.mul(a.cuda, b.cuda) }, 'mul');
    const long = f32([z.long]);
    same({ cpu: n.sumAll(long.cpu), cuda: n.sumAll(long.cuda) }, 'sumAll (many blocks)');
    same({ cpu: n.sumAll(a.cpu), cuda: n.sumAll(a.cuda) }, 'sumAll');
    const fi = { cpu: n.empty([z.cols], 'int32', 'cpu'), cuda: n.empty([z.cols], 'int32', 'cuda') };
    const ff = { cpu: n.empty([z.rows, 3], 'float32', 'cpu'), cuda: n.empty([z.rows, 3], 'float32', 'cuda') };
    for (const d of ['cpu', 'cuda'] as const) {
      n.fill_(fi[d], -7);
      n.fill_(ff[d], 2.5);
    }
    same(fi, 'fill_ i32', true);
    same(ff, 'fill_ f32', true);
  });

  s('rows and columns: gather, scatter-add with duplicates, concat, slice', () => {
    const x = f32([z.rows, z.cols]);
    const idxData = rng.ints(z.rows + 5, -1, z.rows);
    idxData[0] = -1;
    idxData[1] = idxData[2] = 3;
    const idx = i32(idxData);
    same({ cpu: n.gatherRows(x.cpu, idx.cpu), cuda: n.gatherRows(x.cuda, idx.cuda) }, 'gatherRows f32');
    const xi = i32(rng.ints(z.rows * 3, -100, 100), [z.rows, 3]);
    same({ cpu: n.gatherRows(xi.cpu, idx.cpu), cuda: n.gatherRows(xi.cuda, idx.cuda) }, 'gatherRows i32');
    const src = f32([idxData.length, z.cols]);
    for (const d of ['cpu', 'cuda'] as const) n.scatterAddRows_(x[d], idx[d], src[d]);
    same(x, 'scatterAddRows_');
    const p0 = f32([z.rows, 3]);
    const p1 = f32([z.rows, 0]);
    const p2 = f32([z.rows, z.cols]);
    same({ cpu: n.concatCols([p0.cpu, p1.cpu, p2.cpu]), cuda: n.concatCols([p0.cuda, p1.cuda, p2.cuda]) }, 'concatCols', true);
    same({ cpu: n.concatCols([xi.cpu, xi.cpu]), cuda: n.concatCols([xi.cuda, xi.cuda]) }, 'concatCols i32', true);
    same({ cpu: n.sliceCols(p2.cpu, 2, z.cols - 5), cuda: n.sliceCols(p2.cuda, 2, z.cols - 5) }, 'sliceCols', true);
    same({ cpu: n.concatRows([p0.cpu, p0.cpu]), cuda: n.concatRows([p0.cuda, p0.cuda]) }, 'concatRows', true);
    same({ cpu: n.sliceRows(p2.cpu, 1, z.rows - 2), cuda: n.sliceRows(p2.cuda, 1, z.rows - 2) }, 'sliceRows', true);
  });

  s('random: uniform_ and normal_ draw the CPU stream', () => {
    const u = { cpu: n.empty([z.long], 'float32', 'cpu'), cuda: n.empty([z.long], 'float32', 'cuda') };
    const g = { cpu: n.empty([z.long], 'float32', 'cpu'), cuda: n.empty([z.long], 'float32', 'cuda') };
    for (const d of ['cpu', 'cuda'] as const) {
      n.uniform_(u[d], -0.3, 0.7, 123456789n, 42);
      n.normal_(g[d], 0.5, 2, 987654321n, 7);
    }
    same(u, 'uniform_');
    same(g, 'normal_');
  });

  s('dropout: the same mask as the CPU, bit for bit', () => {
    const x = f32([z.rows, z.cols]);
    for (const p of [0, 0.3, 1]) {
      const c = n.dropoutForward(x.cpu, p, 99, 3);
      const g = n.dropoutForward(x.cuda, p, 99, 3);
      expectClose(L, g.mask, c.mask, `dropout mask p=${p}`, true);
      expectClose(L, g.y, c.y, `dropout y p=${p}`);
    }
  });

  s('embedding forward and backward (repeated ids)', () => {
    const w = f32([z.vocab, z.embedding]);
    const idsData = rng.ints(z.rows * 4, 0, z.vocab);
    idsData[1] = idsData[0]!;
    idsData[5] = idsData[0]!;
    const ids = i32(idsData, [z.rows, 4]);
    same({ cpu: n.embeddingForward(w.cpu, ids.cpu), cuda: n.embeddingForward(w.cuda, ids.cuda) }, 'embeddingForward', true);
    const dy = f32([z.rows, 4, z.embedding]);
    same({ cpu: n.embeddingBackward(dy.cpu, ids.cpu, z.vocab), cuda: n.embeddingBackward(dy.cuda, ids.cuda, z.vocab) }, 'embeddingBackward');
  });

  s('linear forward and backward, with and without bias', () => {
    const x = f32([z.rows, z.input]);
    const w = f32([z.hidden * 3, z.input]);
    const b = f32([z.hidden * 3]);
    const dy = f32([z.rows, z.hidden * 3]);
    for (const bias of [true, false]) {
      const yc = n.linearForward(x.cpu, w.cpu, bias ? b.cpu : null);
      const yg = n.linearForward(x.cuda, w.cuda, bias ? b.cuda : null);
      expectClose(L, yg, yc, `linearForward bias=${bias}`);
      for (const needDx of [true, false]) {
        const c = n.linearBackward(dy.cpu, x.cpu, w.cpu, bias, needDx);
        const g = n.linearBackward(dy.cuda, x.cuda, w.cuda, bias, needDx);
        expectClose(L, g.dx, c.dx, `linear dx bias=${bias} needDx=${needDx}`);
        expectClose(L, g.dw, c.dw, 'linear dw');
        expectClose(L, g.db, c.db, 'linear db');
      }
    }
    const x0 = f32([0, z.input]);
    const c0 = n.linearBackward(f32([0, 4]).cpu, x0.cpu, f32([4, z.input]).cpu, true, true);
    const w4 = n.toDevice(c0.dw, 'cuda');
    assert.is(values(w4).every((v) => v === 0), true, 'dw of an empty batch is zero');
  });

  s('softmax-NLL (mean, sum, ignore_index, all ignored) and log-softmax', () => {
    for (const v of [z.vocab, 3, 1000]) {
      const logits = f32([z.rows, v], -4, 4);
      const targetData = rng.ints(z.rows, 0, v);
      targetData[2] = -100;
      const targets = i32(targetData);
      for (const reduction of ['mean', 'sum'] as const) {
        const c = n.softmaxNll(logits.cpu, targets.cpu, -100, reduction);
        const g = n.softmaxNll(logits.cuda, targets.cuda, -100, reduction);
        expectClose(L, g.loss, c.loss, `softmaxNll loss V=${v} ${reduction}`);
        expectClose(L, g.count, c.count, 'softmaxNll count', true);
        expectClose(L, g.dlogits, c.dlogits, `softmaxNll dlogits V=${v} ${reduction}`);
      }
      same({ cpu: n.logSoftmax(logits.cpu), cuda: n.logSoftmax(logits.cuda) }, `logSoftmax V=${v}`);
    }
    const logits = f32([3, 5]);
    const ignored = i32(new Int32Array([7, 7, 7]));
    const c = n.softmaxNll(logits.cpu, ignored.cpu, 7, 'mean');
    const g = n.softmaxNll(logits.cuda, ignored.cuda, 7, 'mean');
    assert.ok(Number.isNaN(values(g.loss)[0]!) && Number.isNaN(values(c.loss)[0]!), 'mean over no targets is NaN');
    expectClose(L, g.dlogits, c.dlogits, 'dlogits with every target ignored', true);
  });

  s('gradient norm and clipping (below and above the threshold)', () => {
    const ts = [f32([z.rows, z.cols]), f32([z.long]), f32([3])];
    same({ cpu: n.globalNorm(ts.map((t) => t.cpu)), cuda: n.globalNorm(ts.map((t) => t.cuda)) }, 'globalNorm');
    for (const maxNorm of [1e6, 0.5]) {
      const c = n.clipGradNorm_(ts.map((t) => t.cpu), maxNorm);
      const g = n.clipGradNorm_(ts.map((t) => t.cuda), maxNorm);
      expectClose(L, g, c, `clipGradNorm_ norm (max ${maxNorm})`);
      ts.forEach((t, i) => same(t, `clipped tensor ${i} (max ${maxNorm})`));
    }
  });

  s('optimizers: Adam / AdamW, SGD (momentum, Nesterov), RMSprop (centered, momentum)', () => {
    const shape = [z.rows, z.cols];
    const adamCases = [
      { weightDecay: 0, decoupledWeightDecay: false },
      { weightDecay: 0.01, decoupledWeightDecay: false },
      { weightDecay: 0.01, decoupledWeightDecay: true },
    ];
    for (const wd of adamCases) {
      const p = f32(shape);
      const m = f32(shape, 0, 0.1);
      const v2 = f32(shape, 0, 0.1);
      for (const step of [1, 2, 3]) {
        const g = f32(shape);
        const o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, step, ...wd };
        n.adamStep_(p.cpu, g.cpu, m.cpu, v2.cpu, o);
        n.adamStep_(p.cuda, g.cuda, m.cuda, v2.cuda, o);
      }
      same(p, `adam param ${JSON.stringify(wd)}`);
      same(m, 'adam exp_avg');
      same(v2, 'adam exp_avg_sq');
    }
    const sgdCases = [
      { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
      { momentum: 0.9, dampening: 0.1, weightDecay: 1e-3, nesterov: false },
      { momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true },
    ];
    for (const c of sgdCases) {
      const p = f32(shape);
      const buf = f32(shape);
      for (const step of [1, 2]) {
        const g = f32(shape);
        const o = { lr: 0.1, step, ...c };
        n.sgdStep_(p.cpu, g.cpu, c.momentum ? buf.cpu : null, o);
        n.sgdStep_(p.cuda, g.cuda, c.momentum ? buf.cuda : null, o);
      }
      same(p, `sgd param ${JSON.stringify(c)}`);
      if (c.momentum) same(buf, 'sgd momentum buffer');
    }
    for (const centered of [false, true]) {
      for (const momentum of [0, 0.5]) {
        const p = f32(shape);
        const sq = f32(shape, 0, 0.1);
        const ga = f32(shape, -0.01, 0.01);
        const buf = f32(shape);
        for (let step = 0; step < 2; step++) {
          const g = f32(shape);
          const o = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0.01, momentum, centered };
          n.rmspropStep_(p.cpu, g.cpu, sq.cpu, centered ? ga.cpu : null, momentum ? buf.cpu : null, o);
          n.rmspropStep_(p.cuda, g.cuda, sq.cuda, centered ? ga.cuda : null, momentum ? buf.cuda : null, o);
        }
        same(p, `rmsprop param centered=${centered} momentum=${momentum}`);
        same(sq, 'rmsprop square_avg');
        if (centered) same(ga, 'rmsprop grad_avg');
        if (momentum) same(buf, 'rmsprop momentum buffer');
      }
    }
  });

  // Every cell, fused and unfused, both directions, a packed batch whose sequences end at
  // different steps, initial states and final-state gradients present or absent.
  const cells: CellKind[] = ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'];
  for (const cell of cells) {
    s(`recurrent layer ${cell}: forward and backward, fused and unfused, both directions`, () => {
      const G = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
      const H = z.hidden;
      const N = z.batchSizes.reduce((a, b) => a + b, 0);
      const B = z.batchSizes[0]!;
      const lstm = cell === 'lstm';
      for (const variant of [
        { fused: true, reverse: false, bias: true, states: true },
        { fused: true, reverse: true, bias: true, states: true },
        { fused: false, reverse: false, bias: true, states: true },
        { fused: false, reverse: true, bias: true, states: false },
        { fused: true, reverse: true, bias: false, states: false },
      ]) {
        const what = `${cell} ${JSON.stringify(variant)}`;
        const spec: NativeLayerSpec = { cell, reverse: variant.reverse, fused: variant.fused, batchSizes: Int32Array.from(z.batchSizes) };
        const x = f32([N, z.input]);
        const bound = 1 / Math.sqrt(H); // PyTorch's initialisation: activations stay in range at any H
        const wIh = f32([G * H, z.input], -bound, bound);
        const wHh = f32([G * H, H], -bound, bound);
        const bIh = f32([G * H]);
        const bHh = f32([G * H]);
        const h0 = f32([B, H]);
        const c0 = f32([B, H]);
        const weights = (d: 'cpu' | 'cuda'): NativeLayerWeights => ({
          wIh: wIh[d],
          wHh: wHh[d],
          bIh: variant.bias ? bIh[d] : null,
          bHh: variant.bias ? bHh[d] : null,
        });
        const run = (d: 'cpu' | 'cuda'): NativeLayerForward =>
          n.rnnLayerForward(spec, x[d], weights(d), variant.states ? h0[d] : null, variant.states && lstm ? c0[d] : null);
        const fc = run('cpu');
        const fg = run('cuda');
        expectClose(L, fg.y, fc.y, `${what} y`);
        expectClose(L, fg.hN, fc.hN, `${what} hN`);
        expectClose(L, fg.cN, fc.cN, `${what} cN`);
        expectClose(L, fg.workspace, fc.workspace, `${what} workspace`);
        const dy = f32([N, H]);
        const dhN = f32([B, H]);
        const dcN = f32([B, H]);
        const back = (d: 'cpu' | 'cuda', f: NativeLayerForward) =>
          n.rnnLayerBackward(
            spec,
            x[d],
            weights(d),
            variant.states ? h0[d] : null,
            variant.states && lstm ? c0[d] : null,
            f,
            dy[d],
            variant.states ? dhN[d] : null,
            variant.states && lstm ? dcN[d] : null,
          );
        const gc = back('cpu', fc);
        const gg = back('cuda', fg);
        for (const key of ['dx', 'dh0', 'dc0', 'dwIh', 'dwHh', 'dbIh', 'dbHh'] as const) {
          expectClose(L, gg[key], gc[key], `${what} ${key}`);
        }
      }
    });
  }

  if (typeof (n as Partial<NativeAddon>).gaussianKl === 'function') {
    s('sentence VAE ops: exp, Gaussian KL and its gradient, decode picks', () => {
      const x = f32([z.rows, z.cols], -3, 3);
      same({ cpu: n.exp(x.cpu), cuda: n.exp(x.cuda) }, 'exp');
      const mean = f32([z.rows, z.hidden]);
      const logv = f32([z.rows, z.hidden]);
      same({ cpu: n.gaussianKl(mean.cpu, logv.cpu), cuda: n.gaussianKl(mean.cuda, logv.cuda) }, 'gaussianKl');
      const dkl = f32([z.rows]);
      const c = n.gaussianKlBackward(mean.cpu, logv.cpu, dkl.cpu);
      const g = n.gaussianKlBackward(mean.cuda, logv.cuda, dkl.cuda);
      expectClose(L, g.dmean, c.dmean, 'gaussianKl dmean');
      expectClose(L, g.dlogv, c.dlogv, 'gaussianKl dlogv');
      const logits = f32([z.rows, z.vocab], -2, 2);
      const teacher = i32(rng.ints(z.rows - 2, 0, z.vocab));
      for (const temperature of [0, 0.7, 1.5]) {
        const pc = n.decodePick(logits.cpu, teacher.cpu, 0.5, temperature, 11, 2, 5);
        const pg = n.decodePick(logits.cuda, teacher.cuda, 0.5, temperature, 11, 2, 5);
        expectClose(L, pg.predicted, pc.predicted, `decodePick predicted T=${temperature}`, true);
        expectClose(L, pg.chosen, pc.chosen, `decodePick chosen T=${temperature}`, true);
      }
      const free = n.decodePick(logits.cuda, null, 0, 0, 1, 0, 0);
      expectClose(L, free.chosen, n.decodePick(logits.cpu, null, 0, 0, 1, 0, 0).chosen, 'decodePick without teacher', true);
    });
  }

  s('errors: mixed devices, out of memory with the size asked for', () => {
    const a = f32([2, 3]);
    assert.is(codeOf(() => n.add_(a.cuda, a.cpu, 1)), 'ERR_RNNLM_DEVICE');
    let message = '';
    try {
      n.empty([1 << 20, 1 << 18], 'float32', 'cuda'); // 1 TiB
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_RNNLM_OOM');
      message = (error as Error).message;
    }
    assert.match(message, /1099511627776 bytes/);
    assert.match(message, /\(1048576, 262144\)/);
    // The device is still usable afterwards.
    const b = f32([2, 3]);
    same({ cpu: n.mul(b.cpu, b.cpu), cuda: n.mul(b.cuda, b.cuda) }, 'mul after an out-of-memory error');
  });

  s.after(() => {
    const lines = [...worst.entries()].filter(([label]) => label === L).map(([, w]) => `worst error/tolerance ${w.ratio.toFixed(3)} at ${w.what}`);
    if (lines.length > 0) console.log(`  cuda parity (${L}): ${lines.join('; ')}`);
  });

  s.run();
}

// --- whole training steps, through the library, in a child process ----------------------------

interface StepCase {
  name: string;
  /** every recorded number, by name, for each device */
  cpu: Record<string, number[]>;
  cuda: Record<string, number[]>;
  /** cudaMalloc calls made by the last (warm) step, from the addon's allocator counters */
  warmDeviceAllocations: number | null;
}

// Runs this file as a child (mode: 'small' | 'large' training steps, or 'nodevice') with
// RNNLM_ADDON = addon, and returns the JSON line it printed.
function runChild(addon: string, mode: string, env: Record<string, string> = {}): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', THIS_FILE], {
    cwd: REPO_ROOT,
    env: { ...process.env, RNNLM_ADDON: addon, RNNLM_PARITY_CHILD: mode, RNNLM_DEVICE: '', ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) assert.unreachable(`child '${mode}' failed (${r.status}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{"child":'));
  if (line === undefined) assert.unreachable(`child '${mode}' printed no result:\n${r.stdout.slice(0, 2000)}\n${r.stderr}`);
  return (JSON.parse(line!) as { child: unknown }).child;
}

function runTrainingChild(addon: string, large: boolean): StepCase[] {
  return runChild(addon, large ? 'large' : 'small') as StepCase[];
}

function registerTrainingSuite(name: string, addon: string, label: string, large: boolean): void {
  const s = suite(name);
  s('language-model and packed bidirectional training steps agree with the CPU', () => {
    const cases = runTrainingChild(addon, large);
    assert.ok(cases.length >= 6, 'every case ran');
    for (const c of cases) {
      const keys = Object.keys(c.cpu);
      assert.equal(Object.keys(c.cuda), keys, `${c.name}: the same quantities on both devices`);
      for (const k of keys) expectArraysClose(`${label} training`, c.cuda[k]!, c.cpu[k]!, `${c.name} ${k}`);
      assert.is(c.warmDeviceAllocations, 0, `${c.name}: a warm training step allocates no device memory`);
    }
    const w = worst.get(`${label} training`);
    if (w !== undefined) console.log(`  cuda parity (${label} training): worst error/tolerance ${w.ratio.toFixed(3)} at ${w.what}`);
  });
  s.run();
}

// The child: runs each case on 'cpu' and on 'cuda' with identical weights, data and dropout
// draws, and prints everything it recorded as one JSON line.
async function trainingChild(large: boolean): Promise<void> {
  const lib = await import('../src/index.js');
  const addon = native() as unknown as Partial<CudaAddon>;
  const { LanguageModel, Embedding, Linear, LSTM, GRU, RNN, Adam, SGD, RMSprop, Generator, backward, clipGradNorm, crossEntropy, fromInt32Array, fromFloat32Array, packIds, tidy, add, scale, sumAll } = lib;
  type Device = 'cpu' | 'cuda';
  const rng = new Rng(7);
  const V = large ? 5000 : 13;
  const E = large ? 128 : 6;
  const H = large ? 256 : 7;
  const T = large ? 35 : 5;
  const Bsz = large ? 32 : 3;
  const cases: StepCase[] = [];
  const allocations = (): number | null => addon.cudaMemory?.()?.deviceAllocations ?? null;

  // A language model: embedding dropout, 2 layers with dropout between, output dropout; Adam,
  // gradient clipping; four steps, the last one timed for device allocations.
  const lmCells = ['lstm', 'gru', 'rnn', 'rnn_relu'] as const;
  for (const cell of lmCells) {
    const ids = rng.ints(T * Bsz, 0, V);
    const targets = rng.ints(T * Bsz, 0, V);
    const record: Record<Device, Record<string, number[]>> = { cpu: {}, cuda: {} };
    let warm: number | null = null;
    for (const device of ['cpu', 'cuda'] as const) {
      const out = record[device];
      const generator = new Generator(31337);
      const model = new LanguageModel({ vocabSize: V, embedding: E, hidden: H, layers: 2, cell, dropout: 0.3 }, { generator }).to(device);
      // eps 1e-3 rather than 1e-8: Adam and RMSprop divide by the gradient's own size, so a
      // gradient that cancels to rounding noise (the same on both devices only to 1e-7) would
      // otherwise move its weight by a full +-lr in a direction chosen by that noise.
      const optimizer = new Adam(model.parameters(), { lr: 0.01, eps: 1e-3 });
      const x = fromInt32Array(ids, [T, Bsz], { device });
      const y = fromInt32Array(targets, [T * Bsz], { device });
      for (let step = 0; step < 4; step++) {
        const before = allocations();
        tidy(() => {
          optimizer.zeroGrad();
          const { logits } = model.forward(x);
          const loss = crossEntropy(logits, y);
          backward(loss);
          if (step === 0) {
            out['loss'] = [loss.item()];
            for (const [name, p] of model.namedParameters()) out[`grad ${name}`] = Array.from(p.grad!.toFloat32Array());
          }
          const norm = clipGradNorm(model.parameters(), 0.5);
          if (step < 2) out[`norm ${step}`] = [norm];
          optimizer.step();
        });
        if (device === 'cuda' && step === 3) warm = before === null ? null : allocations()! - before;
      }
      for (const [name, p] of model.namedParameters()) out[`after ${name}`] = Array.from(p.toFloat32Array());
      x.dispose();
      y.dispose();
      optimizer.dispose();
      model.dispose();
    }
    cases.push({ name: `language model ${cell}`, cpu: record.cpu, cuda: record.cuda, warmDeviceAllocations: warm });
  }

  // Packed, bidirectional, 2 layers with dropout, initial states with gradients, a loss on the
  // outputs and on the final states; SGD with momentum and RMSprop.
  const packedCells = ['lstm', 'gru', 'rnn'] as const;
  const lengths = large ? [40, 33, 33, 20, 7, 1, 38, 12] : [5, 3, 4, 1, 5];
  const sequences = lengths.map((len) => Array.from(rng.ints(len + 1, 0, V)));
  const h0Data = rng.floats(4 * lengths.length * H);
  for (const cell of packedCells) {
    const record: Record<Device, Record<string, number[]>> = { cpu: {}, cuda: {} };
    let warm: number | null = null;
    for (const device of ['cpu', 'cuda'] as const) {
      const out = record[device];
      const generator = new Generator(4242);
      const options = { inputSize: E, hiddenSize: H, numLayers: 2, bidirectional: true, dropout: 0.25, generator };
      const rnn = (cell === 'lstm' ? new LSTM(options) : cell === 'gru' ? new GRU(options) : new RNN(options)).to(device);
      const embedding = new Embedding(V, E, { generator }).to(device);
      const decoder = new Linear(2 * H, V, { generator }).to(device);
      const h0 = fromFloat32Array(h0Data, [4, lengths.length, H], { device, requiresGrad: true });
      const c0 = cell === 'lstm' ? fromFloat32Array(h0Data.map((v) => v / 2), [4, lengths.length, H], { device, requiresGrad: true }) : null;
      const params = [...embedding.parameters(), ...rnn.parameters(), ...decoder.parameters()];
      const optimizer = cell === 'gru' ? new RMSprop(params, { lr: 0.01, centered: true, momentum: 0.5, eps: 1e-3 }) : new SGD(params, { lr: 0.1, momentum: 0.9, nesterov: true });
      const inputs = packIds(sequences.map((q) => q.slice(0, -1)), { device });
      const targets = packIds(sequences.map((q) => q.slice(1)), { device });
      for (let step = 0; step < 4; step++) {
        const before = allocations();
        tidy(() => {
          optimizer.zeroGrad();
          h0.grad?.dispose();
          h0.grad = null;
          if (c0 !== null) {
            c0.grad?.dispose();
            c0.grad = null;
          }
          const x = embedding.forward(inputs.data); // (N, E)
          const r = rnn.forward(inputs.withData(x), c0 === null ? h0 : [h0, c0]);
          const logits = decoder.forward(r.output.data); // (N, V)
          const loss = add(crossEntropy(logits, targets.data), scale(sumAll(r.hN), 0.01));
          backward(loss);
          if (step === 0) {
            out['loss'] = [loss.item()];
            out['output'] = Array.from(r.output.data.toFloat32Array());
            out['hN'] = Array.from(r.hN.toFloat32Array());
            if (r.cN !== null) out['cN'] = Array.from(r.cN.toFloat32Array());
            out['grad h0'] = Array.from(h0.grad!.toFloat32Array());
            if (c0 !== null) out['grad c0'] = Array.from(c0.grad!.toFloat32Array());
            for (const [name, p] of rnn.namedParameters()) out[`grad rnn.${name}`] = Array.from(p.grad!.toFloat32Array());
            out['grad embedding'] = Array.from(embedding.weight.grad!.toFloat32Array());
          }
          out[`norm ${step}`] = [clipGradNorm(params, 1)];
          optimizer.step();
        });
        if (device === 'cuda' && step === 3) warm = before === null ? null : allocations()! - before;
      }
      for (const [name, p] of rnn.namedParameters()) out[`after rnn.${name}`] = Array.from(p.toFloat32Array());
      out['after decoder'] = Array.from(decoder.weight.toFloat32Array());
      inputs.dispose();
      targets.dispose();
      h0.dispose();
      c0?.dispose();
      optimizer.dispose();
      for (const m of [rnn, embedding, decoder]) m.dispose();
    }
    cases.push({ name: `packed bidirectional ${cell}`, cpu: record.cpu, cuda: record.cuda, warmDeviceAllocations: warm });
  }
  process.stdout.write(`${JSON.stringify({ child: cases })}\n`);
}

interface NoDeviceReport {
  cudaCompiled: boolean;
  cuda: string | null;
  cudaReason: string | null;
  auto: { device: string; fallbackReason: string | null };
  cudaRequestCode: string | undefined;
  zerosCode: string | undefined;
  cpuSum: number;
}

// The child with RNNLM_EMU_DEVICE_COUNT=0: a CUDA build on a machine without a GPU.
async function noDeviceChild(): Promise<void> {
  const lib = await import('../src/index.js');
  const i = lib.info() as ReturnType<typeof lib.info> & { cudaReason?: string | null };
  const report: NoDeviceReport = {
    cudaCompiled: i.cudaCompiled,
    cuda: i.cuda,
    cudaReason: i.cudaReason ?? null,
    auto: lib.resolveDevice('auto'),
    cudaRequestCode: codeOf(() => lib.resolveDevice('cuda')),
    zerosCode: codeOf(() => lib.zeros([2], { device: 'cuda' })),
    cpuSum: lib.tidy(() => lib.sumAll(lib.ones([3, 4])).item()),
  };
  process.stdout.write(`${JSON.stringify({ child: report })}\n`);
}

function registerNoDeviceSuite(name: string, addon: string): void {
  const s = suite(name);
  s("a CUDA build without a GPU: 'auto' falls back to the CPU with the reason, 'cuda' is a clear error", () => {
    const r = runChild(addon, 'nodevice', { RNNLM_EMU_DEVICE_COUNT: '0' }) as NoDeviceReport;
    assert.is(r.cudaCompiled, true);
    assert.is(r.cuda, null);
    assert.match(r.cudaReason ?? '', /no CUDA device/);
    assert.equal(r.auto.device, 'cpu');
    assert.type(r.auto.fallbackReason, 'string');
    assert.is(r.cudaRequestCode, 'ERR_RNNLM_DEVICE');
    assert.is(r.zerosCode, 'ERR_RNNLM_DEVICE');
    assert.is(r.cpuSum, 12);
  });
  s.run();
}

// --- entry ------------------------------------------------------------------------------------

const child = process.env['RNNLM_PARITY_CHILD'];
if (child === 'small' || child === 'large' || child === 'nodevice') {
  (child === 'nodevice' ? noDeviceChild() : trainingChild(child === 'large')).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  const emu = loadEmulatedAddon();
  if (emu === null) {
    console.log(
      `  cuda parity (emulated): skipped, the emulated addon is not built (${emulatedAddonPath()}); ` +
        'build it with `npx cmake-js compile --out build-emu --CDRNNLM_CUDA_EMULATION=ON`',
    );
  } else {
    registerOpSuite('cuda parity (emulated kernels)', emu, EMULATED);
    registerTrainingSuite('cuda parity (emulated kernels): training steps', emulatedAddonPath(), 'emulated', false);
    registerNoDeviceSuite('cuda build without a GPU (emulator with no device)', emulatedAddonPath());
  }
  let gpu: string | null = null;
  let why = 'the addon could not be loaded';
  try {
    const real = native() as unknown as Partial<CudaAddon>;
    const i = real.info?.();
    gpu = i?.cudaCompiled === true && i.cudaEmulated !== true ? real.deviceDescribe!('cuda') : null;
    why = i?.cudaCompiled !== true ? 'this addon has no CUDA backend' : (i.cudaReason ?? 'no usable CUDA device');
  } catch {
    gpu = null;
  }
  if (gpu === null) {
    console.log(`  cuda parity (gpu): skipped, no GPU (${why})`);
  } else {
    registerOpSuite(`cuda parity (${gpu})`, native(), GPU);
    registerTrainingSuite(`cuda parity (${gpu}): training steps`, addonPath(), 'gpu', true);
  }
}
