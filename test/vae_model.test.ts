// The SentenceVAE model: finite-difference gradient checks of the whole model (tiny vocabulary,
// packed batches of unequal lengths, a bidirectional 2-layer encoder, every cell), the flatten
// and unflatten of states keeping sentences apart, the decoder paths agreeing, and sampling,
// interpolation and reconstruction shapes and determinism under a seed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward, noGrad } from '../src/autograd.js';
import * as F from '../src/functional.js';
import { SentenceVAE, flattenStates, sentenceSequences, type SentenceVAEConfig } from '../src/models/sentence_vae.js';
import { Generator } from '../src/random.js';
import { fromFloat32Array, liveTensors, tidy } from '../src/tensor.js';
import { close, throwsCode } from './api-helpers.js';

const SPECIALS = { pad: 0, unk: 1, sos: 2, eos: 3 };

function tinyConfig(overrides: Partial<SentenceVAEConfig> = {}): SentenceVAEConfig {
  return {
    vocabSize: 10,
    embedding: 4,
    hidden: 3,
    latent: 2,
    layers: 2,
    cell: 'gru',
    bidirectional: true,
    wordDropout: 0,
    embeddingDropout: 0,
    maxLength: 8,
    specials: SPECIALS,
    decoderOnly: false,
    ...overrides,
  };
}

// Unequal lengths (5, 2, 7 cut to 7, 1), in no particular order.
const SENTENCES = [
  [4, 5, 6, 7, 8],
  [9, 4],
  [5, 5, 6, 7, 8, 9, 4, 6, 7],
  [8],
];

// NLL + KL with the same noise every time (a fresh generator of a fixed seed per call).
function objective(model: SentenceVAE, teacherForcing = 1): number {
  return noGrad(() =>
    tidy(() => {
      const out = model.forward(SENTENCES, { generator: new Generator(42), teacherForcing });
      return out.nll.item() + out.kl.item();
    }),
  );
}

for (const cell of ['gru', 'lstm', 'rnn'] as const) {
  test(`the whole ${cell} model's gradients match central differences (bidirectional 2-layer encoder, unequal lengths)`, () => {
    const model = new SentenceVAE(tinyConfig({ cell }), { generator: new Generator(5) });
    model.train();
    tidy(() => {
      const out = model.forward(SENTENCES, { generator: new Generator(42) });
      backward(F.add(out.nll, out.kl));
    });
    const eps = 5e-3;
    let checked = 0;
    for (const [name, p] of model.namedParameters()) {
      assert.ok(p.grad !== null, `${name} got a gradient`);
      const analytic = p.grad!.toFloat32Array();
      const base = p.toFloat32Array();
      // A few entries of every tensor, spread over it.
      const picks = new Set([0, base.length - 1, Math.floor(base.length / 2), Math.floor(base.length / 3)]);
      for (const i of picks) {
        const set = (v: number): void => {
          const data = Float32Array.from(base);
          data[i] = v;
          p._assignFrom(fromFloat32Array(data, p.shape));
        };
        const plus = Math.fround(base[i]! + eps);
        const minus = Math.fround(base[i]! - eps);
        set(plus);
        const fPlus = objective(model);
        set(minus);
        const fMinus = objective(model);
        set(base[i]!);
        const numeric = (fPlus - fMinus) / (plus - minus);
        const tol = 3e-2 * Math.max(0.5, Math.abs(numeric));
        assert.ok(Math.abs(numeric - analytic[i]!) <= tol, `${cell} ${name}[${i}]: autograd ${analytic[i]} vs numeric ${numeric}`);
        checked++;
      }
    }
    assert.ok(checked > 60, `checked ${checked} entries`);
    model.dispose();
  });
}

test('the decoder-only LM baseline has no encoder, no KL, and correct gradients', () => {
  const model = new SentenceVAE(tinyConfig({ decoderOnly: true }), { generator: new Generator(6) });
  const names = model.namedParameters().map(([n]) => n);
  assert.ok(names.every((n) => n.startsWith('embedding.') || n.startsWith('decoder_rnn.') || n.startsWith('outputs2vocab.')), names.join(', '));
  const out = noGrad(() => model.forward(SENTENCES));
  assert.is(out.kl.item(), 0);
  assert.is(out.mean, null);
  const p = model.outputs2vocab.bias!;
  tidy(() => backward(model.forward(SENTENCES, { generator: new Generator(1) }).nll));
  const analytic = p.grad!.toFloat32Array()[4]!;
  const base = p.toFloat32Array();
  const at = (v: number): number => {
    const data = Float32Array.from(base);
    data[4] = v;
    p._assignFrom(fromFloat32Array(data, p.shape));
    return objective(model);
  };
  const numeric = (at(base[4]! + 1e-2) - at(base[4]! - 1e-2)) / 2e-2;
  assert.ok(Math.abs(numeric - analytic) < 2e-2 * Math.max(1, Math.abs(numeric)), `${analytic} vs ${numeric}`);
  model.dispose();
});

test('flattenStates is batch-major: row b holds every layer and direction of sentence b', () => {
  // hN (L*D = 3, B = 2, H = 2): value = 100 k + 10 b + j
  const data = new Float32Array(3 * 2 * 2);
  for (let k = 0; k < 3; k++) for (let b = 0; b < 2; b++) for (let j = 0; j < 2; j++) data[(k * 2 + b) * 2 + j] = 100 * k + 10 * b + j;
  const flat = flattenStates(fromFloat32Array(data, [3, 2, 2]));
  assert.equal(flat.shape, [2, 6]);
  assert.equal(Array.from(flat.toFloat32Array()), [0, 1, 100, 101, 200, 201, 10, 11, 110, 111, 210, 211]);
});

test('sentences never mix: a batch scores (and encodes) each sentence as it scores alone', () => {
  for (const cell of ['gru', 'lstm'] as const) {
    const model = new SentenceVAE(tinyConfig({ cell, layers: 2, bidirectional: true }), { generator: new Generator(8) });
    model.eval();
    noGrad(() => {
      const batch = model.encode(SENTENCES);
      const batchOut = model.forward(SENTENCES, { z: 'mean' });
      let nll = 0;
      SENTENCES.forEach((s, b) => {
        const alone = model.encode([s]);
        close(Array.from(alone.mean.toFloat32Array()), Array.from(batch.mean.toFloat32Array().subarray(b * 2, b * 2 + 2)), 1e-5, `${cell} mean of sentence ${b}`);
        nll += model.forward([s], { z: 'mean' }).nll.item();
      });
      close([batchOut.nll.item()], [nll], 1e-5, `${cell} batch NLL = sum of single-sentence NLLs`);
      // The unflatten: layer l of the decoder's initial state is columns [l*H, (l+1)*H) of latent2hidden(z).
      const z = fromFloat32Array(Float32Array.from([0.3, -1, 2, 0.5]), [2, 2]);
      const states = model.initialStates(z);
      const full = model.latent2hidden!.forward(z).toFloat32Array();
      assert.is(states.length, 2);
      states.forEach((s, l) => {
        const got = s.toFloat32Array();
        for (let b = 0; b < 2; b++) close(Array.from(got.subarray(b * 3, b * 3 + 3)), Array.from(full.subarray(b * 6 + l * 3, b * 6 + l * 3 + 3)), 1e-6, `layer ${l} row ${b}`);
      });
    });
    model.dispose();
  }
});

test('the step-by-step decoder at teacher forcing 1 scores like the packed scan; below 1 it scores differently', () => {
  const model = new SentenceVAE(tinyConfig({ cell: 'lstm', layers: 2, embeddingDropout: 0.3 }), { generator: new Generator(9) });
  model.train();
  const fast = noGrad(() => tidy(() => model.forward(SENTENCES, { generator: new Generator(4) }).nll.item()));
  // teacherForcing 1 - 1e-9 takes the step-by-step path, which then reads (almost surely) every true word.
  const stepwise = noGrad(() => tidy(() => model.forward(SENTENCES, { generator: new Generator(4), teacherForcing: 1 - 1e-9 }).nll.item()));
  close([stepwise], [fast], 1e-5, 'same dropout mask, same inputs, same NLL');
  const free = noGrad(() => tidy(() => model.forward(SENTENCES, { generator: new Generator(4), teacherForcing: 0 }).nll.item()));
  assert.ok(Math.abs(free - fast) > 1e-3, 'feeding predictions changes the score');
  model.dispose();
});

test('word dropout replaces words with <unk> but never <sos>', () => {
  const { inputs, targets } = sentenceSequences(SENTENCES, SPECIALS, 8);
  assert.equal(Array.from(inputs[2]!), [2, 5, 5, 6, 7, 8, 9, 4], 'cut to maxLength - 1 words after <sos>');
  assert.equal(Array.from(targets[2]!), [5, 5, 6, 7, 8, 9, 4, 3]);
  // With word dropout 1 every word is <unk>: the decoder then sees only <sos>, <unk>, so the
  // score differs from dropout 0 in training mode but not in eval mode.
  const config = tinyConfig({ wordDropout: 1 });
  const a = new SentenceVAE(config, { generator: new Generator(2) });
  const b = new SentenceVAE({ ...config, wordDropout: 0 }, { generator: new Generator(2) });
  const score = (m: SentenceVAE): number => noGrad(() => tidy(() => m.forward(SENTENCES, { z: 'mean' }).nll.item()));
  a.train();
  b.train();
  assert.ok(Math.abs(score(a) - score(b)) > 1e-3, 'training mode: words dropped');
  a.eval();
  b.eval();
  close([score(a)], [score(b)], 1e-6, 'eval mode: no word dropout');
  a.dispose();
  b.dispose();
});

test('sampling and interpolation have the right shapes and repeat under a seed', () => {
  const model = new SentenceVAE(tinyConfig({ cell: 'gru', layers: 1, bidirectional: false }), { generator: new Generator(10) });
  const s1 = model.sample(5, { generator: new Generator(3) });
  const s2 = model.sample(5, { generator: new Generator(3) });
  assert.is(s1.sentences.length, 5);
  assert.is(s1.z.length, 5);
  assert.ok(s1.z.every((z) => z.length === 2));
  assert.equal(s1, s2, 'same seed, same samples');
  assert.ok(s1.sentences.every((s) => s.length <= 8 && s.every((id) => id >= 0 && id < 10 && id !== SPECIALS.eos)));
  const t1 = model.sample(5, { generator: new Generator(3), temperature: 1 });
  assert.equal(t1, model.sample(5, { generator: new Generator(3), temperature: 1 }), 'tempered samples repeat');
  assert.ok([4, 5, 6, 7].some((seed) => JSON.stringify(model.sample(5, { generator: new Generator(seed), temperature: 1 })) !== JSON.stringify(t1)));

  const inter = model.interpolate([0, 0], [2, -2], 3);
  assert.is(inter.sentences.length, 5, 'steps + 2 points');
  assert.equal(inter.z.map((z) => z.map((v) => Number(v.toFixed(4)))), [[0, 0], [0.5, -0.5], [1, -1], [1.5, -1.5], [2, -2]]);
  // The end points decode as the codes themselves do.
  const ends = model.decodeLatent(fromFloat32Array(Float32Array.from([0, 0, 2, -2]), [2, 2]));
  assert.equal([inter.sentences[0], inter.sentences[4]], ends);

  const rec = model.reconstruct(SENTENCES);
  assert.is(rec.sentences.length, 4);
  assert.is(rec.z.length, 4);
  assert.equal(rec, model.reconstruct(SENTENCES), 'reconstruction is deterministic');
  throwsCode(() => model.interpolate([0], [1, 2], 1), 'ERR_RNNLM_SHAPE');
  throwsCode(() => model.sample(0), 'ERR_RNNLM_ARGUMENT');
  model.dispose();
});

test('forward and sampling leave no tensors behind', () => {
  const model = new SentenceVAE(tinyConfig(), { generator: new Generator(11) });
  const before = liveTensors();
  for (let i = 0; i < 3; i++) {
    tidy(() => {
      const out = model.forward(SENTENCES, { teacherForcing: 0.5 });
      backward(F.add(out.nll, out.kl));
    });
    model.zeroGrad();
    model.sample(2);
    model.reconstruct([SENTENCES[0]!]);
  }
  assert.is(liveTensors(), before);
  model.dispose();
});

test('the config is validated', () => {
  throwsCode(() => new SentenceVAE(tinyConfig({ latent: 0 })), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => new SentenceVAE(tinyConfig({ specials: { pad: 0, unk: 0, sos: 2, eos: 3 } })), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => new SentenceVAE(tinyConfig({ maxLength: 1 })), 'ERR_RNNLM_ARGUMENT');
  const m = new SentenceVAE(tinyConfig());
  throwsCode(() => m.forward([]), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => m.forward(SENTENCES, { teacherForcing: 2 }), 'ERR_RNNLM_ARGUMENT');
  m.dispose();
});

test.run();
