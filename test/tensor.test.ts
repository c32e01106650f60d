// Tensor handles: round trips, views, dispose semantics, tidy scopes and the live counters.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Tensor,
  tensor,
  zeros,
  ones,
  full,
  fromFloat32Array,
  fromInt32Array,
  tidy,
  keep,
  liveTensors,
  nativeMemory,
  mul,
  info,
} from '../src/index.js';
import { native } from '../src/native.js';
import { close, throwsCode } from './api-helpers.js';

test('float32 round trip keeps values and shape', () => {
  const t = tensor([[1, 2, 3], [4.5, -5, 6]]);
  assert.equal(t.shape, [2, 3]);
  assert.is(t.dtype, 'float32');
  assert.is(t.device, 'cpu');
  assert.is(t.numel, 6);
  assert.is(t.ndim, 2);
  assert.equal(Array.from(t.toFloat32Array()), [1, 2, 3, 4.5, -5, 6]);
  t.dispose();
});

test('int32 round trip and dtype rules', () => {
  const t = tensor([3, -1, 7], null, { dtype: 'int32' });
  assert.is(t.dtype, 'int32');
  assert.equal(Array.from(t.toInt32Array()), [3, -1, 7]);
  assert.equal(Array.from(t.toFloat32Array()), [3, -1, 7]);
  const f = tensor([1.5]);
  throwsCode(() => f.toInt32Array(), 'ERR_RNNLM_DTYPE');
  throwsCode(() => tensor([1.5], null, { dtype: 'int32' }), 'ERR_RNNLM_ARGUMENT');
  const i = fromInt32Array(new Int32Array([1, 2, 3, 4]), [2, 2]);
  assert.equal(i.toArray(), [1, 2, 3, 4]);
  t.dispose();
  f.dispose();
  i.dispose();
});

test('typed-array factories, flat data with a shape, scalars', () => {
  const a = fromFloat32Array(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  assert.equal(a.shape, [3, 2]);
  const b = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.equal(b.shape, [2, 3]);
  const s = tensor(7.25);
  assert.equal(s.shape, []);
  assert.is(s.item(), 7.25);
  throwsCode(() => a.item(), 'ERR_RNNLM_SHAPE');
  throwsCode(() => tensor([1, 2, 3], [2, 2]), 'ERR_RNNLM_SHAPE');
  throwsCode(() => tensor([[1, 2], [3]]), 'ERR_RNNLM_SHAPE');
  for (const t of [a, b, s]) t.dispose();
});

test('zeros, ones, full', () => {
  const z = zeros([2, 2]);
  const o = ones([3]);
  const f = full([2], -2.5);
  assert.equal(z.toArray(), [0, 0, 0, 0]);
  assert.equal(o.toArray(), [1, 1, 1]);
  assert.equal(f.toArray(), [-2.5, -2.5]);
  const zi = zeros([2], { dtype: 'int32' });
  assert.equal(Array.from(zi.toInt32Array()), [0, 0]);
  for (const t of [z, o, f, zi]) t.dispose();
});

test('reshape is a view sharing storage; -1 infers a dimension', () => {
  const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const v = t.reshape(3, -1);
  assert.equal(v.shape, [3, 2]);
  assert.equal(v.toArray(), [1, 2, 3, 4, 5, 6]);
  const before = nativeMemory().count;
  const w = t.reshape([6]);
  assert.is(nativeMemory().count, before, 'a view allocates no storage');
  // The view keeps the storage alive after the original handle is disposed.
  t.dispose();
  assert.equal(w.toArray(), [1, 2, 3, 4, 5, 6]);
  throwsCode(() => w.reshape(4, 2), 'ERR_RNNLM_SHAPE');
  v.dispose();
  w.dispose();
});

test('dispose frees the storage now; use after dispose throws ERR_RNNLM_DISPOSED', () => {
  const base = nativeMemory();
  const t = zeros([100, 100]);
  assert.is(nativeMemory().count, base.count + 1);
  assert.is(nativeMemory().bytes, base.bytes + 40000);
  assert.is(t.isDisposed, false);
  t.dispose();
  assert.is(t.isDisposed, true);
  assert.is(nativeMemory().count, base.count);
  t.dispose(); // idempotent
  throwsCode(() => t.toFloat32Array(), 'ERR_RNNLM_DISPOSED');
  throwsCode(() => t.item(), 'ERR_RNNLM_DISPOSED');
  const other = zeros([100, 100]);
  throwsCode(() => mul(t, other), 'ERR_RNNLM_DISPOSED');
  throwsCode(() => mul(other, t), 'ERR_RNNLM_DISPOSED');
  other.dispose();
});

test('native handles: disposed handles throw ERR_RNNLM_DISPOSED, fakes throw TypeError', () => {
  const n = native();
  const h = n.zeros([2], 'float32', 'cpu');
  h.dispose();
  assert.is(h.disposed, true);
  throwsCode(() => h.shape, 'ERR_RNNLM_DISPOSED');
  throwsCode(() => n.clone(h), 'ERR_RNNLM_DISPOSED');
  // A look-alike object is not a tensor.
  const fake = { shape: [2], dtype: 'float32', device: 'cpu' };
  throwsCode(() => n.clone(fake as never), 'ERR_RNNLM_ARGUMENT', true);
  // Direct construction from JS is refused.
  const Ctor = (n as unknown as { NativeTensor: new () => unknown }).NativeTensor;
  throwsCode(() => new Ctor(), 'ERR_RNNLM_ARGUMENT', true);
  // Wrong JS types are TypeErrors with ERR_RNNLM_ARGUMENT.
  throwsCode(() => n.zeros('2' as never, 'float32', 'cpu'), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.zeros([2.5], 'float32', 'cpu'), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.zeros([2], 'float64' as never, 'cpu'), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.zeros([2], 'float32', 'tpu' as never), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.fromTypedArray(new Float64Array(2) as never, [2], 'cpu'), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.zeros([-1], 'float32', 'cpu'), 'ERR_RNNLM_SHAPE');
  // toArrayBuffer into a target checks its type and length.
  const t = n.fromTypedArray(new Float32Array([1, 2]), [2], 'cpu');
  throwsCode(() => t.toArrayBuffer(new Int32Array(2)), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => t.toArrayBuffer(new Float32Array(3)), 'ERR_RNNLM_SHAPE');
  const out = new Float32Array(4);
  t.toArrayBuffer(out.subarray(1, 3));
  assert.equal(Array.from(out), [0, 1, 2, 0]);
  assert.equal(Array.from(new Float32Array(t.toArrayBuffer())), [1, 2]);
  // Offset views and shared memory work both ways.
  const shared = new Float32Array(new SharedArrayBuffer(16));
  t.toArrayBuffer(shared.subarray(2));
  assert.equal(Array.from(shared), [0, 0, 1, 2]);
  const u = n.fromTypedArray(shared.subarray(1, 3), [2], 'cpu');
  assert.equal(Array.from(new Float32Array(u.toArrayBuffer())), [0, 1]);
  t.dispose();
  u.dispose();
});

test('tidy disposes what it created except what it returns, nested', () => {
  const before = liveTensors();
  const outer = tidy(() => {
    const a = ones([2]);
    const inner = tidy(() => {
      const b = ones([2]);
      const c = mul(a, b);
      return { c, list: [mul(c, c)] };
    });
    assert.is(liveTensors(), before + 3, 'a, c and c*c alive after the inner scope');
    return inner.list[0]!;
  });
  assert.is(liveTensors(), before + 1);
  assert.equal(outer.toArray(), [1, 1]);
  outer.dispose();
  assert.is(liveTensors(), before);
});

test('tidy keep() exempts a tensor; a throwing fn still frees everything', () => {
  const before = liveTensors();
  let kept: Tensor | null = null;
  tidy(() => {
    kept = keep(ones([3]));
    ones([3]);
  });
  assert.is(liveTensors(), before + 1);
  kept!.dispose();
  assert.throws(() =>
    tidy(() => {
      ones([3]);
      throw new Error('boom');
    }),
  );
  assert.is(liveTensors(), before);
});

test('tidy refuses async functions', () => {
  const before = liveTensors();
  throwsCode(() => tidy(async () => ones([1])), 'ERR_RNNLM_ARGUMENT', true);
  assert.is(liveTensors(), before);
});

test('liveTensors counts handles; nativeMemory counts storages', () => {
  const t0 = liveTensors();
  const m0 = nativeMemory();
  const a = zeros([10]);
  const b = a.reshape(2, 5);
  assert.is(liveTensors(), t0 + 2);
  assert.is(nativeMemory().count, m0.count + 1);
  a.dispose();
  assert.is(nativeMemory().count, m0.count + 1, 'the view still holds the storage');
  b.dispose();
  assert.is(liveTensors(), t0);
  assert.is(nativeMemory().count, m0.count);
});

test('info() reports the backend', () => {
  const i = info();
  assert.type(i.backend, 'string');
  assert.type(i.blas, 'string');
  assert.ok(i.gemmProvider === 'blas' || i.gemmProvider === 'builtin');
  assert.ok(i.threads >= 1);
  assert.type(i.cudaCompiled, 'boolean');
  close([1], [1]);
});

test.run();
