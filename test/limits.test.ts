// Sizes are refused before anything is allocated (issue 15 item 2): beyond a format's limits or
// plausibility with ERR_RNNLM_CONFIG, beyond the memory there is with ERR_RNNLM_OOM naming the
// size asked and the memory available; and the minor cases of item 6 (no tokens to score, a model
// with non-finite weights in eval). RNNLM_MEMORY_LIMIT makes the memory figure the same on every
// machine.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadLanguageModel, saveLanguageModel } from '../src/checkpoint/index.js';
import { CharTokenizer } from '../src/data/char_tokenizer.js';
import { evaluateText } from '../src/eval/lm_eval.js';
import { embedding, softmaxNll } from '../src/functional.js';
import { formatBytes, hostMemoryBudget, parseByteSize } from '../src/limits/memory.js';
import { checkSizes, MAX_DIMENSION, MAX_LAYERS } from '../src/limits/model_plan.js';
import { checkLanguageModelPlan } from '../src/limits/plans.js';
import { LanguageModel } from '../src/models/language_model.js';
import { Adam } from '../src/optim/index.js';
import { fromFloat32Array, fromInt32Array, type Tensor } from '../src/tensor.js';
import { guardedStep } from '../src/train/guarded_step.js';
import { LanguageModelTrainer } from '../src/train/lm_trainer.js';
import { throwsCode } from './api-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'rnnlm-limits-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function withMemoryLimit<T>(limit: string, fn: () => T): T {
  const before = process.env.RNNLM_MEMORY_LIMIT;
  process.env.RNNLM_MEMORY_LIMIT = limit;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.RNNLM_MEMORY_LIMIT;
    else process.env.RNNLM_MEMORY_LIMIT = before;
  }
}

/** fn must throw `code` within `ms` (generous: the point is "no minute of allocating first"). */
function refusedQuickly(fn: () => unknown, code: string, ms = 2000): Error {
  const started = performance.now();
  const error = throwsCode(fn, code);
  const took = performance.now() - started;
  assert.ok(took < ms, `refused after ${took.toFixed(0)} ms`);
  return error;
}

test('sizes: int32 dimensions and the layer limit are ERR_RNNLM_CONFIG, stating the limit', () => {
  assert.match(throwsCode(() => checkSizes('x', { vocab: MAX_DIMENSION + 1 }), 'ERR_RNNLM_CONFIG').message, /int32/);
  assert.match(throwsCode(() => checkSizes('x', { layers: MAX_LAYERS + 1 }, 'layers'), 'ERR_RNNLM_CONFIG').message, new RegExp(`${MAX_LAYERS} stacked layers`));
  assert.match(throwsCode(() => checkSizes('x', { hidden: 2.5 }), 'ERR_RNNLM_CONFIG').message, /positive integer/);
  checkSizes('x', { vocab: MAX_DIMENSION, layers: MAX_LAYERS }, 'layers');
});

test('memory budget: RNNLM_MEMORY_LIMIT, sizes parsed and printed', () => {
  assert.is(parseByteSize('512M'), 512 * 2 ** 20);
  assert.is(parseByteSize('2GiB'), 2 * 2 ** 30);
  assert.is(parseByteSize('12345'), 12345);
  assert.is(parseByteSize('lots'), null);
  assert.is(formatBytes(1536), '1.50 KiB');
  assert.equal(withMemoryLimit('3G', hostMemoryBudget), { bytes: 3 * 2 ** 30, source: 'RNNLM_MEMORY_LIMIT' });
  withMemoryLimit('plenty', () => throwsCode(hostMemoryBudget, 'ERR_RNNLM_ARGUMENT'));
  assert.ok(hostMemoryBudget().bytes > 0);
});

test('a plan larger than the memory is ERR_RNNLM_OOM naming the size asked and the memory there is', () => {
  const config = { vocabSize: 10000, embedding: 650, hidden: 650, layers: 2, cell: 'lstm' as const, dropout: 0 };
  const error = withMemoryLimit('64M', () => throwsCode(() => checkLanguageModelPlan('training it', config, { tokens: 700, optimizer: 'adam', device: 'cpu' }), 'ERR_RNNLM_OOM'));
  // 19.8M parameters x 4 buffers x 4 bytes = 302 MiB, plus activations, more than 64 MiB.
  assert.match(error.message, /^training it needs about 4\d\d\.\d MiB \(19,780,400 parameters x 4 buffers: 301\.8 MiB, activations of 700 tokens: .*\) but RNNLM_MEMORY_LIMIT is 64\.0 MiB/);
  withMemoryLimit('1G', () => checkLanguageModelPlan('training it', config, { tokens: 700, optimizer: 'adam', device: 'cpu' }));
  // Activations count too: a million streams of 64 steps.
  const small = { vocabSize: 65, embedding: 64, hidden: 256, layers: 1, cell: 'lstm' as const, dropout: 0 };
  assert.match(throwsCode(() => checkLanguageModelPlan('bench', small, { tokens: 64e6, optimizer: 'adam', device: 'cpu' }), 'ERR_RNNLM_OOM').message, /activations of 64,000,000 tokens/);
});

test('train with absurd sizes is refused at once, before the data or a model is built', () => {
  const corpus = join(work, 'corpus.txt');
  writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(20));
  let n = 0;
  const create = (options: object) => () => LanguageModelTrainer.create({ data: corpus, device: 'cpu', ...options }, join(work, `run${n++}`));
  assert.match(refusedQuickly(create({ layers: 1e12 }), 'ERR_RNNLM_CONFIG').message, /layers/);
  assert.match(refusedQuickly(create({ hidden: 1e12 }), 'ERR_RNNLM_CONFIG').message, /hidden/);
  assert.match(refusedQuickly(create({ batch: 1e6, seq: 1e5 }), 'ERR_RNNLM_CONFIG').message, /typed-array maximum/);
  withMemoryLimit('16M', () => assert.match(refusedQuickly(create({ hidden: 1024 }), 'ERR_RNNLM_OOM').message, /but RNNLM_MEMORY_LIMIT is 16\.0 MiB/));
});

test('a checkpoint whose config.json asks for 1e9 layers is refused at once (it took a minute and 4 GB)', () => {
  const tokenizer = CharTokenizer.fromText('abc');
  const model = new LanguageModel({ vocabSize: tokenizer.vocabSize, embedding: 4, hidden: 4, layers: 1, cell: 'lstm', dropout: 0 });
  const dir = join(work, 'ckpt');
  saveLanguageModel(dir, model, { vocab: tokenizer.toJSON() });
  model.dispose();
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { model: { layers: number; hidden: number } };
  config.model.layers = 1e9;
  writeFileSync(configPath, JSON.stringify(config));
  assert.match(refusedQuickly(() => loadLanguageModel(dir), 'ERR_RNNLM_CONFIG').message, /model\.layers 1000000000 is more than/);
  config.model.layers = 1;
  config.model.hidden = 2 ** 40;
  writeFileSync(configPath, JSON.stringify(config));
  assert.match(refusedQuickly(() => loadLanguageModel(dir), 'ERR_RNNLM_CONFIG').message, /model\.hidden/);
});

test('eval: a model with NaN weights is ERR_RNNLM_NAN, not "ppl": null', () => {
  const tokenizer = CharTokenizer.fromText('abcd');
  const model = new LanguageModel({ vocabSize: tokenizer.vocabSize, embedding: 4, hidden: 4, layers: 1, cell: 'gru', dropout: 0 });
  const nan = fromFloat32Array(new Float32Array(model.decoder.bias!.numel).fill(Number.NaN), model.decoder.bias!.shape);
  model.loadStateDict(new Map([...model.stateDict()].map(([name, t]) => [name, name === 'decoder.bias' ? nan : t])));
  assert.match(throwsCode(() => evaluateText(model, tokenizer, 'abcdabcd'), 'ERR_RNNLM_NAN').message, /NaN/);
  model.dispose();
  nan.dispose();
});

test('a training step whose targets are all ignored says "no tokens to score" and updates nothing', () => {
  const model = new LanguageModel({ vocabSize: 5, embedding: 3, hidden: 3, layers: 1, cell: 'lstm', dropout: 0 });
  const before = model.decoder.weight.toArray();
  const optimizer = new Adam(model.parameters(), { lr: 0.1 });
  const error = throwsCode(
    () =>
      guardedStep(optimizer, model.parameters(), 0, () => {
        const out = model.forward(fromInt32Array(Int32Array.of(1, 2), [2, 1]));
        const { loss, count } = softmaxNll(out.logits, fromInt32Array(Int32Array.of(-100, -100), [2]));
        return { loss, scored: count, keep: () => null };
      }, () => new Error('not a divergence')),
    'ERR_RNNLM_DATA',
  );
  assert.match(error.message, /no tokens to score/);
  assert.equal(model.decoder.weight.toArray(), before);
  model.dispose();
});

test('a plain array where a tensor belongs is a TypeError with ERR_RNNLM_ARGUMENT (was "t._native is not a function")', () => {
  const weight = fromFloat32Array(new Float32Array(6), [3, 2]);
  const error = throwsCode(() => embedding(weight, [1, 2] as unknown as Tensor), 'ERR_RNNLM_ARGUMENT', true);
  assert.match(error.message, /expected a Tensor, got a plain array/);
  throwsCode(() => embedding(Float32Array.of(1) as unknown as Tensor, fromInt32Array(Int32Array.of(0), [1])), 'ERR_RNNLM_ARGUMENT', true);
  weight.dispose();
});

test('binary and empty files of a data folder are named once when training starts', async () => {
  const folder = join(work, 'mixed');
  mkdirSync(folder);
  writeFileSync(join(folder, 'a.txt'), 'some text to train on, long enough for a split. '.repeat(30));
  writeFileSync(join(folder, 'b.bin'), Buffer.from([0, 1, 2, 0, 0, 255, 0]));
  writeFileSync(join(folder, 'c.txt'), '');
  const trainer = LanguageModelTrainer.create({ data: folder, embedding: 4, hidden: 4, layers: 1, batch: 2, seq: 4, steps: 1, validEvery: 1, sampleEvery: 0, device: 'cpu' }, join(work, 'mixed-run'));
  const notes: (string | null)[] = [];
  await trainer.run({ reporter: { start: (info) => notes.push(info.dataNote), step() {}, validation() {}, sample() {}, message() {}, stop() {} } });
  trainer.dispose();
  assert.equal(notes, [`skipped 2 files that hold no text: ${join(folder, 'b.bin')} (binary), ${join(folder, 'c.txt')} (empty)`]);
});

test.run();
