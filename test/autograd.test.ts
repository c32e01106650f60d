// The autograd tape on small graphs, against gradients computed by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  tensor,
  zeros,
  ones,
  tidy,
  liveTensors,
  nativeMemory,
  noGrad,
  mul,
  add,
  sub,
  scale,
  sumAll,
  linear,
  embedding,
  gatherRows,
  concatCols,
  sliceCols,
  concatRows,
  sliceRows,
  reshape,
  crossEntropy,
  softmaxNll,
  logSoftmax,
  dropout,
  manualSeed,
  type Tensor,
} from '../src/index.js';
import { close, throwsCode } from './api-helpers.js';

const leaf = (data: number[], shape: number[]): Tensor => tensor(data, shape, { requiresGrad: true });

test('mul, add, scale, sumAll: d/dx sum(2*(x*y) + x) = 2y + 1', () => {
  const x = leaf([1, 2, 3], [3]);
  const y = leaf([4, 5, 6], [3]);
  tidy(() => {
    const loss = sumAll(add(scale(mul(x, y), 2), x));
    assert.equal(loss.shape, []);
    assert.is(loss.item(), 2 * (4 + 10 + 18) + 6);
    loss.backward();
  });
  close(x.grad!.toArray(), [9, 11, 13]);
  close(y.grad!.toArray(), [2, 4, 6]);
  x.dispose();
  y.dispose();
});

test('gradients accumulate across backward calls until cleared', () => {
  const x = leaf([1, -2], [2]);
  for (let i = 0; i < 3; i++) tidy(() => sumAll(mul(x, x)).backward());
  close(x.grad!.toArray(), [6, -12]);
  x.grad!.dispose();
  x.grad = null;
  tidy(() => sumAll(sub(x, scale(x, 3))).backward());
  close(x.grad!.toArray(), [-2, -2]);
  x.dispose();
});

test('a tensor used twice (x*x, add(x, x)) gets both contributions', () => {
  const x = leaf([3], [1]);
  tidy(() => sumAll(add(mul(x, x), add(x, x))).backward());
  close(x.grad!.toArray(), [2 * 3 + 2]);
  x.dispose();
});

test('one gradient routed to two inputs survives the first input consuming it (x.grad already set)', () => {
  // add() hands the same gradient tensor to both inputs; accumulating into x's existing .grad
  // disposes the tensor it was given, so y's share must not be a copy made after that.
  const x = leaf([1, 2], [2]);
  const y = leaf([3, 4], [2]);
  x.grad = ones([2]);
  tidy(() => sumAll(scale(add(x, y), 3)).backward());
  close(x.grad!.toArray(), [4, 4]);
  close(y.grad!.toArray(), [3, 3]);
  x.dispose();
  y.dispose();
});

test('backward with an explicit gradient and through reshape', () => {
  const x = leaf([1, 2, 3, 4, 5, 6], [2, 3]);
  tidy(() => {
    const y = reshape(scale(x, 2), [3, 2]);
    y.backward(tensor([1, 0, 0, 1, 2, 0], [3, 2]));
  });
  close(x.grad!.toArray(), [2, 0, 0, 2, 4, 0]);
  x.dispose();
});

test('linear: dx = dy W, dW = dy^T x, db = sum dy', () => {
  const x = leaf([1, 2, 3, 4], [2, 2]);
  const w = leaf([1, 0, -1, 2, 0.5, 0.5], [3, 2]);
  const b = leaf([0.1, 0.2, 0.3], [3]);
  tidy(() => {
    const y = linear(x, w, b);
    close(y.toArray(), [1.1, 3.2, 1.8, 3.1, 5.2, 3.8]);
    // loss = sum(y * c) with c = [[1,2,3],[4,5,6]] so dy = c
    const c = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    sumAll(mul(y, c)).backward();
  });
  // dx = c W: row0 = 1*[1,0] + 2*[-1,2] + 3*[.5,.5] = [0.5, 5.5]; row1 = 4*[1,0]+5*[-1,2]+6*[.5,.5] = [2, 13]
  close(x.grad!.toArray(), [0.5, 5.5, 2, 13]);
  // dW = c^T x: row j = c0j*[1,2] + c1j*[3,4]
  close(w.grad!.toArray(), [13, 18, 17, 24, 21, 30]);
  close(b.grad!.toArray(), [5, 7, 9]);
  for (const t of [x, w, b]) t.dispose();
});

test('linear over (T, B, In) flattens the leading dimensions', () => {
  const w = leaf([1, 2], [1, 2]);
  tidy(() => {
    const x = tensor([1, 1, 2, 2, 3, 3, 4, 4], [2, 2, 2]);
    const y = linear(x, w);
    assert.equal(y.shape, [2, 2, 1]);
    close(y.toArray(), [3, 6, 9, 12]);
    sumAll(y).backward();
  });
  close(w.grad!.toArray(), [10, 10]);
  w.dispose();
});

test('embedding: repeated ids accumulate their rows of the gradient', () => {
  const weight = leaf([0, 0, 1, 1, 2, 2, 3, 3], [4, 2]);
  tidy(() => {
    const ids = tensor([[1, 3], [1, 0]], null, { dtype: 'int32' });
    const e = embedding(weight, ids);
    assert.equal(e.shape, [2, 2, 2]);
    close(e.toArray(), [1, 1, 3, 3, 1, 1, 0, 0]);
    sumAll(mul(e, tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]))).backward();
  });
  close(weight.grad!.toArray(), [7, 8, 1 + 5, 2 + 6, 0, 0, 3, 4]);
  weight.dispose();
});

test('gatherRows: -1 gives zero rows; the gradient scatters back and accumulates', () => {
  const x = leaf([1, 2, 3, 4, 5, 6], [3, 2]);
  tidy(() => {
    const g = gatherRows(x, [2, -1, 0, 2]);
    close(g.toArray(), [5, 6, 0, 0, 1, 2, 5, 6]);
    sumAll(mul(g, tensor([1, 1, 2, 2, 3, 3, 4, 4], [4, 2]))).backward();
  });
  close(x.grad!.toArray(), [3, 3, 0, 0, 5, 5]);
  x.dispose();
});

test('concat and slice of columns and rows route gradients to their parts', () => {
  const a = leaf([1, 2], [2, 1]);
  const b = leaf([3, 4, 5, 6], [2, 2]);
  tidy(() => {
    const c = concatCols([a, b]);
    close(c.toArray(), [1, 3, 4, 2, 5, 6]);
    const s = sliceCols(c, 1, 1);
    close(s.toArray(), [3, 5]);
    const r = concatRows([s, sliceRows(c, 1, 1).reshape(3, 1)]);
    close(r.toArray(), [3, 5, 2, 5, 6]);
    sumAll(mul(r, tensor([1, 2, 3, 4, 5], [5, 1]))).backward();
  });
  close(a.grad!.toArray(), [0, 3]);
  close(b.grad!.toArray(), [1, 0, 2 + 4, 5]);
  a.dispose();
  b.dispose();
});

test('crossEntropy: gradient = (softmax - onehot) / counted, ignoreIndex skipped', () => {
  const logits = leaf([0, 0, 0, 1, 2, 3, 5, 5, 5], [3, 3]);
  tidy(() => {
    const targets = tensor([2, 0, -100], null, { dtype: 'int32' });
    const loss = crossEntropy(logits, targets);
    const z = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    const expected = (Math.log(3) + (z - 1)) / 2;
    close([loss.item()], [expected]);
    loss.backward();
  });
  const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
  const s = e[0]! + e[1]! + e[2]!;
  close(
    logits.grad!.toArray(),
    [1 / 6, 1 / 6, -1 / 3, (e[0]! / s - 1) / 2, e[1]! / s / 2, e[2]! / s / 2, 0, 0, 0],
  );
  logits.dispose();
});

test('softmaxNll sum reduction scaled by a non-seed gradient; count reported', () => {
  const logits = leaf([0, 0, 1, 1], [2, 2]);
  tidy(() => {
    const { loss, count } = softmaxNll(logits, tensor([0, 1], null, { dtype: 'int32' }), { reduction: 'sum' });
    assert.is(count.item(), 2);
    close([loss.item()], [2 * Math.log(2)]);
    scale(loss, 3).backward();
  });
  close(logits.grad!.toArray(), [-1.5, 1.5, 1.5, -1.5]);
  logits.dispose();
});

test('(T, B, V) crossEntropy equals the flattened one; logSoftmax is normalised', () => {
  tidy(() => {
    const l = tensor([1, 2, 3, 4, 0, 0, 2, 1], [2, 2, 2]);
    const t = tensor([[0, 1], [1, 0]], null, { dtype: 'int32' });
    const a = crossEntropy(l, t).item();
    const b = crossEntropy(l.reshape(4, 2), t.reshape(4)).item();
    close([a], [b]);
    const ls = logSoftmax(l).toArray();
    for (let i = 0; i < 4; i++) close([Math.exp(ls[2 * i]!) + Math.exp(ls[2 * i + 1]!)], [1]);
  });
});

test('dropout: mask scales by 1/(1-p), gradient uses the same mask; eval is the identity', () => {
  manualSeed(7);
  const x = leaf(new Array(1000).fill(1), [1000]);
  tidy(() => {
    const y = dropout(x, 0.25);
    const values = y.toArray();
    const kept = values.filter((v) => v !== 0);
    for (const v of kept) close([v], [1 / 0.75]);
    assert.ok(kept.length > 650 && kept.length < 850, `kept ${kept.length} of 1000`);
    sumAll(y).backward();
    close(x.grad!.toArray(), values);
    const same = dropout(x, 0.25, false);
    close(same.toArray(), x.toArray());
  });
  // The same seed draws the same mask.
  manualSeed(7);
  const again = tidy(() => dropout(x, 0.25).toArray());
  close(again, x.grad!.toArray());
  x.dispose();
});

test('noGrad records nothing; detach cuts the graph', () => {
  const x = leaf([1, 2], [2]);
  tidy(() => {
    const y = noGrad(() => mul(x, x));
    assert.is(y.requiresGrad, false);
    throwsCode(() => sumAll(y).backward(), 'ERR_RNNLM_AUTOGRAD');
    const d = mul(x, x).detach();
    assert.is(d.requiresGrad, false);
    assert.is(d.isLeaf, true);
  });
  assert.is(x.grad, null);
  x.dispose();
});

test('backward twice through the same graph throws ERR_RNNLM_AUTOGRAD', () => {
  const x = leaf([1], [1]);
  tidy(() => {
    const loss = sumAll(mul(x, x));
    loss.backward();
    throwsCode(() => loss.backward(), 'ERR_RNNLM_AUTOGRAD');
    // Ops on a consumed graph's outputs cannot backpropagate through it either.
    throwsCode(() => scale(loss, 2).backward(), 'ERR_RNNLM_AUTOGRAD');
  });
  x.dispose();
});

test('backward needs a one-element output or an explicit gradient', () => {
  const x = leaf([1, 2], [2]);
  tidy(() => {
    throwsCode(() => mul(x, x).backward(), 'ERR_RNNLM_AUTOGRAD');
    throwsCode(() => mul(x, x).backward(ones([3])), 'ERR_RNNLM_SHAPE');
  });
  x.dispose();
});

test('the graph frees its saved tensors after backward, and when its outputs are disposed', () => {
  const w = leaf([1, 2, 3, 4], [2, 2]);
  const t0 = liveTensors();
  const m0 = nativeMemory().count;
  // Backward inside tidy: everything but the gradient goes.
  tidy(() => sumAll(linear(ones([3, 2]), w)).backward());
  assert.is(liveTensors(), t0 + 1, 'only w.grad remains');
  assert.is(nativeMemory().count, m0 + 1);
  w.grad!.dispose();
  w.grad = null;
  // Forward only, outputs disposed by tidy: the nodes release their saved tensors.
  tidy(() => {
    sumAll(mul(linear(ones([3, 2]), w), ones([3, 2])));
  });
  assert.is(liveTensors(), t0);
  assert.is(nativeMemory().count, m0);
  // Intermediates disposed before backward: the graph still holds what it needs.
  const loss = tidy(() => {
    const h = linear(ones([3, 2]), w);
    const l = sumAll(mul(h, h));
    h.dispose();
    return l;
  });
  loss.backward();
  loss.dispose();
  const grad = w.grad as Tensor | null;
  assert.ok(grad !== null);
  grad.dispose();
  w.grad = null;
  assert.is(liveTensors(), t0);
  assert.is(nativeMemory().count, m0);
  w.dispose();
});

test('requiresGrad rules: leaves settable, non-leaves cannot be cleared', () => {
  tidy(() => {
    const a = zeros([2]);
    assert.is(a.requiresGrad, false);
    a.requiresGrad_();
    assert.is(a.requiresGrad, true);
    const b = mul(a, a);
    assert.is(b.requiresGrad, true);
    assert.is(b.isLeaf, false);
    throwsCode(() => {
      b.requiresGrad = false;
    }, 'ERR_RNNLM_AUTOGRAD');
  });
});

test.run();
