// Packing, padding and unsorting, against hand-computed layouts (torch.nn.utils.rnn semantics).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  tensor,
  tidy,
  liveTensors,
  mul,
  sumAll,
  PackedSequence,
  packPaddedSequence,
  padPackedSequence,
  packSequence,
  packIds,
} from '../src/index.js';
import { close, throwsCode } from './api-helpers.js';

// padded[t][b] = 10 * (b + 1) + t, T = 3, B = 3
const paddedValues = [10, 20, 30, 11, 21, 31, 12, 22, 32];

test('packPaddedSequence, unsorted lengths: stable sort by decreasing length', () => {
  tidy(() => {
    const padded = tensor(paddedValues, [3, 3, 1]);
    const p = packPaddedSequence(padded, [2, 3, 1], { enforceSorted: false });
    assert.equal(Array.from(p.batchSizes), [3, 2, 1]);
    assert.equal(Array.from(p.sortedIndices!), [1, 0, 2]);
    assert.equal(Array.from(p.unsortedIndices!), [1, 0, 2]);
    assert.equal(p.data.shape, [6, 1]);
    assert.equal(p.data.toArray(), [20, 10, 30, 21, 11, 22]);
    assert.equal(Array.from(p.lengths()), [2, 3, 1]);
    assert.is(p.batchSize, 3);
    assert.is(p.maxLength, 3);
  });
});

test('equal lengths keep their batch order (stable), sorted input needs no indices', () => {
  tidy(() => {
    const padded = tensor(paddedValues, [3, 3, 1]);
    const ties = packPaddedSequence(padded, [2, 3, 2], { enforceSorted: false });
    assert.equal(Array.from(ties.sortedIndices!), [1, 0, 2]);
    assert.equal(ties.data.toArray(), [20, 10, 30, 21, 11, 31, 22]);
    const sorted = packPaddedSequence(padded, [3, 2, 2]);
    assert.is(sorted.sortedIndices, null);
    assert.is(sorted.unsortedIndices, null);
    assert.equal(Array.from(sorted.batchSizes), [3, 3, 1]);
    assert.equal(sorted.data.toArray(), [10, 20, 30, 11, 21, 31, 12]);
  });
});

test('enforceSorted (the default) rejects unsorted lengths; lengths are validated', () => {
  tidy(() => {
    const padded = tensor(paddedValues, [3, 3, 1]);
    throwsCode(() => packPaddedSequence(padded, [2, 3, 1]), 'ERR_RNNLM_ARGUMENT');
    throwsCode(() => packPaddedSequence(padded, [3, 0, 1]), 'ERR_RNNLM_ARGUMENT');
    throwsCode(() => packPaddedSequence(padded, [4, 3, 1]), 'ERR_RNNLM_ARGUMENT');
    throwsCode(() => packPaddedSequence(padded, [3, 2]), 'ERR_RNNLM_SHAPE');
  });
});

test('padPackedSequence restores the original order with zeros past each length', () => {
  tidy(() => {
    const padded = tensor(paddedValues, [3, 3, 1]);
    const p = packPaddedSequence(padded, [2, 3, 1], { enforceSorted: false });
    const { padded: back, lengths } = padPackedSequence(p);
    assert.equal(back.shape, [3, 3, 1]);
    assert.equal(back.toArray(), [10, 20, 30, 11, 21, 0, 0, 22, 0]);
    assert.equal(Array.from(lengths), [2, 3, 1]);
    const longer = padPackedSequence(p, { totalLength: 4, paddingValue: -1 });
    assert.equal(longer.padded.shape, [4, 3, 1]);
    assert.equal(longer.padded.toArray(), [10, 20, 30, 11, 21, -1, -1, 22, -1, -1, -1, -1]);
    throwsCode(() => padPackedSequence(p, { totalLength: 2 }), 'ERR_RNNLM_ARGUMENT');
  });
});

test('batchFirst packs (B, T, ...) and pads back to it', () => {
  tidy(() => {
    // (B = 2, T = 3, D = 2)
    const bt = tensor([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6], [2, 3, 2]);
    const p = packPaddedSequence(bt, [2, 3], { enforceSorted: false, batchFirst: true });
    assert.equal(Array.from(p.batchSizes), [2, 2, 1]);
    assert.equal(p.data.toArray(), [4, 4, 1, 1, 5, 5, 2, 2, 6, 6]);
    const { padded } = padPackedSequence(p, { batchFirst: true });
    assert.equal(padded.shape, [2, 3, 2]);
    assert.equal(padded.toArray(), [1, 1, 2, 2, 0, 0, 4, 4, 5, 5, 6, 6]);
  });
});

test('gradients flow through packing and padding to the valid positions only', () => {
  const padded = tensor(paddedValues, [3, 3, 1], { requiresGrad: true });
  tidy(() => {
    const p = packPaddedSequence(padded, [2, 3, 1], { enforceSorted: false });
    const { padded: back } = padPackedSequence(p.withData(mul(p.data, p.data)));
    sumAll(back).backward();
  });
  close(padded.grad!.toArray(), [20, 40, 60, 22, 42, 0, 0, 44, 0]);
  padded.dispose();
});

test('packSequence of (L_i, D) tensors, sorted and unsorted', () => {
  tidy(() => {
    const a = tensor([1, 2], [2, 1]);
    const b = tensor([3, 4, 5], [3, 1]);
    const c = tensor([6], [1, 1]);
    const p = packSequence([a, b, c], { enforceSorted: false });
    assert.equal(Array.from(p.batchSizes), [3, 2, 1]);
    assert.equal(p.data.toArray(), [3, 1, 6, 4, 2, 5]);
    assert.equal(Array.from(p.unsortedIndices!), [1, 0, 2]);
    const s = packSequence([b, a, c]);
    assert.is(s.sortedIndices, null);
    assert.equal(s.data.toArray(), [3, 1, 6, 4, 2, 5]);
    throwsCode(() => packSequence([a, b, c]), 'ERR_RNNLM_ARGUMENT');
  });
});

test('packIds packs token ids on the host, sorting by default', () => {
  tidy(() => {
    const p = packIds([[5, 6], [7, 8, 9], [1]]);
    assert.is(p.data.dtype, 'int32');
    assert.equal(Array.from(p.data.toInt32Array()), [7, 5, 1, 8, 6, 9]);
    assert.equal(Array.from(p.batchSizes), [3, 2, 1]);
    assert.equal(Array.from(p.sortedIndices!), [1, 0, 2]);
    // Targets of the same lengths pack row for row like their inputs.
    const t = packIds([[6, 0], [8, 9, 0], [0]]);
    assert.equal(Array.from(t.sortedIndices!), [1, 0, 2]);
    assert.equal(Array.from(t.data.toInt32Array()), [8, 6, 0, 9, 0, 0]);
    throwsCode(() => packIds([[1], []]), 'ERR_RNNLM_ARGUMENT');
    throwsCode(() => packIds([[1.5]]), 'ERR_RNNLM_ARGUMENT');
    throwsCode(() => packIds([[1], [2, 3]], { enforceSorted: true }), 'ERR_RNNLM_ARGUMENT');
    // int32 data pads back too.
    const { padded, lengths } = padPackedSequence(p, { paddingValue: -1 });
    assert.equal(Array.from(padded.toInt32Array()), [5, 7, 1, 6, 8, -1, -1, 9, -1]);
    assert.equal(Array.from(lengths), [2, 3, 1]);
  });
});

test('packing leaks nothing', () => {
  const before = liveTensors();
  for (let i = 0; i < 20; i++) {
    tidy(() => {
      const p = packPaddedSequence(tensor(paddedValues, [3, 3, 1]), [2, 3, 1], { enforceSorted: false });
      padPackedSequence(p);
    });
  }
  assert.is(liveTensors(), before);
  assert.ok(PackedSequence);
});

test.run();
