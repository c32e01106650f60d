// The sentence VAE's data and checkpoints: sentence formats, the vocabulary (specials, minimum
// count), KL annealing, batches, and checkpoint round trips with their checks.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad } from '../src/autograd.js';
import { loadSentenceVae, saveSentenceVae, sentenceVaeConfig, sentenceVaeWeightShapes } from '../src/checkpoint/vae_checkpoint.js';
import { SentenceVAE } from '../src/models/sentence_vae.js';
import { Generator } from '../src/random.js';
import { tidy } from '../src/tensor.js';
import { klWeight } from '../src/vae/anneal.js';
import { evaluationBatches, trainingBatches } from '../src/vae/batches.js';
import { evaluateVae } from '../src/vae/evaluate.js';
import { lineSentences, textSentences } from '../src/vae/sentences.js';
import { SentenceVocab } from '../src/vae/vocab.js';
import { close, throwsCode } from './api-helpers.js';

test('lines: one lower-cased, whitespace-tokenised sentence per non-blank line', () => {
  assert.equal(lineSentences(' the Cat sat <unk> \n\n  N dogs\n'), [['the', 'cat', 'sat', '<unk>'], ['n', 'dogs']]);
});

test('text: words and punctuation, split after . ! ? with closing quotes kept, abbreviations and paragraphs respected', () => {
  const text = 'Call me Ishmael. Some years ago--never mind how long "precisely!" Mr. Starbuck said: \'No.\'\n\nA new paragraph without an end';
  assert.equal(textSentences(text), [
    ['call', 'me', 'ishmael', '.'],
    ['some', 'years', 'ago', '-', '-', 'never', 'mind', 'how', 'long', '"', 'precisely', '!', '"'],
    ['mr', '.', 'starbuck', 'said', ':', "'", 'no', '.', "'"],
    ['a', 'new', 'paragraph', 'without', 'an', 'end'],
  ]);
});

test('the vocabulary: specials 0-3, words by count, rare words and literal specials to <unk>', () => {
  const v = SentenceVocab.fromSentences([['b', 'a', 'b'], ['c', 'b', '<unk>', 'a'], ['<eos>']], { minCount: 2 });
  assert.equal(v.tokens, ['<pad>', '<unk>', '<sos>', '<eos>', 'b', 'a']);
  assert.equal(v.specials, { pad: 0, unk: 1, sos: 2, eos: 3 });
  assert.equal(Array.from(v.encode(['a', 'c', '<unk>', '<sos>', 'b'])), [5, 1, 1, 1, 4]);
  assert.is(v.decode([4, 5, 1]), 'b a <unk>');
  const back = SentenceVocab.fromJSON(JSON.parse(JSON.stringify(v.toJSON())), 'vocab.json');
  assert.equal(back.tokens, v.tokens);
  throwsCode(() => SentenceVocab.fromJSON({ level: 'word', tokens: ['<pad>', '<unk>'], specials: { pad: 0, unk: 1 } }, 'vocab.json'), 'ERR_RNNLM_CHECKPOINT');
  throwsCode(() => SentenceVocab.fromSentences([['a']], { minCount: 2 }), 'ERR_RNNLM_DATA');
  throwsCode(() => SentenceVocab.fromSentences([['a']], { minCount: 0 }), 'ERR_RNNLM_ARGUMENT');
});

test('KL annealing: logistic around x0, linear ramp, none', () => {
  const logistic = { kind: 'logistic' as const, k: 0.0025, x0: 2500 };
  close([klWeight(logistic, 2500)], [0.5], 1e-12);
  close([klWeight(logistic, 0)], [1 / (1 + Math.exp(6.25))], 1e-12);
  assert.ok(klWeight(logistic, 6000) > 0.99);
  const linear = { kind: 'linear' as const, k: 1, x0: 100 };
  assert.equal([klWeight(linear, 0), klWeight(linear, 50), klWeight(linear, 100), klWeight(linear, 500)], [0, 0.5, 1, 1]);
  assert.is(klWeight({ kind: 'none', k: 1, x0: 1 }, 0), 1);
});

test('training batches cover every sentence once per epoch, reshuffled each epoch; evaluation batches are sorted', () => {
  const a = trainingBatches(10, 3, 1, 1);
  assert.equal(a.map((b) => b.length), [3, 3, 3, 1]);
  assert.equal(a.flat().sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(trainingBatches(10, 3, 1, 1), a, 'repeatable');
  assert.not.equal(trainingBatches(10, 3, 1, 2), a, 'another order next epoch');
  assert.equal(evaluationBatches([1, 5, 3, 5], 2), [[1, 3], [2, 0]]);
});

function tinyModel(overrides: { cell?: 'gru' | 'lstm'; bidirectional?: boolean; layers?: number; decoderOnly?: boolean } = {}): SentenceVAE {
  return new SentenceVAE(
    {
      vocabSize: 8,
      embedding: 4,
      hidden: 3,
      latent: 2,
      layers: overrides.layers ?? 1,
      cell: overrides.cell ?? 'gru',
      bidirectional: overrides.bidirectional ?? false,
      wordDropout: 0.1,
      embeddingDropout: 0.5,
      maxLength: 6,
      specials: { pad: 0, unk: 1, sos: 2, eos: 3 },
      decoderOnly: overrides.decoderOnly ?? false,
    },
    { generator: new Generator(3) },
  );
}

const VOCAB = new SentenceVocab(['<pad>', '<unk>', '<sos>', '<eos>', 'a', 'b', 'c', 'd'], { pad: 0, unk: 1, sos: 2, eos: 3 });
const SENTENCES = [Int32Array.from([4, 5, 6]), Int32Array.from([7]), Int32Array.from([5, 5, 4, 7, 6, 4, 5])];

test('checkpoints round-trip with the reference names, for the VAE and the LM baseline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rnnlm-vae-ckpt-'));
  try {
    for (const options of [{}, { cell: 'lstm' as const, bidirectional: true, layers: 2 }, { decoderOnly: true }]) {
      const model = tinyModel(options);
      const path = join(dir, JSON.stringify(options).replace(/\W/g, '_'));
      saveSentenceVae(path, model, VOCAB, 'lines');
      const config = JSON.parse(readFileSync(join(path, 'config.json'), 'utf8'));
      assert.is(config.kind, 'sentence_vae');
      assert.is(config.model.lstm_c0, 'zeros');
      const loaded = loadSentenceVae(path);
      assert.equal([...loaded.model.stateDict().keys()], [...model.stateDict().keys()]);
      assert.equal(loaded.vocab.tokens, VOCAB.tokens);
      const score = (m: SentenceVAE): number[] => noGrad(() => tidy(() => {
        const out = m.eval().forward(SENTENCES, { z: 'mean' });
        return [out.nll.item(), out.kl.item()];
      }));
      close(score(loaded.model), score(model), 1e-6, 'same scores');
      loaded.model.dispose();
      model.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the default configuration has exactly the reference state_dict', () => {
  const config = sentenceVaeConfig(
    { vocabSize: 100, embedding: 300, hidden: 256, latent: 16, layers: 1, cell: 'gru', bidirectional: false, wordDropout: 0, embeddingDropout: 0.5, maxLength: 60, specials: { pad: 0, unk: 1, sos: 2, eos: 3 }, decoderOnly: false },
    'lines',
  );
  const shapes = Object.fromEntries([...sentenceVaeWeightShapes(config)].map(([n, t]) => [n, t.shape]));
  assert.equal(shapes, {
    'embedding.weight': [100, 300],
    'encoder_rnn.weight_ih_l0': [768, 300],
    'encoder_rnn.weight_hh_l0': [768, 256],
    'encoder_rnn.bias_ih_l0': [768],
    'encoder_rnn.bias_hh_l0': [768],
    'decoder_rnn.weight_ih_l0': [768, 300],
    'decoder_rnn.weight_hh_l0': [768, 256],
    'decoder_rnn.bias_ih_l0': [768],
    'decoder_rnn.bias_hh_l0': [768],
    'hidden2mean.weight': [16, 256],
    'hidden2mean.bias': [16],
    'hidden2logv.weight': [16, 256],
    'hidden2logv.bias': [16],
    'latent2hidden.weight': [256, 16],
    'latent2hidden.bias': [256],
    'outputs2vocab.weight': [100, 256],
    'outputs2vocab.bias': [100],
  });
});

test('loading refuses mismatched configs, vocabularies and kinds, naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rnnlm-vae-bad-'));
  try {
    const model = tinyModel();
    const path = join(dir, 'ckpt');
    saveSentenceVae(path, model, VOCAB, 'lines');
    const configPath = join(path, 'config.json');
    const good = readFileSync(configPath, 'utf8');
    const edit = (fn: (c: Record<string, any>) => void): void => {
      const c = JSON.parse(good);
      fn(c);
      writeFileSync(configPath, JSON.stringify(c));
    };
    edit((c) => (c.model.hidden = 5));
    const e1 = throwsCode(() => loadSentenceVae(path), 'ERR_RNNLM_CHECKPOINT');
    assert.match(e1.message, /model\.safetensors does not match its config\.json/);
    edit((c) => (c.model.specials.sos = 4));
    assert.match(throwsCode(() => loadSentenceVae(path), 'ERR_RNNLM_CHECKPOINT').message, /vocab\.json.*"sos"/);
    edit((c) => (c.model.lstm_c0 = 'learned'));
    throwsCode(() => loadSentenceVae(path), 'ERR_RNNLM_CHECKPOINT');
    edit((c) => (c.kind = 'language_model'));
    throwsCode(() => loadSentenceVae(path), 'ERR_RNNLM_CHECKPOINT');
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evaluation averages per sentence and repeats under a seed', () => {
  const model = tinyModel();
  const a = evaluateVae(model, SENTENCES, { batch: 2, seed: 3 });
  const b = evaluateVae(model, SENTENCES, { batch: 3, seed: 3 });
  assert.is(a.sentences, 3);
  assert.is(a.tokens, 3 + 1 + 5 + 3, 'words cut to maxLength - 1 = 5, plus <eos> each');
  close([a.elbo], [a.nll + a.kl], 1e-9);
  close([a.ppl], [Math.exp((a.nll * 3) / a.tokens)], 1e-9);
  const mean = evaluateVae(model, SENTENCES, { z: 'mean' });
  const direct = noGrad(() => tidy(() => model.eval().forward(SENTENCES, { z: 'mean' })));
  close([mean.nll * 3, mean.kl * 3], [direct.nll.item(), direct.kl.item()], 1e-5, 'z = mean: the sums of one forward');
  assert.ok(Number.isFinite(b.nll));
  assert.equal(evaluateVae(model, SENTENCES, { batch: 2, seed: 3 }), a, 'same seed, same score');
  model.dispose();
});

test('checkpoints score as in PyTorch with the reference layout (strict load, z = mean)', () => {
  const fixtures = fileURLToPath(new URL('./fixtures/vae/', import.meta.url));
  const expected = JSON.parse(readFileSync(join(fixtures, 'torch_scores.json'), 'utf8')) as Record<string, { sentences: number; tokens: number; nll: number; kl: number }>;
  const text = readFileSync(join(fixtures, 'sentences.txt'), 'utf8');
  for (const name of ['gru1', 'lstm2bi']) {
    const { model, vocab } = loadSentenceVae(join(fixtures, `ckpt_${name}`));
    const score = evaluateVae(model, lineSentences(text).map((s) => vocab.encode(s)), { z: 'mean' });
    const want = expected[name]!;
    assert.is(score.sentences, want.sentences);
    assert.is(score.tokens, want.tokens);
    close([score.nll, score.kl], [want.nll, want.kl], 1e-5, `${name}: nll and kl per sentence`);
    model.dispose();
  }
});

test.run();
