// Checkpoints: atomic writes (no temp files, the old version kept when a write fails), the
// save/load round trip of a LanguageModel and of trainer state, run-folder resolution, and the
// loader's refusals, each with a message naming the file and the problem.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  languageModelConfig,
  loadLanguageModel,
  readCheckpoint,
  resolveCheckpointDir,
  saveCheckpoint,
  saveLanguageModel,
  type SavedTensor,
  type VocabJSON,
} from '../src/checkpoint/index.js';
import { writeDirAtomic, writeFileAtomic } from '../src/io/atomic.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../src/io/safetensors.js';
import { LanguageModel, type CellType } from '../src/models/language_model.js';
import { Generator } from '../src/random.js';
import { fromFloat32Array, fromInt32Array, liveTensors, tidy } from '../src/tensor.js';
import { throwsCode } from './api-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'rnnlm-checkpoint-test-'));
let counter = 0;
function fresh(name = 'x'): string {
  const dir = join(root, `case${counter++}`);
  mkdirSync(dir);
  return join(dir, name);
}

const VOCAB: VocabJSON = { level: 'char', tokens: ['a', 'b', 'c', 'd', 'e', ' ', '\n'], specials: {} };

function makeModel(seed: number, cell: CellType = 'lstm'): LanguageModel {
  return new LanguageModel({ vocabSize: 7, embedding: 3, hidden: 4, layers: 2, cell, dropout: 0.1 }, { generator: new Generator(seed) });
}

function weightsOf(model: LanguageModel): Map<string, number[]> {
  return new Map([...model.stateDict()].map(([k, t]) => [k, Array.from(t.toFloat32Array())]));
}

function logitsOf(model: LanguageModel): number[] {
  model.eval();
  return tidy(() => {
    const ids = fromInt32Array(Int32Array.from([0, 3, 6, 1, 2, 5, 4, 4, 0]), [3, 3]);
    return Array.from(model.forward(ids, null).logits.toFloat32Array());
  });
}

/** A saved LanguageModel checkpoint folder (seed 1) to damage. */
function savedModel(cell: CellType = 'lstm'): string {
  const dir = fresh('ckpt');
  const model = makeModel(1, cell);
  saveLanguageModel(dir, model, { vocab: VOCAB });
  model.dispose();
  return dir;
}

function editJson(path: string, edit: (value: Record<string, unknown>) => void): void {
  const value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(value);
  writeFileSync(path, JSON.stringify(value));
}

function editWeights(dir: string, edit: (tensors: Map<string, SafeTensor>) => void): void {
  const path = join(dir, 'model.safetensors');
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  edit(tensors);
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}

function refuses(dir: string, ...phrases: string[]): void {
  const e = throwsCode(() => loadLanguageModel(dir), 'ERR_RNNLM_CHECKPOINT');
  for (const p of phrases) assert.ok(e.message.includes(p), `'${e.message}' should say '${p}'`);
}

// --- atomic writes ----------------------------------------------------------------------------

test('writeFileAtomic writes and replaces, leaving no temporary file', () => {
  const path = fresh('file.txt');
  writeFileAtomic(path, 'first');
  writeFileAtomic(path, new Uint8Array([0x68, 0x69]));
  assert.is(readFileSync(path, 'utf8'), 'hi');
  assert.equal(readdirSync(join(path, '..')), ['file.txt']);
});

test('writeFileAtomic failures are ERR_RNNLM_IO naming the path, and clean up', () => {
  const path = fresh('taken');
  mkdirSync(path);
  writeFileSync(join(path, 'inside'), 'keep me');
  const e = throwsCode(() => writeFileAtomic(path, 'data'), 'ERR_RNNLM_IO');
  assert.ok(e.message.includes(path), e.message);
  assert.equal(readdirSync(join(path, '..')), ['taken'], 'no temporary file left');
  assert.is(readFileSync(join(path, 'inside'), 'utf8'), 'keep me');
  const missing = join(fresh(), 'no', 'such', 'folder.txt');
  assert.ok(throwsCode(() => writeFileAtomic(missing, 'x'), 'ERR_RNNLM_IO').message.includes(missing));
});

test('writeDirAtomic creates, then replaces a folder wholesale, leaving nothing beside it', () => {
  const dir = fresh('ckpt');
  writeDirAtomic(dir, new Map<string, string | Uint8Array>([['a.txt', 'one'], ['b.bin', new Uint8Array([1, 2, 3])]]));
  assert.equal(readdirSync(dir).sort(), ['a.txt', 'b.bin']);
  writeDirAtomic(dir, new Map([['a.txt', 'two']]));
  assert.equal(readdirSync(dir), ['a.txt'], 'files of the old version are gone');
  assert.is(readFileSync(join(dir, 'a.txt'), 'utf8'), 'two');
  assert.equal(readdirSync(join(dir, '..')), ['ckpt'], 'no temp or old folder left');
  const nested = join(fresh(), 'run', 'best');
  writeDirAtomic(nested, new Map([['x', 'y']]));
  assert.is(readFileSync(join(nested, 'x'), 'utf8'), 'y', 'parents created');
});

test('a writeDirAtomic that fails midway keeps the old folder and leaves no temp folder', () => {
  const dir = fresh('ckpt');
  writeDirAtomic(dir, new Map([['a.txt', 'old']]));
  // The second file fails in the OS (a name longer than any file system allows) after the
  // first was written.
  const files = new Map([['a.txt', 'new'], ['n'.repeat(300), 'x']]);
  const e = throwsCode(() => writeDirAtomic(dir, files), 'ERR_RNNLM_IO');
  assert.ok(e.message.includes('cannot write'), e.message);
  assert.equal(readdirSync(dir), ['a.txt']);
  assert.is(readFileSync(join(dir, 'a.txt'), 'utf8'), 'old');
  assert.equal(readdirSync(join(dir, '..')), ['ckpt']);
  throwsCode(() => writeDirAtomic(dir, new Map([['../escape', 'x']])), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => writeDirAtomic(dir, new Map([['sub/file', 'x']])), 'ERR_RNNLM_ARGUMENT');
  assert.is(readFileSync(join(dir, 'a.txt'), 'utf8'), 'old');
});

// --- round trips ------------------------------------------------------------------------------

test('save then load a LanguageModel: same config, weights and logits', () => {
  for (const cell of ['lstm', 'gru', 'rnn_relu'] as const) {
    const before = liveTensors();
    const dir = fresh('ckpt');
    const model = makeModel(7, cell);
    saveLanguageModel(dir, model, { vocab: VOCAB });
    assert.equal(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'vocab.json']);
    const loaded = loadLanguageModel(dir);
    assert.equal(loaded.config, languageModelConfig(model.config, 'char'));
    assert.equal(loaded.model.config, model.config);
    assert.equal(loaded.vocab, VOCAB);
    assert.is(loaded.dir, dir);
    assert.is(loaded.trainer, null);
    assert.is(loaded.model.training, false, 'returned in eval mode');
    assert.equal(weightsOf(loaded.model), weightsOf(model));
    assert.equal(logitsOf(loaded.model), logitsOf(model));
    const other = makeModel(8, cell);
    assert.not.equal(logitsOf(other), logitsOf(model), 'a different seed gives different logits');
    other.dispose();
    model.dispose();
    loaded.model.dispose();
    assert.is(liveTensors(), before, `${cell}: no tensor leaked`);
  }
});

test('config.json is the documented layout', () => {
  const dir = savedModel('gru');
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), {
    format: 'rnnlm',
    format_version: 1,
    kind: 'language_model',
    model: { vocab_size: 7, embedding: 3, hidden: 4, layers: 2, cell: 'gru', dropout: 0.1 },
    tokenizer: { level: 'char' },
  });
  const { metadata, tensors } = decodeSafetensors(readFileSync(join(dir, 'model.safetensors')), 'model');
  assert.equal(metadata, { format: 'pt' });
  assert.equal(tensors.get('rnn.weight_ih_l0')!.shape, [12, 3]);
  assert.equal(tensors.get('decoder.weight')!.shape, [7, 4]);
});

test('trainer state round trip: JSON state and float/int tensors', () => {
  const dir = fresh('last');
  const model = makeModel(3);
  const state = { step: 120, rng: { seed: '18446744073709551615', offset: 9 }, schedule: [0.1, 0.05], best: null, note: 'ünï' };
  const moment = fromFloat32Array(Float32Array.from([0.5, -1e-8, 3]), [3]);
  const position = fromInt32Array(Int32Array.from([4, -7]), [2, 1]);
  saveLanguageModel(dir, model, { vocab: VOCAB, trainer: { state, tensors: new Map([['adam.exp_avg.0', moment], ['data.position', position]]) } });
  moment.dispose();
  position.dispose();
  model.dispose();
  assert.equal(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer.json', 'vocab.json']);
  const ckpt = readCheckpoint(dir, { kind: 'language_model' });
  assert.equal(ckpt.trainer!.state, state);
  const m = ckpt.trainer!.tensors.get('adam.exp_avg.0')!;
  assert.is(m.dtype, 'F32');
  assert.equal(Array.from(m.data as Float32Array), Array.from(Float32Array.from([0.5, -1e-8, 3])));
  const p = ckpt.trainer!.tensors.get('data.position')!;
  assert.equal([p.dtype, p.shape, Array.from(p.data as Int32Array)], ['I32', [2, 1], [4, -7]]);
  assert.is(readCheckpoint(dir, { trainer: false }).trainer, null);
  const loaded = loadLanguageModel(dir, { trainer: true });
  assert.equal(loaded.trainer!.state, state);
  loaded.model.dispose();
  // Without trainer state: null, or an error when it is required.
  const bare = savedModel();
  assert.is(readCheckpoint(bare).trainer, null);
  assert.ok(throwsCode(() => readCheckpoint(bare, { requireTrainer: true }), 'ERR_RNNLM_CHECKPOINT').message.includes('cannot resume'));
  unlinkSync(join(dir, 'optimizer.safetensors'));
  assert.ok(throwsCode(() => readCheckpoint(dir), 'ERR_RNNLM_CHECKPOINT').message.includes('optimizer.safetensors is missing'));
});

test('resolveCheckpointDir: checkpoint folder, run folder (best, else last), checkpoint file', () => {
  const run = fresh('run');
  const model = makeModel(1);
  saveLanguageModel(join(run, 'last'), model, { vocab: VOCAB });
  assert.is(resolveCheckpointDir(run), join(run, 'last'), 'only last/');
  saveLanguageModel(join(run, 'best'), model, { vocab: VOCAB });
  model.dispose();
  assert.is(resolveCheckpointDir(run), join(run, 'best'));
  assert.is(resolveCheckpointDir(run, 'last'), join(run, 'last'));
  assert.is(resolveCheckpointDir(join(run, 'last')), join(run, 'last'));
  assert.is(resolveCheckpointDir(join(run, 'best', 'model.safetensors')), join(run, 'best'));
  const loaded = loadLanguageModel(run);
  assert.is(loaded.dir, join(run, 'best'));
  loaded.model.dispose();
  const missing = join(run, 'nope');
  assert.ok(throwsCode(() => resolveCheckpointDir(missing), 'ERR_RNNLM_CHECKPOINT').message.includes(`${missing} does not exist`));
  const empty = fresh('empty');
  mkdirSync(empty);
  assert.ok(throwsCode(() => resolveCheckpointDir(empty), 'ERR_RNNLM_CHECKPOINT').message.includes('is not a checkpoint'));
  assert.ok(throwsCode(() => readCheckpoint(run), 'ERR_RNNLM_CHECKPOINT').message.includes('it is a run folder'));
});

// --- saving refuses ---------------------------------------------------------------------------

test('a failed save keeps the previous checkpoint', () => {
  const dir = savedModel();
  const original = readFileSync(join(dir, 'model.safetensors'));
  const model = makeModel(2);
  const small: VocabJSON = { ...VOCAB, tokens: VOCAB.tokens.slice(1) };
  assert.ok(throwsCode(() => saveLanguageModel(dir, model, { vocab: small }), 'ERR_RNNLM_ARGUMENT').message.includes('vocab_size is 7'));
  const weights = new Map(model.stateDict());
  weights.delete('rnn.bias_hh_l1');
  const config = languageModelConfig(model.config, 'char');
  assert.ok(throwsCode(() => saveCheckpoint(dir, { config, vocab: VOCAB, weights }), 'ERR_RNNLM_ARGUMENT').message.includes("missing tensor 'rnn.bias_hh_l1'"));
  const diverged = new Map<string, SavedTensor>(model.stateDict());
  diverged.set('decoder.bias', { dtype: 'F32', shape: [7], data: Float32Array.from([0, 0, NaN, 0, 0, 0, 0]) });
  const nan = throwsCode(() => saveCheckpoint(dir, { config, vocab: VOCAB, weights: diverged }), 'ERR_RNNLM_NAN');
  assert.ok(nan.message.includes("'decoder.bias' holds NaN"), nan.message);
  model.dispose();
  assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(original));
  assert.equal(readdirSync(join(dir, '..')), ['ckpt']);
});

test('saveCheckpoint will not replace a folder holding anything but checkpoint files', () => {
  const dir = fresh('notes');
  mkdirSync(dir);
  writeFileSync(join(dir, 'thesis.tex'), 'precious');
  const model = makeModel(1);
  const e = throwsCode(() => saveLanguageModel(dir, model, { vocab: VOCAB }), 'ERR_RNNLM_ARGUMENT');
  model.dispose();
  assert.ok(e.message.includes('refusing to replace') && e.message.includes('thesis.tex'), e.message);
  assert.is(readFileSync(join(dir, 'thesis.tex'), 'utf8'), 'precious');
});

// --- loading refuses --------------------------------------------------------------------------

test('loader: missing folder, not a checkpoint, missing files, bad JSON', () => {
  refuses(join(root, 'absent'), 'absent does not exist');
  const empty = fresh('empty');
  mkdirSync(empty);
  refuses(empty, 'is not a checkpoint', 'config.json');
  const noVocab = savedModel();
  unlinkSync(join(noVocab, 'vocab.json'));
  refuses(noVocab, 'incomplete checkpoint, vocab.json is missing');
  const noWeights = savedModel();
  unlinkSync(join(noWeights, 'model.safetensors'));
  refuses(noWeights, 'model.safetensors is missing');
  const badJson = savedModel();
  writeFileSync(join(badJson, 'config.json'), '{"format": "rnnlm",');
  refuses(badJson, 'config.json: not valid JSON');
});

test('loader: an interrupted save says where the previous checkpoint went', () => {
  const dir = savedModel();
  const aside = join(dir, '..', '.ckpt.old-123-abcd');
  renameSync(dir, aside);
  refuses(dir, 'does not exist', 'previous checkpoint at', '.ckpt.old-123-abcd');
});

test('loader: foreign format, newer format_version, another kind', () => {
  const foreign = savedModel();
  writeFileSync(join(foreign, 'config.json'), JSON.stringify({ architectures: ['GPT2LMHeadModel'], vocab_size: 7 }));
  refuses(foreign, 'not an rnnlm checkpoint');
  const future = savedModel();
  editJson(join(future, 'config.json'), (c) => (c.format_version = 2));
  refuses(future, 'format_version 2', 'newer rnnlm');
  const classifier = savedModel();
  editJson(join(classifier, 'config.json'), (c) => (c.kind = 'classifier'));
  refuses(classifier, 'is a classifier checkpoint, not a language_model checkpoint');
  const cell = savedModel();
  editJson(join(cell, 'config.json'), (c) => ((c.model as Record<string, unknown>).cell = 'transformer'));
  refuses(cell, 'model.cell must be one of');
});

test('loader: vocabulary that does not match the config', () => {
  const size = savedModel();
  editJson(join(size, 'vocab.json'), (v) => (v.tokens = ['a', 'b']));
  refuses(size, 'vocab.json', 'has 2 tokens', 'vocab_size is 7');
  const level = savedModel();
  editJson(join(level, 'vocab.json'), (v) => (v.level = 'word'));
  refuses(level, 'level is "word"');
  const notStrings = savedModel();
  editJson(join(notStrings, 'vocab.json'), (v) => (v.tokens = ['a', 'b', 'c', 'd', 'e', 5, 'g']));
  refuses(notStrings, 'tokens[5] is not a string');
});

test('loader: missing, unexpected, misshapen, mistyped tensors', () => {
  const missing = savedModel();
  editWeights(missing, (t) => t.delete('decoder.bias'));
  refuses(missing, 'model.safetensors', "missing tensor 'decoder.bias'");
  const extra = savedModel();
  editWeights(extra, (t) => t.set('rnn.weight_ih_l2', { dtype: 'F32', shape: [1], data: new Float32Array(1) }));
  refuses(extra, "unexpected tensor 'rnn.weight_ih_l2'");
  const prefixed = savedModel();
  editWeights(prefixed, (t) => {
    const all = [...t];
    t.clear();
    for (const [k, v] of all) t.set(`module.${k}`, v);
  });
  refuses(prefixed, "'module.' prefix");
  const hidden = savedModel();
  editJson(join(hidden, 'config.json'), (c) => ((c.model as Record<string, unknown>).hidden = 5));
  refuses(hidden, "'rnn.weight_ih_l0' has shape [16, 3], expected [20, 3]", "'decoder.weight' has shape [7, 4], expected [7, 5]");
  const gru = savedModel();
  editJson(join(gru, 'config.json'), (c) => ((c.model as Record<string, unknown>).cell = 'gru'));
  refuses(gru, 'expected [12, 3] (gru: 3 gates x hidden 4');
  const ints = savedModel();
  editWeights(ints, (t) => t.set('decoder.bias', { dtype: 'I32', shape: [7], data: new Int32Array(7) }));
  refuses(ints, "'decoder.bias' is I32, expected F32");
});

test('loader: corrupt safetensors and NaN weights', () => {
  const truncated = savedModel();
  const path = join(truncated, 'model.safetensors');
  writeFileSync(path, readFileSync(path).subarray(0, 100));
  refuses(truncated, `${path}: not a valid safetensors file`);
  const nan = savedModel();
  editWeights(nan, (t) => {
    (t.get('rnn.weight_hh_l1')!.data as Float32Array)[5] = NaN;
  });
  refuses(nan, "tensor 'rnn.weight_hh_l1' holds NaN at element 5");
  const inf = savedModel();
  editWeights(inf, (t) => {
    (t.get('embedding.weight')!.data as Float32Array)[0] = -Infinity;
  });
  refuses(inf, "'embedding.weight' holds -Infinity");
});

test('loader: F64 weights (a PyTorch model.double() state) load as float32', () => {
  const dir = savedModel();
  const model = makeModel(1);
  editWeights(dir, (t) => {
    for (const [k, v] of t) t.set(k, { dtype: 'F64', shape: v.shape, data: Float64Array.from(v.data as Float32Array) });
  });
  const loaded = loadLanguageModel(dir);
  assert.equal(logitsOf(loaded.model), logitsOf(model));
  loaded.model.dispose();
  model.dispose();
});

test.after(() => {
  rmSync(root, { recursive: true, force: true });
  assert.ok(!existsSync(root));
});

test.run();
