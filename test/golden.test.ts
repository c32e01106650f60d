// Golden vectors: the library against numbers computed by PyTorch (scripts/golden.py wrote
// test/fixtures/*.json; no Python is needed here). Every output, final state and gradient must
// be within 1e-5 (max absolute error), on every GEMM provider and on fused and unfused cells.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Adam,
  AdamW,
  Embedding,
  GRU,
  LSTM,
  Linear,
  PackedSequence,
  RMSprop,
  RNN,
  SGD,
  add,
  clipGradNorm,
  crossEntropy,
  fromFloat32Array,
  keep,
  mul,
  packPaddedSequence,
  packSequence,
  padPackedSequence,
  scale,
  softmaxNll,
  sumAll,
  tidy,
  type Optimizer,
  type RNNBase,
  type Tensor,
} from '../src/index.js';
import { setUnfusedCells } from '../src/nn/cell_path.js';
import {
  ErrorLog,
  expectClose,
  ft,
  gemmProviders,
  loadFixture,
  toTensor,
  withGemm,
  type FixtureCase,
} from './golden-helpers.js';

const TOL = 1e-5;
const log = new ErrorLog();

// --- recurrent layers -------------------------------------------------------------------------

function makeRnn(meta: Record<string, unknown>): RNNBase {
  const options = {
    inputSize: meta['input_size'] as number,
    hiddenSize: meta['hidden_size'] as number,
    numLayers: meta['num_layers'] as number,
    bidirectional: meta['bidirectional'] as boolean,
    bias: meta['bias'] as boolean,
    dropout: 0,
  };
  switch (meta['cell']) {
    case 'lstm':
      return new LSTM(options);
    case 'gru':
      return new GRU(options);
    default:
      return new RNN({ ...options, nonlinearity: meta['nonlinearity'] as 'tanh' | 'relu' });
  }
}

const paramNames = (c: FixtureCase): string[] =>
  Object.keys(c.tensors).filter((k) => /^(weight|bias)_(ih|hh)_l\d+(_reverse)?$/.test(k));

function loadParams(module: RNNBase, c: FixtureCase): void {
  tidy(() => {
    const state: Record<string, Tensor> = {};
    for (const name of paramNames(c)) state[name] = toTensor(ft(c, name));
    module.loadStateDict(state);
  });
}

function ints(c: FixtureCase, name: string): number[] {
  return ft(c, name).data;
}

// Runs the fixture's computation and compares everything it has.
function checkRnnCase(label: string, c: FixtureCase, fused: boolean): void {
  const meta = c.meta;
  const isLstm = meta['cell'] === 'lstm';
  const padded = meta['padded_input'] === true;
  const module = makeRnn(meta);
  setUnfusedCells(module, !fused);
  loadParams(module, c);
  try {
    tidy(() => {
      const h0 = toTensor(ft(c, 'h0'), { requiresGrad: true });
      const c0 = isLstm ? toTensor(ft(c, 'c0'), { requiresGrad: true }) : null;
      let xLeaf: Tensor;
      let packed: PackedSequence;
      if (padded) {
        // (B, T, In) batch-first padded input through packPaddedSequence(enforceSorted: false)
        xLeaf = toTensor(ft(c, 'input.padded_batch_first'), { requiresGrad: true });
        packed = packPaddedSequence(xLeaf, ints(c, 'input.lengths'), { batchFirst: true, enforceSorted: false });
        expectClose(log, label, 'packed input.data', packed.data, ft(c, 'input.data'), 0);
      } else {
        xLeaf = toTensor(ft(c, 'input.data'), { requiresGrad: true });
        packed = new PackedSequence(
          xLeaf,
          Int32Array.from(ints(c, 'input.batch_sizes')),
          Int32Array.from(ints(c, 'input.sorted_indices')),
          Int32Array.from(ints(c, 'input.unsorted_indices')),
        );
      }
      assert.equal(Array.from(packed.batchSizes), ints(c, 'input.batch_sizes'), `${label}: batch_sizes`);
      assert.equal(Array.from(packed.sortedIndices ?? []), ints(c, 'input.sorted_indices'), `${label}: sorted_indices`);
      assert.equal(Array.from(packed.unsortedIndices ?? []), ints(c, 'input.unsorted_indices'), `${label}: unsorted_indices`);

      const r = module.forward(packed, isLstm ? [h0, c0!] : h0);
      expectClose(log, label, 'output.data', r.output.data, ft(c, 'output.data'), TOL);
      expectClose(log, label, 'h_n', r.hN, ft(c, 'h_n'), TOL);
      if (isLstm) expectClose(log, label, 'c_n', r.cN, ft(c, 'c_n'), TOL);
      else assert.is(r.cN, null, `${label}: cN of a ${String(meta['cell'])}`);

      const { padded: outPadded, lengths } = padPackedSequence(r.output);
      expectClose(log, label, 'output.padded', outPadded, ft(c, 'output.padded'), TOL);
      assert.equal(Array.from(lengths), ints(c, 'input.lengths'), `${label}: lengths`);

      let loss = add(
        sumAll(mul(r.output.data, toTensor(ft(c, 'grad_output.data')))),
        sumAll(mul(r.hN, toTensor(ft(c, 'grad_h_n')))),
      );
      if (isLstm) loss = add(loss, sumAll(mul(r.cN!, toTensor(ft(c, 'grad_c_n')))));
      loss.backward();

      const params = module.stateDict();
      for (const name of paramNames(c)) {
        expectClose(log, label, `grad.${name}`, params.get(name)!.grad, ft(c, `grad.${name}`), TOL);
      }
      if (padded) {
        expectClose(log, label, 'grad.input.padded_batch_first', xLeaf.grad, ft(c, 'grad.input.padded_batch_first'), TOL);
      } else {
        expectClose(log, label, 'grad.input.data', xLeaf.grad, ft(c, 'grad.input.data'), TOL);
      }
      expectClose(log, label, 'grad.h0', h0.grad, ft(c, 'grad.h0'), TOL);
      if (isLstm) expectClose(log, label, 'grad.c0', c0!.grad, ft(c, 'grad.c0'), TOL);
    });
  } finally {
    module.dispose();
  }
}

// packSequence over the sequences of input.padded (original order) gives PyTorch's packing.
function checkPackSequence(label: string, c: FixtureCase): void {
  tidy(() => {
    const padded = ft(c, 'input.padded'); // (T, B, In)
    const [steps, batch, width] = padded.shape as [number, number, number];
    const lengths = ints(c, 'input.lengths');
    const sequences: Tensor[] = [];
    for (let j = 0; j < batch; j++) {
      const data = new Float32Array(lengths[j]! * width);
      for (let t = 0; t < lengths[j]!; t++) {
        for (let k = 0; k < width; k++) data[t * width + k] = padded.data[(t * batch + j) * width + k]!;
      }
      sequences.push(fromFloat32Array(data, [lengths[j]!, width]));
    }
    assert.ok(steps >= Math.max(...lengths));
    const packed = packSequence(sequences, { enforceSorted: false });
    expectClose(log, label, 'packSequence data', packed.data, ft(c, 'input.data'), 0);
    assert.equal(Array.from(packed.batchSizes), ints(c, 'input.batch_sizes'));
    assert.equal(Array.from(packed.sortedIndices ?? []), ints(c, 'input.sorted_indices'));
    assert.equal(Array.from(packed.unsortedIndices ?? []), ints(c, 'input.unsorted_indices'));
    assert.equal(Array.from(packed.lengths()), lengths);
  });
}

const rnnFiles = ['rnn_lstm.json', 'rnn_gru.json', 'rnn_tanh.json', 'rnn_relu.json', 'rnn_padded.json'];
for (const file of rnnFiles) {
  const fixture = loadFixture(file);
  for (const [name, c] of Object.entries(fixture.cases)) {
    test(`${file} ${name}: packSequence layout`, () => checkPackSequence(`${file}:${name} pack`, c));
    for (const provider of gemmProviders()) {
      for (const fused of [true, false]) {
        const label = `${file}:${name} ${fused ? 'fused' : 'unfused'} ${provider}`;
        test(`${label}: outputs, states and gradients match PyTorch`, () => {
          withGemm(provider, () => checkRnnCase(label, c, fused));
        });
      }
    }
  }
}

// --- softmax-NLL --------------------------------------------------------------------------------

{
  const fixture = loadFixture('softmax_nll.json');
  for (const [name, c] of Object.entries(fixture.cases)) {
    const label = `softmax_nll:${name}`;
    test(`${label}: loss, count and logits gradient match PyTorch`, () => {
      tidy(() => {
        const ignoreIndex = c.meta['ignore_index'] as number;
        const reduction = c.meta['reduction'] as 'mean' | 'sum';
        const upstream = (c.meta['upstream'] as number | undefined) ?? 1;
        const logits = toTensor(ft(c, 'logits'), { requiresGrad: true });
        const targets = toTensor(ft(c, 'targets'));
        const { loss, count } = softmaxNll(logits, targets, { ignoreIndex, reduction });
        assert.equal([...loss.shape], []);
        expectClose(log, label, 'loss', loss.reshape([1]), ft(c, 'loss'), TOL);
        assert.is(count.item(), c.meta['count'] as number, `${label}: count`);
        (upstream === 1 ? loss : scale(loss, upstream)).backward();
        expectClose(log, label, 'grad.logits', logits.grad, ft(c, 'grad.logits'), TOL);

        // crossEntropy is the same computation
        const logits2 = toTensor(ft(c, 'logits'), { requiresGrad: true });
        const ce = crossEntropy(logits2, targets, { ignoreIndex, reduction });
        expectClose(log, label, 'crossEntropy loss', ce.reshape([1]), ft(c, 'loss'), TOL);
        (upstream === 1 ? ce : scale(ce, upstream)).backward();
        expectClose(log, label, 'crossEntropy grad.logits', logits2.grad, ft(c, 'grad.logits'), TOL);
        logits.dispose();
        logits2.dispose();
      });
    });
  }
}

// --- optimisers -----------------------------------------------------------------------------------

function makeOptimizer(meta: Record<string, unknown>, params: Tensor[]): Optimizer {
  const o = meta['options'] as Record<string, number | boolean | number[]>;
  const num = (k: string, fallback = 0): number => (o[k] as number | undefined) ?? fallback;
  switch (meta['optimizer']) {
    case 'adam':
    case 'adamw': {
      const betas = o['betas'] as [number, number];
      const options = { lr: num('lr'), betas, eps: num('eps'), weightDecay: num('weight_decay') };
      return meta['optimizer'] === 'adam' ? new Adam(params, options) : new AdamW(params, options);
    }
    case 'sgd':
      return new SGD(params, {
        lr: num('lr'),
        momentum: num('momentum'),
        dampening: num('dampening'),
        weightDecay: num('weight_decay'),
        nesterov: o['nesterov'] as boolean,
      });
    case 'rmsprop':
      return new RMSprop(params, {
        lr: num('lr'),
        alpha: num('alpha'),
        eps: num('eps'),
        weightDecay: num('weight_decay'),
        momentum: num('momentum'),
        centered: o['centered'] as boolean,
      });
    default:
      throw new Error(`unknown optimizer ${String(meta['optimizer'])}`);
  }
}

{
  const fixture = loadFixture('optim.json');
  for (const [name, c] of Object.entries(fixture.cases)) {
    const label = `optim:${name}`;
    test(`${label}: two steps match PyTorch (parameter and state)`, () => {
      const p = keep(toTensor(ft(c, 'param.0'), { requiresGrad: true }));
      const opt = makeOptimizer(c.meta, [p]);
      try {
        for (const step of [1, 2]) {
          opt.zeroGrad();
          p.grad = keep(toTensor(ft(c, `grad.${step}`)));
          opt.step();
          expectClose(log, label, `param.${step}`, p, ft(c, `param.${step}`), TOL);
          const state = opt.stateDict().state[0];
          assert.ok(state != null, `${label}: state after step ${step}`);
          assert.is(state!.step, step, `${label}: step count`);
          for (const key of c.meta['state'] as string[]) {
            expectClose(log, label, `${key}.${step}`, state!.buffers[key], ft(c, `${key}.${step}`), TOL);
          }
        }
      } finally {
        opt.dispose();
        p.dispose();
      }
    });
  }
}

// --- clip_grad_norm_ -------------------------------------------------------------------------------

{
  const fixture = loadFixture('clip_grad_norm.json');
  for (const [name, c] of Object.entries(fixture.cases)) {
    const label = `clip_grad_norm:${name}`;
    test(`${label}: norm and clipped gradients match PyTorch`, () => {
      const count = c.meta['count'] as number;
      const params: Tensor[] = [];
      try {
        for (let i = 0; i < count; i++) {
          const g = ft(c, `grad.${i}`);
          const p = keep(fromFloat32Array(new Float32Array(g.data.length), g.shape, { requiresGrad: true }));
          p.grad = keep(toTensor(g));
          params.push(p);
        }
        const norm = clipGradNorm(params, c.meta['max_norm'] as number);
        const err = Math.abs(norm - ft(c, 'norm').data[0]!);
        log.note(label, 'norm', err);
        assert.ok(err <= TOL, `${label}: norm ${norm} vs ${ft(c, 'norm').data[0]}`);
        params.forEach((p, i) => expectClose(log, label, `clipped.${i}`, p.grad, ft(c, `clipped.${i}`), TOL));
      } finally {
        for (const p of params) p.dispose();
      }
    });
  }
}

// --- embedding and linear --------------------------------------------------------------------------

{
  const fixture = loadFixture('embedding_linear.json');
  const c = fixture.cases['embedding']!;
  test('embedding: forward and weight gradient (repeated ids) match PyTorch', () => {
    const label = 'embedding_linear:embedding';
    const w = ft(c, 'weight');
    const module = new Embedding(w.shape[0]!, w.shape[1]!);
    try {
      tidy(() => {
        module.loadStateDict({ weight: toTensor(w) });
        const y = module.forward(toTensor(ft(c, 'ids')));
        expectClose(log, label, 'output', y, ft(c, 'output'), TOL);
        sumAll(mul(y, toTensor(ft(c, 'grad_output')))).backward();
        expectClose(log, label, 'grad.weight', module.weight.grad, ft(c, 'grad.weight'), TOL);
      });
    } finally {
      module.dispose();
    }
  });

  for (const name of ['linear', 'linear_no_bias']) {
    const lc = fixture.cases[name]!;
    for (const provider of gemmProviders()) {
      const label = `embedding_linear:${name} ${provider}`;
      test(`${label}: forward and gradients match PyTorch`, () => {
        withGemm(provider, () => {
          const bias = lc.meta['bias'] as boolean;
          const module = new Linear(lc.meta['in_features'] as number, lc.meta['out_features'] as number, { bias });
          try {
            tidy(() => {
              const state: Record<string, Tensor> = { weight: toTensor(ft(lc, 'weight')) };
              if (bias) state['bias'] = toTensor(ft(lc, 'bias'));
              module.loadStateDict(state);
              const x = toTensor(ft(lc, 'input'), { requiresGrad: true });
              const y = module.forward(x);
              expectClose(log, label, 'output', y, ft(lc, 'output'), TOL);
              sumAll(mul(y, toTensor(ft(lc, 'grad_output')))).backward();
              expectClose(log, label, 'grad.input', x.grad, ft(lc, 'grad.input'), TOL);
              expectClose(log, label, 'grad.weight', module.weight.grad, ft(lc, 'grad.weight'), TOL);
              if (bias) expectClose(log, label, 'grad.bias', module.bias!.grad, ft(lc, 'grad.bias'), TOL);
              x.dispose();
            });
          } finally {
            module.dispose();
          }
        });
      });
    }
  }
}

test('golden: report of the largest errors', () => {
  if (process.env['RNNLM_GOLDEN_REPORT'] !== undefined) log.print('golden vectors: max abs error per case (worst tensor)');
  let worst = 0;
  for (const { err } of log.worst.values()) worst = Math.max(worst, err);
  assert.ok(worst <= TOL, `worst error ${worst}`);
});

test.run();
