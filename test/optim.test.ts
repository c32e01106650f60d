// Optimizers and gradient clipping against hand-computed updates; exact resume from state dicts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Adam,
  AdamW,
  SGD,
  RMSprop,
  clipGradNorm,
  clipGradNormTensor,
  globalNorm,
  tensor,
  tidy,
  mul,
  sumAll,
  liveTensors,
  noGrad,
  type Tensor,
  type Optimizer,
} from '../src/index.js';
import { close, throwsCode } from './api-helpers.js';

// Sets p.grad to `g` (as a backward of sum(p * g) would).
function setGrad(p: Tensor, g: number[]): void {
  tidy(() => sumAll(mul(p, tensor(g, p.shape))).backward());
}

test('SGD: plain, momentum (buffer starts at the gradient), weight decay', () => {
  const p = tensor([1, 2], [2], { requiresGrad: true });
  const plain = new SGD([p], { lr: 0.1 });
  setGrad(p, [1, -1]);
  plain.step();
  close(p.toArray(), [0.9, 2.1]);
  plain.zeroGrad();
  assert.is(p.grad, null);

  const q = tensor([1], [1], { requiresGrad: true });
  const momentum = new SGD([q], { lr: 0.1, momentum: 0.9, weightDecay: 0.5 });
  setGrad(q, [1]);
  momentum.step(); // g = 1 + 0.5*1 = 1.5, buf = 1.5, q = 1 - 0.15 = 0.85
  close(q.toArray(), [0.85]);
  momentum.zeroGrad();
  setGrad(q, [1]);
  momentum.step(); // g = 1 + 0.425 = 1.425, buf = 1.35 + 1.425 = 2.775, q = 0.85 - 0.2775
  close(q.toArray(), [0.5725]);
  throwsCode(() => new SGD([q], { nesterov: true }), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => new SGD([q], { lr: -1 }), 'ERR_RNNLM_ARGUMENT');
  for (const o of [plain, momentum]) o.dispose();
  p.dispose();
  q.dispose();
});

test('Adam: the first step moves each weight by lr against the sign of its gradient', () => {
  const p = tensor([1, 2, 3], [3], { requiresGrad: true });
  const adam = new Adam([p], { lr: 0.01 });
  setGrad(p, [0.5, -2, 0]);
  adam.step();
  close(p.toArray(), [0.99, 2.01, 3], 1e-6);
  // Second step with the same gradient: m̂ = g, v̂ = g², so again lr per unit sign.
  adam.step();
  close(p.toArray(), [0.98, 2.02, 3], 1e-6);
  const sd = adam.stateDict();
  assert.is(sd.optimizer, 'Adam');
  assert.is(sd.state[0]!.step, 2);
  assert.equal(Object.keys(sd.state[0]!.buffers).sort(), ['exp_avg', 'exp_avg_sq']);
  // exp_avg after two steps of g: (1 - 0.9^2) g
  close(sd.state[0]!.buffers['exp_avg']!.toArray(), [0.19 * 0.5, 0.19 * -2, 0], 1e-6);
  adam.dispose();
  p.dispose();
});

test('AdamW decays weights decoupled from the gradient', () => {
  const p = tensor([1], [1], { requiresGrad: true });
  const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.5 });
  assert.is(opt.name, 'AdamW');
  setGrad(p, [0]);
  opt.step(); // p *= 1 - lr*wd; the Adam part is 0/(0+eps) = 0
  close(p.toArray(), [0.95], 1e-6);
  opt.dispose();
  p.dispose();
});

test('RMSprop: first step is lr * g / (sqrt((1-alpha) g²) + eps)', () => {
  const p = tensor([1], [1], { requiresGrad: true });
  const opt = new RMSprop([p], { lr: 0.01, alpha: 0.99 });
  setGrad(p, [2]);
  opt.step();
  close(p.toArray(), [1 - (0.01 * 2) / Math.sqrt(0.01 * 4)], 1e-5);
  const centered = new RMSprop([p], { centered: true, momentum: 0.9 });
  centered.step();
  assert.equal(Object.keys(centered.stateDict().state[0]!.buffers).sort(), ['grad_avg', 'momentum_buffer', 'square_avg']);
  for (const o of [opt, centered]) o.dispose();
  p.dispose();
});

test('optimizer state dicts resume training exactly', () => {
  const cases: [string, (ps: Tensor[]) => Optimizer][] = [
    ['Adam', (ps) => new Adam(ps, { lr: 0.05, weightDecay: 0.1 })],
    ['AdamW', (ps) => new AdamW(ps, { lr: 0.05 })],
    ['SGD', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true })],
    ['RMSprop', (ps) => new RMSprop(ps, { lr: 0.01, momentum: 0.5, centered: true })],
  ];
  const grads = [[0.1, 0.2, -0.3, 0.4], [0.5, -0.1, 0.2, 0.3], [-0.2, 0.1, 0.1, -0.4]];
  for (const [name, make] of cases) {
    const before = liveTensors();
    const a = tensor([1, -1, 0.5, 2], [2, 2], { requiresGrad: true });
    const optA = make([a]);
    for (const g of grads.slice(0, 2)) {
      setGrad(a, g);
      optA.step();
      optA.zeroGrad();
    }
    // c: a copy of a's weights with a fresh optimizer that loads a's optimizer state.
    const c = noGrad(() => a.clone());
    c.requiresGrad = true;
    const optC = make([c]);
    optC.lr = 123; // restored from the state dict's hyperparameters
    optC.loadStateDict(optA.stateDict());
    assert.is(optC.lr, optA.lr);
    setGrad(a, grads[2]!);
    setGrad(c, grads[2]!);
    optA.step();
    optC.step();
    close(c.toArray(), a.toArray(), 0, `${name} resumed`);
    throwsCode(() => optC.loadStateDict({ ...optA.stateDict(), optimizer: 'Other' }), 'ERR_RNNLM_STATE');
    optA.dispose();
    optC.dispose();
    a.dispose();
    c.dispose();
    assert.is(liveTensors(), before, `${name}: nothing leaks`);
  }
});

test('clipGradNorm: global L2 norm, scaled by max/(norm+1e-6), returns the norm before clipping', () => {
  const a = tensor([0, 0], [2], { requiresGrad: true });
  const b = tensor([0], [1], { requiresGrad: true });
  setGrad(a, [3, 0]);
  setGrad(b, [4]);
  const norm = clipGradNorm([a, b], 1);
  close([norm], [5]);
  const coef = 1 / (5 + 1e-6);
  close(a.grad!.toArray(), [3 * coef, 0]);
  close(b.grad!.toArray(), [4 * coef]);
  // Under the limit nothing changes.
  const again = clipGradNorm([a, b], 10);
  close([again], [1], 1e-5);
  close(a.grad!.toArray(), [3 * coef, 0]);
  const t = clipGradNormTensor([a, b], 10);
  assert.equal(t.shape, []);
  t.dispose();
  const g = globalNorm([a.grad!, b.grad!]);
  close([g.item()], [1], 1e-5);
  g.dispose();
  // No gradients at all: norm 0.
  const c = tensor([1], [1], { requiresGrad: true });
  assert.is(clipGradNorm([c], 1), 0);
  throwsCode(() => clipGradNorm([a], -1), 'ERR_RNNLM_ARGUMENT');
  for (const t2 of [a, b, c]) t2.dispose();
});

test.run();
