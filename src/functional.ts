// Differentiable ops: each calls one engine op and, when an input requires grad, records one
// autograd node whose backward calls the matching engine backward. Shapes and ranges are
// checked by the engine (errors carry its codes); this layer only adds the bookkeeping.
import { needsGrad, record, type BackwardFn } from './autograd.js';
import { fusedCells } from './nn/cell_path.js';
import { rnnlmError } from './errors.js';
import { native, type CellKind, type Device, type NativeLayerSpec, type NativeTensor } from './native.js';
import { defaultGenerator, type Generator } from './random.js';
import { Tensor, checkShape, fromHandle, handleOf, full, installTensorMethods, zeros, type Shape } from './tensor.js';

function h(t: Tensor): NativeTensor {
  return handleOf(t, 'rnnlm op');
}

function product(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// A new tensor whose storage is a view of `handle` with `shape`; the temporary handle goes.
function viewOf(handle: NativeTensor, shape: Shape): Tensor {
  const view = handle.reshape(shape);
  handle.dispose();
  return fromHandle(view, shape);
}

// --- shape and data movement ----------------------------------------------------------------

/** A view of `x` with another shape (one dimension may be -1). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  checkShape(shape, 'reshape()', true);
  const y = fromHandle(h(x).reshape(shape));
  y._scalarHint = x._scalarHint;
  if (needsGrad(x)) {
    const inShape = x.shape;
    record('reshape', [x], [y], () => ([g]) => [reshape(g!, inShape)]);
  }
  return y;
}

/** A copy of `x` with its own storage. */
export function clone(x: Tensor): Tensor {
  const y = fromHandle(native().clone(h(x)), x.shape);
  y._scalarHint = x._scalarHint;
  if (needsGrad(x)) record('clone', [x], [y], () => ([g]) => [g]);
  return y;
}

/** `x` on `device`: a copy, or a view when it is already there. */
export function toDevice(x: Tensor, device: Device): Tensor {
  if (x.device === device) return reshape(x, x.shape);
  const y = fromHandle(native().toDevice(h(x), device), x.shape);
  y._scalarHint = x._scalarHint;
  if (needsGrad(x)) {
    const from = x.device;
    record('toDevice', [x], [y], () => ([g]) => [toDevice(g!, from)]);
  }
  return y;
}

// --- element-wise ---------------------------------------------------------------------------

/** a * b, element-wise (same shapes). */
export function mul(a: Tensor, b: Tensor): Tensor {
  const y = fromHandle(native().mul(h(a), h(b)), a.shape);
  if (needsGrad(a, b)) {
    record('mul', [a, b], [y], (node) => {
      const sa = node.needsInputGrad(1) ? node.save(a) : null;
      const sb = node.needsInputGrad(0) ? node.save(b) : null;
      return ([g]) => [sb !== null ? mul(g!, sb) : null, sa !== null ? mul(g!, sa) : null];
    });
  }
  return y;
}

/** a + alpha * b, element-wise (same shapes). */
export function add(a: Tensor, b: Tensor, alpha = 1): Tensor {
  const yh = native().clone(h(a));
  native().add_(yh, h(b), alpha);
  const y = fromHandle(yh, a.shape);
  if (a._scalarHint !== undefined && b._scalarHint !== undefined) y._scalarHint = a._scalarHint + alpha * b._scalarHint;
  if (needsGrad(a, b)) {
    record('add', [a, b], [y], () => ([g]) => [g, alpha === 1 ? g : scale(clone(g!), alpha)]);
  }
  return y;
}

/** a - b, element-wise. */
export function sub(a: Tensor, b: Tensor): Tensor {
  return add(a, b, -1);
}

/** alpha * x. */
export function scale(x: Tensor, alpha: number): Tensor {
  const yh = native().clone(h(x));
  native().scale_(yh, alpha);
  const y = fromHandle(yh, x.shape);
  if (x._scalarHint !== undefined) y._scalarHint = x._scalarHint * alpha;
  if (needsGrad(x)) {
    // The walk owns the incoming gradient, so it may be scaled in place and passed on.
    record('scale', [x], [y], () => ([g]) => {
      native().scale_(h(g!), alpha);
      if (g!._scalarHint !== undefined) g!._scalarHint *= alpha;
      return [g];
    });
  }
  return y;
}

// Broadcasts a one-element tensor to `shape` on its device (no read-back to the host).
function expandScalar(g: Tensor, shape: Shape): Tensor {
  if (g._scalarHint !== undefined) {
    const t = full(shape, g._scalarHint, { device: g.device });
    t._scalarHint = g._scalarHint;
    return t;
  }
  const n = product(shape);
  const idx = native().zeros([n], 'int32', g.device);
  const g2 = h(g).reshape([1, 1]);
  const rows = native().gatherRows(g2, idx);
  idx.dispose();
  g2.dispose();
  return viewOf(rows, shape);
}

/** The sum of all elements, as a 0-d tensor. */
export function sumAll(x: Tensor): Tensor {
  const y = viewOf(native().sumAll(h(x)), []);
  if (needsGrad(x)) {
    const inShape = x.shape;
    record('sumAll', [x], [y], () => ([g]) => [expandScalar(g!, inShape)]);
  }
  return y;
}

// --- rows and columns -----------------------------------------------------------------------

export type IndexLike = Tensor | Int32Array | readonly number[];

// The int32 index tensor for `idx` on `device`, and whether it was made here (and must go).
function indexTensor(idx: IndexLike, device: Device): { t: Tensor; owned: boolean } {
  if (idx instanceof Tensor) return { t: idx, owned: false };
  const data = idx instanceof Int32Array ? idx : Int32Array.from(idx);
  return { t: fromHandle(native().fromTypedArray(data, [data.length], device), [data.length]), owned: true };
}

/**
 * Rows of `x` (N, ...) picked by `idx` (M): row idx[m] of x, or a zero row where idx[m] is -1.
 * The gradient scatters back (repeated indices accumulate).
 */
export function gatherRows(x: Tensor, idx: IndexLike): Tensor {
  if (x.ndim < 1) throw rnnlmError('ERR_RNNLM_SHAPE', 'gatherRows: x must have at least one dimension');
  const { t: it, owned } = indexTensor(idx, x.device);
  const rows = x.shape[0]!;
  const rest = x.shape.slice(1);
  const width = product(rest);
  const x2 = h(x).reshape([rows, width]);
  let out: NativeTensor;
  try {
    out = native().gatherRows(x2, h(it));
  } catch (error) {
    if (owned) it.dispose();
    throw error;
  } finally {
    x2.dispose();
  }
  const m = it.numel;
  const y = viewOf(out, [m, ...rest]);
  if (needsGrad(x)) {
    const inShape = x.shape;
    record('gatherRows', [x, null], [y], (node) => {
      const si = owned ? node.adopt(it) : node.save(it);
      return ([g]) => {
        const dx = zeros([rows, width], { device: g!.device });
        const g2 = h(g!).reshape([m, width]);
        native().scatterAddRows_(h(dx), h(si), g2);
        g2.dispose();
        return [reshape(dx, inShape)];
      };
    });
  } else if (owned) {
    it.dispose();
  }
  return y;
}

/** Concatenates 2-D tensors with equal row counts along columns. */
export function concatCols(parts: readonly Tensor[]): Tensor {
  const y = fromHandle(native().concatCols(parts.map(h)));
  if (needsGrad(...parts)) {
    const widths = parts.map((p) => p.shape[1] ?? 0);
    record('concatCols', parts, [y], (node) => ([g]) => {
      let start = 0;
      return widths.map((w, i) => {
        const piece = node.needsInputGrad(i) ? fromHandle(native().sliceCols(h(g!), start, w)) : null;
        start += w;
        return piece;
      });
    });
  }
  return y;
}

/** Columns [start, start + width) of a 2-D tensor, as a new tensor. */
export function sliceCols(x: Tensor, start: number, width: number): Tensor {
  const y = fromHandle(native().sliceCols(h(x), start, width));
  if (needsGrad(x)) {
    const [rows = 0, cols = 0] = x.shape;
    record('sliceCols', [x], [y], () => ([g]) => {
      const pieces: Tensor[] = [];
      if (start > 0) pieces.push(zeros([rows, start], { device: g!.device }));
      pieces.push(g!);
      if (cols - start - width > 0) pieces.push(zeros([rows, cols - start - width], { device: g!.device }));
      return [pieces.length === 1 ? g : concatCols(pieces)];
    });
  }
  return y;
}

/** Concatenates tensors along dimension 0 (trailing dimensions equal). */
export function concatRows(parts: readonly Tensor[]): Tensor {
  const y = fromHandle(native().concatRows(parts.map(h)));
  if (needsGrad(...parts)) {
    const counts = parts.map((p) => p.shape[0] ?? 0);
    record('concatRows', parts, [y], (node) => ([g]) => {
      let start = 0;
      return counts.map((n, i) => {
        const piece = node.needsInputGrad(i) ? fromHandle(native().sliceRows(h(g!), start, n)) : null;
        start += n;
        return piece;
      });
    });
  }
  return y;
}

/** Rows [start, start + count) (along dimension 0), as a new tensor. */
export function sliceRows(x: Tensor, start: number, count: number): Tensor {
  const y = fromHandle(native().sliceRows(h(x), start, count));
  if (needsGrad(x)) {
    const rows = x.shape[0] ?? 0;
    const rest = x.shape.slice(1);
    record('sliceRows', [x], [y], () => ([g]) => {
      const pieces: Tensor[] = [];
      if (start > 0) pieces.push(zeros([start, ...rest], { device: g!.device }));
      pieces.push(g!);
      if (rows - start - count > 0) pieces.push(zeros([rows - start - count, ...rest], { device: g!.device }));
      return [pieces.length === 1 ? g : concatRows(pieces)];
    });
  }
  return y;
}

// --- layers ---------------------------------------------------------------------------------

/** Rows of `weight` (V, E) for int32 `ids` of any shape S: S ++ (E). */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  const y = fromHandle(native().embeddingForward(h(weight), h(ids)));
  if (needsGrad(weight)) {
    const wShape = weight.shape;
    const vocab = wShape[0] ?? 0;
    record('embedding', [weight, null], [y], (node) => {
      const si = node.save(ids);
      return ([g]) => [fromHandle(native().embeddingBackward(h(g!), h(si), vocab), wShape), null];
    });
  }
  return y;
}

function linear2d(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const y = fromHandle(native().linearForward(h(x), h(weight), bias !== null ? h(bias) : null));
  if (needsGrad(x, weight, bias)) {
    const hasBias = bias !== null;
    record('linear', [x, weight, bias], [y], (node) => {
      const sx = node.save(x);
      const sw = node.save(weight);
      return ([g]) => {
        const r = native().linearBackward(h(g!), h(sx), h(sw), hasBias, node.needsInputGrad(0));
        return [
          r.dx !== null ? fromHandle(r.dx) : null,
          fromHandle(r.dw),
          r.db !== null ? fromHandle(r.db) : null,
        ];
      };
    });
  }
  return y;
}

/** x (..., In) @ weight (Out, In)^T + bias (Out) -> (..., Out). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  if (x.ndim === 2) return linear2d(x, weight, bias);
  if (x.ndim < 1) throw rnnlmError('ERR_RNNLM_SHAPE', 'linear: x must have at least one dimension');
  const inFeatures = x.shape[x.ndim - 1]!;
  const lead = x.shape.slice(0, -1);
  const x2 = reshape(x, [product(lead), inFeatures]);
  const y2 = linear2d(x2, weight, bias);
  const y = reshape(y2, [...lead, y2.shape[1]!]);
  // The nodes hold what they need; the intermediate handles can go now.
  x2.dispose();
  y2.dispose();
  return y;
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p).
 * The mask comes from the engine's Philox stream (seed, offset) drawn from `generator`.
 * With training false (or p = 0) it is the identity (a view).
 */
export function dropout(x: Tensor, p: number, training = true, generator: Generator = defaultGenerator): Tensor {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `dropout probability must be in [0, 1], got ${p}`);
  }
  if (!training || p === 0) return reshape(x, x.shape);
  if (p === 1) {
    const z = zeros(x.shape, { device: x.device });
    const y = mul(x, z);
    z.dispose();
    return y;
  }
  const { seed, offset } = generator.next();
  const r = native().dropoutForward(h(x), p, seed, offset);
  const y = fromHandle(r.y, x.shape);
  const mask = fromHandle(r.mask, x.shape);
  if (needsGrad(x)) {
    record('dropout', [x], [y], (node) => {
      const sm = node.adopt(mask);
      return ([g]) => [mul(g!, sm)];
    });
  } else {
    mask.dispose();
  }
  return y;
}

export interface RnnLayerWeights {
  wIh: Tensor;
  wHh: Tensor;
  bIh?: Tensor | null;
  bHh?: Tensor | null;
}

export interface RnnLayerOptions {
  cell: CellKind;
  /** Walk the sequences backwards (the reverse direction of a bidirectional layer). */
  reverse?: boolean;
  /** Initial states (B, H), in the packed (sorted) batch order; zeros when absent. */
  h0?: Tensor | null;
  c0?: Tensor | null;
}

export interface RnnLayerResult {
  /** (N, H) outputs, packed like x. */
  y: Tensor;
  /** (B, H) final hidden state of every sequence. */
  hN: Tensor;
  /** (B, H) final cell state (LSTM), else null. */
  cN: Tensor | null;
}

interface RnnLayerSaved {
  x: Tensor;
  wIh: Tensor;
  wHh: Tensor;
  bIh: Tensor | null;
  bHh: Tensor | null;
  h0: Tensor | null;
  c0: Tensor | null;
  y: Tensor;
  hN: Tensor;
  cN: Tensor | null;
  workspace: Tensor;
}

// Built at top level so that the closure sees only the saved aliases: a closure created inside
// rnnLayer would keep its outputs reachable from their own node (and from the finalizer's
// records), so forgotten outputs could never be collected.
function rnnLayerBackward(spec: NativeLayerSpec, s: RnnLayerSaved): BackwardFn {
  const nh = (t: Tensor | null | undefined): NativeTensor | null => (t != null ? h(t) : null);
  const w = (t: NativeTensor | null): Tensor | null => (t !== null ? fromHandle(t) : null);
  return ([dy, dhN, dcN]) => {
    const dyOrZeros = dy ?? zeros(s.y.shape, { device: s.y.device });
    const r = native().rnnLayerBackward(
      spec,
      h(s.x),
      { wIh: h(s.wIh), wHh: h(s.wHh), bIh: nh(s.bIh), bHh: nh(s.bHh) },
      nh(s.h0),
      nh(s.c0),
      { y: h(s.y), hN: h(s.hN), cN: nh(s.cN), workspace: h(s.workspace) },
      h(dyOrZeros),
      nh(dhN),
      nh(dcN),
    );
    // Order of the node's inputs: x, wIh, wHh, bIh, bHh, h0, c0.
    return [w(r.dx), w(r.dwIh), w(r.dwHh), w(r.dbIh), w(r.dbHh), w(r.dh0), w(r.dc0)];
  };
}

/**
 * One recurrent layer in one direction over a packed batch: x (N, In) holds time-major rows,
 * step t having batchSizes[t] rows (non-increasing). The whole time loop runs in the engine.
 */
export function rnnLayer(
  x: Tensor,
  batchSizes: Int32Array | readonly number[],
  weights: RnnLayerWeights,
  options: RnnLayerOptions,
): RnnLayerResult {
  const spec: NativeLayerSpec = {
    cell: options.cell,
    reverse: options.reverse ?? false,
    fused: fusedCells(),
    batchSizes: Int32Array.from(batchSizes),
  };
  const bIh = weights.bIh ?? null;
  const bHh = weights.bHh ?? null;
  const h0 = options.h0 ?? null;
  const c0 = options.c0 ?? null;
  const nw = {
    wIh: h(weights.wIh),
    wHh: h(weights.wHh),
    bIh: bIh !== null ? h(bIh) : null,
    bHh: bHh !== null ? h(bHh) : null,
  };
  const f = native().rnnLayerForward(spec, h(x), nw, h0 !== null ? h(h0) : null, c0 !== null ? h(c0) : null);
  const y = fromHandle(f.y);
  const hN = fromHandle(f.hN);
  const cN = f.cN !== null ? fromHandle(f.cN) : null;
  const workspace = fromHandle(f.workspace);
  const inputs = [x, weights.wIh, weights.wHh, bIh, bHh, h0, c0];
  if (needsGrad(...inputs)) {
    record('rnnLayer', inputs, [y, hN, cN], (node) => {
      const opt = (t: Tensor | null): Tensor | null => (t !== null ? node.save(t) : null);
      return rnnLayerBackward(spec, {
        x: node.save(x),
        wIh: node.save(weights.wIh),
        wHh: node.save(weights.wHh),
        bIh: opt(bIh),
        bHh: opt(bHh),
        h0: opt(h0),
        c0: opt(c0),
        y: node.save(y),
        hN: node.save(hN),
        cN: opt(cN),
        workspace: node.adopt(workspace),
      });
    });
  } else {
    workspace.dispose();
  }
  return { y, hN, cN };
}

export type Reduction = 'mean' | 'sum';

export interface SoftmaxNllOptions {
  /** Targets equal to this count for nothing (default -100, as PyTorch). */
  ignoreIndex?: number;
  /** 'mean' over counted targets (default) or 'sum'. */
  reduction?: Reduction;
}

/**
 * Fused log-softmax + negative log-likelihood of int32 `targets` (N) under `logits` (N, V).
 * Returns the loss (0-d) and the number of counted targets (0-d, float). The logits' gradient
 * is computed in the same pass and kept for backward.
 */
export function softmaxNll(logits: Tensor, targets: Tensor, options: SoftmaxNllOptions = {}): { loss: Tensor; count: Tensor } {
  const r = native().softmaxNll(h(logits), h(targets), options.ignoreIndex ?? -100, options.reduction ?? 'mean');
  const loss = viewOf(r.loss, []);
  const count = viewOf(r.count, []);
  const dlogits = fromHandle(r.dlogits, logits.shape);
  if (needsGrad(logits)) {
    record('softmaxNll', [logits, null], [loss], (node) => {
      const sd = node.adopt(dlogits);
      return ([g]) => {
        const out = node.take(sd);
        // The loss gradient is a scalar; a backward seed knows its value, anything else is read
        // back (4 bytes), which beats materialising a V-wide broadcast of it.
        const s = g!._scalarHint ?? g!.item();
        if (s !== 1) native().scale_(h(out), s);
        return [out, null];
      };
    });
  } else {
    dlogits.dispose();
  }
  return { loss, count };
}

/**
 * Cross-entropy of int32 class targets under logits, like nn.CrossEntropyLoss with the class
 * dimension last: logits (..., V), targets (...). Returns a 0-d loss.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: SoftmaxNllOptions = {}): Tensor {
  if (logits.ndim === 2) {
    const { loss, count } = softmaxNll(logits, targets, options);
    count.dispose();
    return loss;
  }
  if (logits.ndim < 2) throw rnnlmError('ERR_RNNLM_SHAPE', 'crossEntropy: logits must be (..., V)');
  const vocab = logits.shape[logits.ndim - 1]!;
  const l2 = reshape(logits, [-1, vocab]);
  const t1 = reshape(targets, [-1]);
  const { loss, count } = softmaxNll(l2, t1, options);
  l2.dispose();
  t1.dispose();
  count.dispose();
  return loss;
}

/** Log-probabilities over the last dimension (for sampling and evaluation; not differentiable). */
export function logSoftmax(logits: Tensor): Tensor {
  if (logits.ndim === 2) return fromHandle(native().logSoftmax(h(logits)), logits.shape);
  const vocab = logits.shape[logits.ndim - 1] ?? 0;
  const l2 = h(logits).reshape([-1, vocab]);
  try {
    return viewOf(native().logSoftmax(l2), logits.shape);
  } finally {
    l2.dispose();
  }
}

installTensorMethods({ reshape, clone, toDevice });
