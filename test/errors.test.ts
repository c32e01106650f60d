// Engine errors reach JS as Errors with the engine's code; bad JS arguments are TypeErrors with
// ERR_RNNLM_ARGUMENT; nothing takes Node down, and the process keeps working afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  tensor,
  zeros,
  ones,
  linear,
  embedding,
  crossEntropy,
  gatherRows,
  concatCols,
  sliceCols,
  rnnLayer,
  dropout,
  mul,
  isRnnlmError,
  liveTensors,
  tidy,
  Embedding,
  LSTM,
  setGemmProvider,
  isDeviceAvailable,
  info,
} from '../src/index.js';
import { native } from '../src/native.js';
import { throwsCode } from './api-helpers.js';

test('shape mismatches throw ERR_RNNLM_SHAPE', () => {
  tidy(() => {
    const x = zeros([4, 3]);
    const w = zeros([5, 2]);
    const e = throwsCode(() => linear(x, w), 'ERR_RNNLM_SHAPE');
    assert.ok(isRnnlmError(e, 'ERR_RNNLM_SHAPE'));
    assert.ok(e.message.length > 10, 'the message says what is wrong');
    throwsCode(() => mul(zeros([2]), zeros([3])), 'ERR_RNNLM_SHAPE');
    throwsCode(() => concatCols([zeros([2, 1]), zeros([3, 1])]), 'ERR_RNNLM_SHAPE');
  });
});

test('out-of-range token ids and row indices throw ERR_RNNLM_INDEX', () => {
  tidy(() => {
    const table = new Embedding(5, 3);
    throwsCode(() => table.forward(tensor([0, 5], null, { dtype: 'int32' })), 'ERR_RNNLM_INDEX');
    throwsCode(() => table.forward(tensor([-1], null, { dtype: 'int32' })), 'ERR_RNNLM_INDEX');
    throwsCode(() => gatherRows(zeros([3, 2]), [0, 3]), 'ERR_RNNLM_INDEX');
    throwsCode(() => gatherRows(zeros([3, 2]), [-2]), 'ERR_RNNLM_INDEX');
    throwsCode(() => sliceCols(zeros([3, 2]), 1, 2), 'ERR_RNNLM_INDEX');
    const logits = zeros([2, 4]);
    throwsCode(() => crossEntropy(logits, tensor([1, 4], null, { dtype: 'int32' })), 'ERR_RNNLM_INDEX');
    table.dispose();
  });
});

test('wrong dtypes throw ERR_RNNLM_DTYPE', () => {
  tidy(() => {
    throwsCode(() => embedding(zeros([4, 2]), zeros([3])), 'ERR_RNNLM_DTYPE');
    throwsCode(() => crossEntropy(zeros([2, 3]), zeros([2])), 'ERR_RNNLM_DTYPE');
    const ids = tensor([1], null, { dtype: 'int32' });
    throwsCode(() => {
      ids.requiresGrad = true;
    }, 'ERR_RNNLM_DTYPE');
  });
});

test('bad scalar arguments throw ERR_RNNLM_ARGUMENT', () => {
  tidy(() => {
    throwsCode(() => dropout(ones([3]), 1.5), 'ERR_RNNLM_ARGUMENT');
    throwsCode(() => new LSTM({ inputSize: 0, hiddenSize: 3 }), 'ERR_RNNLM_ARGUMENT');
    const x = zeros([3, 2]);
    const w = { wIh: zeros([8, 2]), wHh: zeros([8, 2]) };
    throwsCode(() => rnnLayer(x, [2, 1], w, { cell: 'lstm2' as never }), 'ERR_RNNLM_ARGUMENT');
  });
});

test('wrong JS types are TypeErrors with ERR_RNNLM_ARGUMENT', () => {
  const n = native();
  const t = n.zeros([2, 2], 'float32', 'cpu');
  throwsCode(() => n.sliceCols(t, '0' as never, 1), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.sliceCols(t, 0.5, 1), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.fill_(t, null as never), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.concatCols(t as never), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.concatCols([t, 3] as never), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.uniform_(t, 0, 1, -1, 0), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.uniform_(t, 0, 1, 2n ** 64n, 0), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.softmaxNll(t, t, 0, 'median' as never), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.adamStep_(t, t, t, t, null as never), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.adamStep_(t, t, t, t, { lr: 'fast' } as never), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => n.setGemmProvider('fastest' as never), 'ERR_RNNLM_ARGUMENT', true);
  throwsCode(() => setGemmProvider('x' as never), 'ERR_RNNLM_ARGUMENT', true);
  const spec = { cell: 'lstm', reverse: false, fused: true, batchSizes: [1] } as never;
  throwsCode(() => n.rnnLayerForward(spec, t, { wIh: t, wHh: t, bIh: null, bHh: null }, null, null), 'ERR_RNNLM_ARGUMENT', true);
  t.dispose();
});

test('a JS getter that throws while the addon reads an argument surfaces as that error', () => {
  const n = native();
  const t = n.zeros([2, 2], 'float32', 'cpu');
  const options = {
    get lr(): number {
      throw new RangeError('from a getter');
    },
  };
  assert.throws(() => n.adamStep_(t, t, t, t, options as never), (e: Error) => e instanceof RangeError);
  t.dispose();
});

test('a handle disposed by a getter mid-call does not crash the engine', () => {
  const n = native();
  const x = n.zeros([3, 2], 'float32', 'cpu');
  const w = n.zeros([8, 2], 'float32', 'cpu');
  const u = n.zeros([8, 2], 'float32', 'cpu');
  const weights = {
    get wIh() {
      x.dispose();
      return w;
    },
    wHh: u,
    bIh: null,
    bHh: null,
  };
  const spec = { cell: 'lstm' as const, reverse: false, fused: true, batchSizes: new Int32Array([2, 1]) };
  // Either the call succeeds on the storage it already holds, or it reports an engine error.
  try {
    const r = n.rnnLayerForward(spec, x, weights as never, null, null);
    for (const v of Object.values(r)) v?.dispose();
  } catch (error) {
    assert.ok(isRnnlmError(error));
  }
  for (const h of [w, u]) h.dispose();
});

test('a device that is not available throws ERR_RNNLM_DEVICE', () => {
  if (isDeviceAvailable('cuda')) return;
  assert.is(info().cuda, null);
  throwsCode(() => zeros([2], { device: 'cuda' }), 'ERR_RNNLM_DEVICE');
  throwsCode(() => tidy(() => ones([2]).to('cuda')), 'ERR_RNNLM_DEVICE');
  assert.ok(isDeviceAvailable('cpu'));
});

test('Node survives a burst of errors and keeps computing', () => {
  const before = liveTensors();
  for (let i = 0; i < 200; i++) {
    try {
      tidy(() => linear(zeros([2, 3]), zeros([4, 5])));
    } catch {
      // expected
    }
  }
  const y = tidy(() => linear(ones([1, 2]), ones([3, 2]), ones([3])));
  assert.equal(y.toArray(), [3, 3, 3]);
  y.dispose();
  assert.is(liveTensors(), before);
});

test.run();
