// --resume checks trainer.json completely before it builds anything (issue 15 item 3): field
// types and integer ranges, the optimizer record and generator state, the saved options against
// config.json, optimizer buffers and carried state against their parameters' shapes. Each
// tampered file is refused with ERR_RNNLM_CHECKPOINT naming the field, fast, and the run stays
// resumable once the file is put back.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClassifierTrainer } from '../src/classify/trainer.js';
import { encodeSafetensors, readSafetensorsFile } from '../src/io/safetensors.js';
import { LanguageModelTrainer } from '../src/train/lm_trainer.js';
import { SentenceVaeTrainer } from '../src/vae/trainer.js';
import { throwsCode } from './api-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'rnnlm-resume-check-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Edits RUN/last/trainer.json with `edit`, runs `resume`, restores the file; returns the error. */
function refusedAfter(run: string, edit: (json: Json) => void, resume: () => { dispose(): void }, message: RegExp): void {
  const path = join(run, 'last', 'trainer.json');
  const original = readFileSync(path, 'utf8');
  const json = JSON.parse(original) as Json;
  edit(json);
  writeFileSync(path, JSON.stringify(json));
  try {
    const started = performance.now();
    const error = throwsCode(() => resume().dispose(), 'ERR_RNNLM_CHECKPOINT');
    assert.match(error.message, message);
    // Refused from the files alone: nothing of a 9999-wide model was allocated first.
    assert.ok(performance.now() - started < 5000, `refused in ${performance.now() - started} ms`);
  } finally {
    writeFileSync(path, original);
  }
}

const corpus = join(work, 'corpus.txt');
writeFileSync(corpus, 'call me ishmael. some years ago, never mind how long precisely. '.repeat(40));
const lmRun = join(work, 'lm');
const resumeLm = () => LanguageModelTrainer.resume(lmRun);

test('language model: the untouched run resumes', async () => {
  const lm = LanguageModelTrainer.create({ data: corpus, embedding: 8, hidden: 12, layers: 2, batch: 4, seq: 8, steps: 3, validEvery: 3, sampleEvery: 0, device: 'cpu' }, lmRun);
  await lm.run();
  lm.dispose();
  resumeLm().dispose();
});

test('language model: options that disagree with config.json are refused before a model is built', () => {
  refusedAfter(lmRun, (j) => (j.options.hidden = 9999), resumeLm, /option hidden is 9999 but config\.json says model\.hidden is 12/);
  refusedAfter(lmRun, (j) => (j.options.cell = 'gru'), resumeLm, /option cell is "gru"/);
  refusedAfter(lmRun, (j) => (j.options.layers = 1e12), resumeLm, /invalid options: .*layers/);
});

test('language model: steps and positions must be non-negative safe integers', () => {
  for (const step of [50.5, 1e308, -1, '3', null]) refusedAfter(lmRun, (j) => (j.state.step = step), resumeLm, /state\.step/);
  refusedAfter(lmRun, (j) => (j.state.chunk = 0.25), resumeLm, /state\.chunk/);
  refusedAfter(lmRun, (j) => (j.state.elapsed = -3), resumeLm, /state\.elapsed/);
  refusedAfter(lmRun, (j) => (j.state.best = { loss: 1, step: 99 }), resumeLm, /state\.best/);
});

test('language model: optimizer record, generator state and buffer shapes', () => {
  refusedAfter(lmRun, (j) => (j.optimizer.steps[0] = 2.5), resumeLm, /optimizer\.steps\[0\]/);
  refusedAfter(lmRun, (j) => j.optimizer.steps.pop(), resumeLm, /optimizer record lists \d+ parameters but the model has \d+/);
  refusedAfter(lmRun, (j) => (j.optimizer.hyperparameters.lr = 'fast'), resumeLm, /hyperparameter 'lr'/);
  refusedAfter(lmRun, (j) => (j.generator.offset = 1.5), resumeLm, /generator offset/);
  refusedAfter(lmRun, (j) => (j.generator.seed = 'abc'), resumeLm, /generator seed/);
  refusedAfter(lmRun, (j) => (j.distributed = { worldSize: 2, generatorOffsets: [0] }), resumeLm, /field distributed/);

  // A moment buffer of the wrong shape in optimizer.safetensors.
  const path = join(lmRun, 'last', 'optimizer.safetensors');
  const original = readFileSync(path);
  const { tensors, metadata } = readSafetensorsFile(path);
  const name = [...tensors.keys()].find((n) => n.startsWith('optimizer.0.'))!;
  tensors.set(name, { dtype: 'F32', shape: [3], data: new Float32Array(3) });
  writeFileSync(path, encodeSafetensors(tensors, metadata));
  try {
    assert.match(throwsCode(resumeLm, 'ERR_RNNLM_CHECKPOINT').message, new RegExp(`tensor '${name.replace(/\./g, '\\.')}' is \\[3\\]`));
  } finally {
    writeFileSync(path, original);
  }
  resumeLm().dispose();
});

test('sentence VAE and classifier: options against config.json, integer fields', async () => {
  const sentences = join(work, 'sentences.txt');
  writeFileSync(sentences, `${Array.from({ length: 40 }, (_, i) => `the ship ${i % 5} sails .`).join('\n')}\n`);
  const vaeRun = join(work, 'vae');
  const vae = SentenceVaeTrainer.create({ data: sentences, embedding: 6, hidden: 6, latent: 2, batch: 10, epochs: 1, device: 'cpu' }, vaeRun);
  await vae.run();
  vae.dispose();
  const resumeVae = () => SentenceVaeTrainer.resume(vaeRun);
  resumeVae().dispose();
  refusedAfter(vaeRun, (j) => (j.options.latent = 9999), resumeVae, /option latent is 9999 but config\.json says model\.latent is 2/);
  refusedAfter(vaeRun, (j) => (j.state.batch = 0.5), resumeVae, /state\.batch/);

  const folder = join(work, 'names');
  mkdirSync(folder);
  writeFileSync(join(folder, 'A.txt'), Array.from({ length: 20 }, (_, i) => `anna${i}`).join('\n'));
  writeFileSync(join(folder, 'B.txt'), Array.from({ length: 20 }, (_, i) => `bodo${i}`).join('\n'));
  const classifierRun = join(work, 'classifier');
  const classifier = ClassifierTrainer.create({ data: folder, embedding: 6, hidden: 6, batch: 8, epochs: 1, device: 'cpu' }, classifierRun);
  await classifier.run();
  classifier.dispose();
  const resumeClassifier = () => ClassifierTrainer.resume(classifierRun);
  resumeClassifier().dispose();
  refusedAfter(classifierRun, (j) => (j.options.bidirectional = !j.options.bidirectional), resumeClassifier, /option bidirectional is/);
  refusedAfter(classifierRun, (j) => (j.state.seen = 1e308), resumeClassifier, /state\.seen/);
});

test.run();
