// Parity of the CUDA backend with the CPU backend: every op, and whole training steps of
// LSTM / GRU / RNN language models (packed, bidirectional, dropout), agree up to float rounding.
//
// "Up to rounding" is a bound that grows with the reduction length K of the op that produced the
// tensor (test/support/parity_bounds.ts derives it): for precision p with unit roundoff u_p
// (fp32: FLT_EPSILON 1.19e-7; tf32 2^-11 and bf16 2^-8 for when such kernels land),
//   bound(K) = 2 * C * K * u_p,  C = 1
// and every float tensor passes  ||cuda - cpu||_2 / ||cpu||_2 <= bound(K)  (norm-wise), plus:
//   exact     bit for bit (copies, gathers, masks, integer outputs, sampled ids)
//   elem      |cuda - cpu| <= bound(K) * max|cpu| at every element (no reduction: K counts the
//             rounded operations one element goes through)
//   terms     |cuda - cpu| <= bound(K) * (|x| . |W|^T)  at every element: the sum of |terms|,
//             the same GEMM run on |inputs| on the CPU (a bound that holds for any order)
//
// op family (precision fp32)          K                                   check
// ----------------------------------  ----------------------------------  ------------------
// copies, zeros, fill, gather, slice  -                                   exact
// add_ / scale_ / mul                 2 / 1 / 1                           elem
// uniform_ / normal_                  2 / 8 (log, cos, sqrt, scale)       elem
// dropout mask / y                    - / 1                               exact / elem
// sumAll, globalNorm, clipGradNorm_   elements summed                     norm-wise
// scatterAddRows_, embedding backward rows added (indices)                norm-wise
// linear y / dx / dW / db             in+1 / out / rows / rows            terms (db norm-wise)
// softmax-NLL loss / dlogits, logSm   rows*V / V / V                      norm-wise
// Adam / SGD / RMSprop (s steps)      12s / 5s / 12s                      elem
// recurrent layer forward (y,hN,cN)   T*(in + H)                          norm-wise
// recurrent layer backward (dx, dW)   rows + T*(in + H + G*H)             norm-wise
// exp / Gaussian KL / its gradient    2 / 4*H / 4                         elem / nw / elem
// training step (grads, norms,        V + T*B + 2*T*(E + 10*H): softmax,  norm-wise
//  updates after 4 steps)             dW over positions, 2 layers x T
//                                     steps of forward + 4-gate backward
//
// Every compared tensor's relative error is kept; the GPU suite prints one line per tensor,
// the emulated one its worst few (all with RNNLM_PARITY_REPORT=all), with the bound and K.
// On the emulator rounding stays under 0.07 of its bound (most tensors under 0.01), while
// planted bugs fail it: the LSTM forget gate fed the output gate's pre-activation (3e4x the
// bound on y), the GRU's b_hn dropped (1e4x), block_sum without its barrier (98x on sumAll,
// NaN in softmax-NLL; reverse schedule 9e3x on dlogits). A whole training step first fails on its
// loss, a scalar that averages a bug out (4x and 18x for the first two plants).
//
// Without a GPU the CUDA kernels run in the CPU emulator (build-emu/Release/rnnlm_emu.node, see
// docs/cuda.md); its 'cuda' device is the emulated backend and its 'cpu' device the regular one,
// so one addon holds both sides. When the regular addon has a usable GPU, the same op suite runs
// there too, at larger sizes. Each part says when it skips.
//
// The training steps go through the library (LanguageModel, nn.LSTM, optimizers), which loads
// its addon once per process; they run in a child process started with RNNLM_ADDON pointing at
// the addon under test, and this file is that child when RNNLM_PARITY_CHILD is set. The child
// writes every tensor as a raw float32 file in a temporary folder and prints only the names.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { absolute, maxAbs, normwiseRelativeError, reductionBound, transpose, type Precision } from './support/parity_bounds.js';
import { emulatedAddonPath, loadEmulatedAddon, type CudaAddon } from './support/cuda_emulation.js';
import { addonPath, native, type CellKind, type NativeAddon, type NativeLayerForward, type NativeLayerSpec, type NativeLayerWeights, type NativeTensor } from '../src/native.js';

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

/** How a CUDA tensor must match the CPU one (the table at the top of this file). */
type Check =
  | { kind: 'exact' }
  | { kind: 'elem'; k: number }
  | { kind: 'norm'; k: number }
  | { kind: 'terms'; k: number; terms: ArrayLike<number> };

const EXACT: Check = { kind: 'exact' };
const elem = (k: number): Check => ({ kind: 'elem', k });
const norm = (k: number): Check => ({ kind: 'norm', k });
const PRECISION: Precision = 'fp32';

interface Measured {
  what: string;
  k: number;
  rel: number;
  bound: number;
}

// Every compared float tensor, by suite label, printed when the suite ends.
const measured = new Map<string, Measured[]>();

function expectArraysClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, check: Check): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  if (check.kind === 'exact') {
    for (let i = 0; i < expected.length; i++) {
      const a = actual[i]!;
      const e = expected[i]!;
      if (a !== e && !(Number.isNaN(a) && Number.isNaN(e))) assert.unreachable(`${what}[${i}]: cuda ${a}, cpu ${e} (must be exact)`);
    }
    return;
  }
  const bound = reductionBound(check.k, PRECISION);
  const rel = normwiseRelativeError(actual, expected);
  const list = measured.get(label) ?? [];
  list.push({ what, k: check.k, rel, bound });
  measured.set(label, list);
  if (Number.isNaN(rel)) assert.unreachable(`${what}: NaN on one device only`);
  if (!(rel <= bound)) {
    assert.unreachable(`${what}: ||cuda - cpu|| / ||cpu|| = ${rel.toExponential(3)} over the ${PRECISION} bound ${bound.toExponential(3)} (K ${check.k}), ${(rel / bound).toPrecision(3)}x`);
  }
  if (check.kind === 'norm') return;
  const scale = check.kind === 'elem' ? maxAbs(expected) : 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    const allowed = bound * (check.kind === 'terms' ? check.terms[i]! : scale);
    const err = Math.abs(a - e);
    if (!(err <= allowed)) {
      const of = check.kind === 'terms' ? 'sum |terms|' : 'max |cpu|';
      assert.unreachable(`${what}[${i}]: cuda ${a}, cpu ${e}: |diff| ${err.toExponential(3)} over ${bound.toExponential(3)} x ${of} = ${allowed.toExponential(3)} (K ${check.k}), ${(err / allowed).toPrecision(3)}x`);
    }
  }
}

/** Prints the relative error of each tensor of a suite (all of them, or its worst few). */
function reportMeasured(label: string, all: boolean): void {
  const list = measured.get(label) ?? [];
  if (list.length === 0) return;
  const sorted = [...list].sort((x, y) => y.rel / y.bound - x.rel / x.bound);
  const shown = all ? list : sorted.slice(0, 5);
  const head = all ? 'every tensor' : `worst ${shown.length} of ${list.length} tensors (RNNLM_PARITY_REPORT=all for every one)`;
  console.log(`\n  cuda parity (${label}), ${PRECISION}: ||cuda - cpu|| / ||cpu|| against bound(K) = 2 K u, ${head}:`);
  for (const m of shown) {
    console.log(`    rel ${m.rel.toExponential(2)}  bound ${m.bound.toExponential(2)}  (${(m.rel / m.bound).toExponential(1)} of it, K ${m.k})  ${m.what}`);
  }
}

/** The CUDA tensor matches the CPU tensor: device, shape, dtype and values. */
function expectClose(label: string, cuda: NativeTensor | null, cpu: NativeTensor | null, what: string, check: Check): void {
  if (cuda === null || cpu === null) {
    assert.is(cuda === null, cpu === null, `${what}: presence`);
    return;
  }
  assert.is(cuda.device, 'cuda', `${what}: device`);
  assert.is(cpu.device, 'cpu', `${what}: device`);
  assert.equal(cuda.shape, cpu.shape, `${what}: shape`);
  assert.is(cuda.dtype, cpu.dtype, `${what}: dtype`);
  expectArraysClose(label, values(cuda), values(cpu), what, cpu.dtype === 'int32' ? EXACT : check);
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
  const same = (p: Pair, what: string, check: Check): void => expectClose(L, p.cuda, p.cpu, what, check);

  s('memory: host round trips, zeros, clone, copies across devices', () => {
    const x = f32([z.rows, z.cols]);
    same(x, 'fromTypedArray f32', EXACT);
    same(i32(rng.ints(z.cols, -5, 1000)), 'fromTypedArray i32', EXACT);
    same({ cpu: n.zeros([z.rows, 3], 'float32', 'cpu'), cuda: n.zeros([z.rows, 3], 'float32', 'cuda') }, 'zeros', EXACT);
    same({ cpu: n.clone(x.cpu), cuda: n.clone(x.cuda) }, 'clone', EXACT);
    same({ cpu: n.toDevice(x.cuda, 'cpu'), cuda: n.toDevice(x.cpu, 'cuda') }, 'toDevice', EXACT);
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
    same(a, 'add_', elem(2));
    same(b, 'scale_', elem(1));
    same({ cpu: n.mul(a.cpu, b.cpu), cuda: n.mul(a.cuda, b.cuda) }, 'mul', elem(1));
    const long = f32([z.long]);
    same({ cpu: n.sumAll(long.cpu), cuda: n.sumAll(long.cuda) }, 'sumAll (many blocks)', norm(z.long));
    same({ cpu: n.sumAll(a.cpu), cuda: n.sumAll(a.cuda) }, 'sumAll', norm(z.rows * z.cols));
    const fi = { cpu: n.empty([z.cols], 'int32', 'cpu'), cuda: n.empty([z.cols], 'int32', 'cuda') };
    const ff = { cpu: n.empty([z.rows, 3], 'float32', 'cpu'), cuda: n.empty([z.rows, 3], 'float32', 'cuda') };
    for (const d of ['cpu', 'cuda'] as const) {
      n.fill_(fi[d], -7);
      n.fill_(ff[d], 2.5);
    }
    same(fi, 'fill_ i32', EXACT);
    same(ff, 'fill_ f32', EXACT);
  });

  s('rows and columns: gather, scatter-add with duplicates, concat, slice', () => {
    const x = f32([z.rows, z.cols]);
    const idxData = rng.ints(z.rows + 5, -1, z.rows);
    idxData[0] = -1;
    idxData[1] = idxData[2] = 3;
    const idx = i32(idxData);
    same({ cpu: n.gatherRows(x.cpu, idx.cpu), cuda: n.gatherRows(x.cuda, idx.cuda) }, 'gatherRows f32', EXACT);
    const xi = i32(rng.ints(z.rows * 3, -100, 100), [z.rows, 3]);
    same({ cpu: n.gatherRows(xi.cpu, idx.cpu), cuda: n.gatherRows(xi.cuda, idx.cuda) }, 'gatherRows i32', EXACT);
    const src = f32([idxData.length, z.cols]);
    for (const d of ['cpu', 'cuda'] as const) n.scatterAddRows_(x[d], idx[d], src[d]);
    same(x, 'scatterAddRows_', norm(idxData.length + 1));
    const p0 = f32([z.rows, 3]);
    const p1 = f32([z.rows, 0]);
    const p2 = f32([z.rows, z.cols]);
    same({ cpu: n.concatCols([p0.cpu, p1.cpu, p2.cpu]), cuda: n.concatCols([p0.cuda, p1.cuda, p2.cuda]) }, 'concatCols', EXACT);
    same({ cpu: n.concatCols([xi.cpu, xi.cpu]), cuda: n.concatCols([xi.cuda, xi.cuda]) }, 'concatCols i32', EXACT);
    same({ cpu: n.sliceCols(p2.cpu, 2, z.cols - 5), cuda: n.sliceCols(p2.cuda, 2, z.cols - 5) }, 'sliceCols', EXACT);
    same({ cpu: n.concatRows([p0.cpu, p0.cpu]), cuda: n.concatRows([p0.cuda, p0.cuda]) }, 'concatRows', EXACT);
    same({ cpu: n.sliceRows(p2.cpu, 1, z.rows - 2), cuda: n.sliceRows(p2.cuda, 1, z.rows - 2) }, 'sliceRows', EXACT);
  });

  s('random: uniform_ and normal_ draw the CPU stream', () => {
    const u = { cpu: n.empty([z.long], 'float32', 'cpu'), cuda: n.empty([z.long], 'float32', 'cuda') };
    const g = { cpu: n.empty([z.long], 'float32', 'cpu'), cuda: n.empty([z.long], 'float32', 'cuda') };
    for (const d of ['cpu', 'cuda'] as const) {
      n.uniform_(u[d], -0.3, 0.7, 123456789n, 42);
      n.normal_(g[d], 0.5, 2, 987654321n, 7);
    }
    same(u, 'uniform_', elem(2));
    same(g, 'normal_', elem(8));
  });

  s('dropout: the same mask as the CPU, bit for bit', () => {
    const x = f32([z.rows, z.cols]);
    for (const p of [0, 0.3, 1]) {
      const c = n.dropoutForward(x.cpu, p, 99, 3);
      const g = n.dropoutForward(x.cuda, p, 99, 3);
      expectClose(L, g.mask, c.mask, `dropout mask p=${p}`, EXACT);
      expectClose(L, g.y, c.y, `dropout y p=${p}`, elem(1));
    }
  });

  s('embedding forward and backward (repeated ids)', () => {
    const w = f32([z.vocab, z.embedding]);
    const idsData = rng.ints(z.rows * 4, 0, z.vocab);
    idsData[1] = idsData[0]!;
    idsData[5] = idsData[0]!;
    const ids = i32(idsData, [z.rows, 4]);
    same({ cpu: n.embeddingForward(w.cpu, ids.cpu), cuda: n.embeddingForward(w.cuda, ids.cuda) }, 'embeddingForward', EXACT);
    const dy = f32([z.rows, 4, z.embedding]);
    same({ cpu: n.embeddingBackward(dy.cpu, ids.cpu, z.vocab), cuda: n.embeddingBackward(dy.cuda, ids.cuda, z.vocab) }, 'embeddingBackward', norm(z.rows * 4));
  });

  s('linear forward and backward, with and without bias', () => {
    const x = f32([z.rows, z.input]);
    const w = f32([z.hidden * 3, z.input]);
    const b = f32([z.hidden * 3]);
    const dy = f32([z.rows, z.hidden * 3]);
    // sum |terms| of each output: the same products on |inputs|, on the CPU.
    const O = z.hidden * 3;
    const host = (data: Float32Array, shape: number[]): NativeTensor => n.fromTypedArray(data, shape, 'cpu');
    const absX = absolute(values(x.cpu));
    const absW = absolute(values(w.cpu));
    const absDy = absolute(values(dy.cpu));
    const termsY = (bias: boolean): Check => ({
      kind: 'terms',
      k: z.input + 1,
      terms: values(n.linearForward(host(absX, [z.rows, z.input]), host(absW, [O, z.input]), bias ? host(absolute(values(b.cpu)), [O]) : null)),
    });
    const termsDx: Check = { kind: 'terms', k: O, terms: values(n.linearForward(host(absDy, [z.rows, O]), host(transpose(absW, O, z.input), [z.input, O]), null)) };
    const termsDw: Check = {
      kind: 'terms',
      k: z.rows,
      terms: values(n.linearForward(host(transpose(absDy, z.rows, O), [O, z.rows]), host(transpose(absX, z.rows, z.input), [z.input, z.rows]), null)),
    };
    for (const bias of [true, false]) {
      const yc = n.linearForward(x.cpu, w.cpu, bias ? b.cpu : null);
      const yg = n.linearForward(x.cuda, w.cuda, bias ? b.cuda : null);
      expectClose(L, yg, yc, `linearForward bias=${bias}`, termsY(bias));
      for (const needDx of [true, false]) {
        const c = n.linearBackward(dy.cpu, x.cpu, w.cpu, bias, needDx);
        const g = n.linearBackward(dy.cuda, x.cuda, w.cuda, bias, needDx);
        expectClose(L, g.dx, c.dx, `linear dx bias=${bias} needDx=${needDx}`, termsDx);
        expectClose(L, g.dw, c.dw, 'linear dw', termsDw);
        expectClose(L, g.db, c.db, 'linear db', norm(z.rows));
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
        expectClose(L, g.loss, c.loss, `softmaxNll loss V=${v} ${reduction}`, norm(z.rows * v));
        expectClose(L, g.count, c.count, 'softmaxNll count', EXACT);
        expectClose(L, g.dlogits, c.dlogits, `softmaxNll dlogits V=${v} ${reduction}`, norm(v));
      }
      same({ cpu: n.logSoftmax(logits.cpu), cuda: n.logSoftmax(logits.cuda) }, `logSoftmax V=${v}`, norm(v));
    }
    const logits = f32([3, 5]);
    const ignored = i32(new Int32Array([7, 7, 7]));
    const c = n.softmaxNll(logits.cpu, ignored.cpu, 7, 'mean');
    const g = n.softmaxNll(logits.cuda, ignored.cuda, 7, 'mean');
    assert.ok(Number.isNaN(values(g.loss)[0]!) && Number.isNaN(values(c.loss)[0]!), 'mean over no targets is NaN');
    expectClose(L, g.dlogits, c.dlogits, 'dlogits with every target ignored', EXACT);
  });

  s('gradient norm and clipping (below and above the threshold)', () => {
    const ts = [f32([z.rows, z.cols]), f32([z.long]), f32([3])];
    const total = z.rows * z.cols + z.long + 3;
    same({ cpu: n.globalNorm(ts.map((t) => t.cpu)), cuda: n.globalNorm(ts.map((t) => t.cuda)) }, 'globalNorm', norm(total));
    for (const maxNorm of [1e6, 0.5]) {
      const c = n.clipGradNorm_(ts.map((t) => t.cpu), maxNorm);
      const g = n.clipGradNorm_(ts.map((t) => t.cuda), maxNorm);
      expectClose(L, g, c, `clipGradNorm_ norm (max ${maxNorm})`, norm(total));
      ts.forEach((t, i) => same(t, `clipped tensor ${i} (max ${maxNorm})`, norm(total)));
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
      same(p, `adam param ${JSON.stringify(wd)}`, elem(12 * 3));
      same(m, 'adam exp_avg', elem(12 * 3));
      same(v2, 'adam exp_avg_sq', elem(12 * 3));
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
      same(p, `sgd param ${JSON.stringify(c)}`, elem(5 * 2));
      if (c.momentum) same(buf, 'sgd momentum buffer', elem(5 * 2));
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
        same(p, `rmsprop param centered=${centered} momentum=${momentum}`, elem(12 * 2));
        same(sq, 'rmsprop square_avg', elem(12 * 2));
        if (centered) same(ga, 'rmsprop grad_avg', elem(12 * 2));
        if (momentum) same(buf, 'rmsprop momentum buffer', elem(12 * 2));
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
      const T = z.batchSizes.length;
      const forwardK = T * (z.input + H);
      const backwardK = N + T * (z.input + H + G * H);
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
        expectClose(L, fg.y, fc.y, `${what} y`, norm(forwardK));
        expectClose(L, fg.hN, fc.hN, `${what} hN`, norm(forwardK));
        expectClose(L, fg.cN, fc.cN, `${what} cN`, norm(forwardK));
        expectClose(L, fg.workspace, fc.workspace, `${what} workspace`, norm(forwardK));
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
          expectClose(L, gg[key], gc[key], `${what} ${key}`, norm(backwardK));
        }
      }
    });
  }

  if (typeof (n as Partial<NativeAddon>).gaussianKl === 'function') {
    s('sentence VAE ops: exp, Gaussian KL and its gradient, decode picks', () => {
      const x = f32([z.rows, z.cols], -3, 3);
      same({ cpu: n.exp(x.cpu), cuda: n.exp(x.cuda) }, 'exp', elem(2));
      const mean = f32([z.rows, z.hidden]);
      const logv = f32([z.rows, z.hidden]);
      same({ cpu: n.gaussianKl(mean.cpu, logv.cpu), cuda: n.gaussianKl(mean.cuda, logv.cuda) }, 'gaussianKl', norm(4 * z.hidden));
      const dkl = f32([z.rows]);
      const c = n.gaussianKlBackward(mean.cpu, logv.cpu, dkl.cpu);
      const g = n.gaussianKlBackward(mean.cuda, logv.cuda, dkl.cuda);
      expectClose(L, g.dmean, c.dmean, 'gaussianKl dmean', elem(4));
      expectClose(L, g.dlogv, c.dlogv, 'gaussianKl dlogv', elem(4));
      const logits = f32([z.rows, z.vocab], -2, 2);
      const teacher = i32(rng.ints(z.rows - 2, 0, z.vocab));
      for (const temperature of [0, 0.7, 1.5]) {
        const pc = n.decodePick(logits.cpu, teacher.cpu, 0.5, temperature, 11, 2, 5);
        const pg = n.decodePick(logits.cuda, teacher.cuda, 0.5, temperature, 11, 2, 5);
        expectClose(L, pg.predicted, pc.predicted, `decodePick predicted T=${temperature}`, EXACT);
        expectClose(L, pg.chosen, pc.chosen, `decodePick chosen T=${temperature}`, EXACT);
      }
      const free = n.decodePick(logits.cuda, null, 0, 0, 1, 0, 0);
      expectClose(L, free.chosen, n.decodePick(logits.cpu, null, 0, 0, 1, 0, 0).chosen, 'decodePick without teacher', EXACT);
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
    same({ cpu: n.mul(b.cpu, b.cpu), cuda: n.mul(b.cuda, b.cuda) }, 'mul after an out-of-memory error', elem(1));
  });

  s.after(() => reportMeasured(L, L === 'gpu' || process.env['RNNLM_PARITY_REPORT'] === 'all'));

  s.run();
}

// --- whole training steps, through the library, in a child process ----------------------------

/** One training case as the child reports it: each recorded tensor is a raw float32 file. */
interface StepCaseFiles {
  name: string;
  /** file name (in the child's output folder) of every recorded tensor, by name, per device */
  cpu: Record<string, string>;
  cuda: Record<string, string>;
  /** cudaMalloc calls made by the last (warm) step, from the addon's allocator counters */
  warmDeviceAllocations: number | null;
}

interface StepCase {
  name: string;
  cpu: Record<string, Float32Array>;
  cuda: Record<string, Float32Array>;
  warmDeviceAllocations: number | null;
}

// Runs this file as a child (mode: 'small' | 'large' training steps, or 'nodevice') with
// RNNLM_ADDON = addon, and returns the JSON line it printed.
function runChild(addon: string, mode: string, env: Record<string, string> = {}): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', THIS_FILE], {
    cwd: REPO_ROOT,
    env: { ...process.env, RNNLM_ADDON: addon, RNNLM_PARITY_CHILD: mode, RNNLM_DEVICE: '', ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) assert.unreachable(`child '${mode}' failed (${r.status}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{"child":'));
  if (line === undefined) assert.unreachable(`child '${mode}' printed no result:\n${r.stdout.slice(0, 2000)}\n${r.stderr}`);
  return (JSON.parse(line!) as { child: unknown }).child;
}

function runTrainingChild(addon: string, large: boolean): StepCase[] {
  const dir = mkdtempSync(join(tmpdir(), 'rnnlm-parity-'));
  try {
    const files = runChild(addon, large ? 'large' : 'small', { RNNLM_PARITY_OUT: dir }) as StepCaseFiles[];
    const load = (names: Record<string, string>): Record<string, Float32Array> => {
      const out: Record<string, Float32Array> = {};
      for (const [key, file] of Object.entries(names)) {
        const bytes = readFileSync(join(dir, file));
        out[key] = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      }
      return out;
    };
    return files.map((c) => ({ name: c.name, cpu: load(c.cpu), cuda: load(c.cuda), warmDeviceAllocations: c.warmDeviceAllocations }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The sizes of the training cases (the child's models and data). */
function trainingSizes(large: boolean): { V: number; E: number; H: number; T: number; B: number } {
  return large ? { V: 5000, E: 128, H: 256, T: 35, B: 32 } : { V: 13, E: 6, H: 7, T: 5, B: 3 };
}

function registerTrainingSuite(name: string, addon: string, label: string, large: boolean): void {
  const s = suite(name);
  const { V, E, H, T, B } = trainingSizes(large);
  // The softmax over V, weight gradients summed over T*B positions, and two layers of T steps,
  // each a forward reduction over (input + H) and a backward over the 4 gates, both directions.
  const k = V + T * B + 2 * T * (E + 10 * H);
  s('language-model and packed bidirectional training steps agree with the CPU', () => {
    const cases = runTrainingChild(addon, large);
    assert.ok(cases.length >= 6, 'every case ran');
    for (const c of cases) {
      const keys = Object.keys(c.cpu);
      assert.equal(Object.keys(c.cuda), keys, `${c.name}: the same quantities on both devices`);
      for (const key of keys) expectArraysClose(`${label} training`, c.cuda[key]!, c.cpu[key]!, `${c.name} ${key}`, norm(k));
      assert.is(c.warmDeviceAllocations, 0, `${c.name}: a warm training step allocates no device memory`);
    }
  });
  s.after(() => reportMeasured(`${label} training`, label === 'gpu' || process.env['RNNLM_PARITY_REPORT'] === 'all'));
  s.run();
}

// The child: runs each case on 'cpu' and on 'cuda' with identical weights, data and dropout
// draws, writes every recorded tensor to a raw float32 file in $RNNLM_PARITY_OUT and prints
// their names as one JSON line (at GPU sizes the values as JSON would pass V8's string limit).
// Weights are recorded as their change over the steps (after - before): a wrong gradient shows
// there in full, where the weights themselves would hide it under their initial values.
async function trainingChild(large: boolean): Promise<void> {
  const lib = await import('../src/index.js');
  const addon = native() as unknown as Partial<CudaAddon>;
  const { LanguageModel, Embedding, Linear, LSTM, GRU, RNN, Adam, SGD, RMSprop, Generator, backward, clipGradNorm, crossEntropy, fromInt32Array, fromFloat32Array, packIds, tidy, add, scale, sumAll } = lib;
  type Device = 'cpu' | 'cuda';
  const rng = new Rng(7);
  const { V, E, H, T, B: Bsz } = trainingSizes(large);
  const cases: StepCase[] = [];
  const update = (after: Float32Array, before: Float32Array): Float32Array => after.map((v, i) => v - before[i]!);
  const allocations = (): number | null => addon.cudaMemory?.()?.deviceAllocations ?? null;

  // A language model: embedding dropout, 2 layers with dropout between, output dropout; Adam,
  // gradient clipping; four steps, the last one timed for device allocations.
  const lmCells = ['lstm', 'gru', 'rnn', 'rnn_relu'] as const;
  for (const cell of lmCells) {
    const ids = rng.ints(T * Bsz, 0, V);
    const targets = rng.ints(T * Bsz, 0, V);
    const record: Record<Device, Record<string, Float32Array>> = { cpu: {}, cuda: {} };
    let warm: number | null = null;
    for (const device of ['cpu', 'cuda'] as const) {
      const out = record[device];
      const generator = new Generator(31337);
      const model = new LanguageModel({ vocabSize: V, embedding: E, hidden: H, layers: 2, cell, dropout: 0.3 }, { generator }).to(device);
      const initial = new Map([...model.namedParameters()].map(([name, p]) => [name, p.toFloat32Array()]));
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
            out['loss'] = Float32Array.of(loss.item());
            for (const [name, p] of model.namedParameters()) out[`grad ${name}`] = p.grad!.toFloat32Array();
          }
          const gradNorm = clipGradNorm(model.parameters(), 0.5);
          if (step < 2) out[`norm ${step}`] = Float32Array.of(gradNorm);
          optimizer.step();
        });
        if (device === 'cuda' && step === 3) warm = before === null ? null : allocations()! - before;
      }
      for (const [name, p] of model.namedParameters()) out[`update ${name}`] = update(p.toFloat32Array(), initial.get(name)!);
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
    const record: Record<Device, Record<string, Float32Array>> = { cpu: {}, cuda: {} };
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
      const initial = new Map([...rnn.namedParameters()].map(([name, p]) => [name, p.toFloat32Array()]));
      const initialDecoder = decoder.weight.toFloat32Array();
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
            out['loss'] = Float32Array.of(loss.item());
            out['output'] = r.output.data.toFloat32Array();
            out['hN'] = r.hN.toFloat32Array();
            if (r.cN !== null) out['cN'] = r.cN.toFloat32Array();
            out['grad h0'] = h0.grad!.toFloat32Array();
            if (c0 !== null) out['grad c0'] = c0.grad!.toFloat32Array();
            for (const [name, p] of rnn.namedParameters()) out[`grad rnn.${name}`] = p.grad!.toFloat32Array();
            out['grad embedding'] = embedding.weight.grad!.toFloat32Array();
          }
          out[`norm ${step}`] = Float32Array.of(clipGradNorm(params, 1));
          optimizer.step();
        });
        if (device === 'cuda' && step === 3) warm = before === null ? null : allocations()! - before;
      }
      for (const [name, p] of rnn.namedParameters()) out[`update rnn.${name}`] = update(p.toFloat32Array(), initial.get(name)!);
      out['update decoder'] = update(decoder.weight.toFloat32Array(), initialDecoder);
      inputs.dispose();
      targets.dispose();
      h0.dispose();
      c0?.dispose();
      optimizer.dispose();
      for (const m of [rnn, embedding, decoder]) m.dispose();
    }
    cases.push({ name: `packed bidirectional ${cell}`, cpu: record.cpu, cuda: record.cuda, warmDeviceAllocations: warm });
  }
  const dir = process.env['RNNLM_PARITY_OUT'];
  if (dir === undefined || dir === '') throw new Error('RNNLM_PARITY_OUT names no folder for the tensors');
  let files = 0;
  const save = (tensors: Record<string, Float32Array>): Record<string, string> => {
    const names: Record<string, string> = {};
    for (const [key, data] of Object.entries(tensors)) {
      const file = `t${files++}.f32`;
      writeFileSync(join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      names[key] = file;
    }
    return names;
  };
  const report: StepCaseFiles[] = cases.map((c) => ({ name: c.name, cpu: save(c.cpu), cuda: save(c.cuda), warmDeviceAllocations: c.warmDeviceAllocations }));
  process.stdout.write(`${JSON.stringify({ child: report })}\n`);
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
