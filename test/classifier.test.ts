// The sequence classifier: gradients against finite differences (the final-state selection and
// the class-weighted loss included), packing of unequal, unsorted lengths, a tiny model that
// learns two synthetic classes and predicts them, the data readers and their refusals, the
// split, batches, metrics, checkpoints and the heat map.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad } from '../src/autograd.js';
import { saveLanguageModel } from '../src/checkpoint/lm_checkpoint.js';
import { classifierConfig, loadClassifier, saveClassifier } from '../src/checkpoint/classifier_checkpoint.js';
import { bucketedBatches, sortedBatches } from '../src/classify/batches.js';
import { parseCsv } from '../src/classify/csv.js';
import { readClassificationData, type Example } from '../src/classify/data.js';
import { balancedClassWeights, classificationLoss } from '../src/classify/loss.js';
import { classificationReport, confusionMatrix } from '../src/classify/metrics.js';
import { classifyTexts, evaluateClassifier } from '../src/classify/predict.js';
import { stratifiedSplit } from '../src/classify/split.js';
import { ClassifierVocab, UNK_CHAR } from '../src/classify/vocab.js';
import { LanguageModel, type CellType } from '../src/models/language_model.js';
import { SequenceClassifier, type SequenceClassifierConfig } from '../src/models/sequence_classifier.js';
import { Adam } from '../src/optim/index.js';
import { packIds, padPackedSequence } from '../src/packed.js';
import { renderConfusionHeatmap } from '../src/plot/heatmap.js';
import { Generator } from '../src/random.js';
import { SampleRandom } from '../src/sample/pick.js';
import { fromFloat32Array, liveTensors, tidy, type Tensor } from '../src/tensor.js';
import { close, throwsCode } from './api-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'rnnlm-classifier-test-'));
let counter = 0;
function fresh(name = 'x'): string {
  const dir = join(root, `case${counter++}`);
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
test.after(() => rmSync(root, { recursive: true, force: true }));

const fixtures = fileURLToPath(new URL('./fixtures/classify/', import.meta.url));

function tiny(cell: CellType, overrides: Partial<SequenceClassifierConfig> = {}, seed = 5): SequenceClassifier {
  return new SequenceClassifier(
    { vocabSize: 6, embedding: 3, hidden: 3, layers: 2, cell, bidirectional: true, dropout: 0, numClasses: 3, ...overrides },
    { generator: new Generator(seed) },
  );
}

// Unequal lengths in no particular order, so packing must sort and unsort.
const SEQS = [Int32Array.from([1, 2]), Int32Array.from([3, 0, 5, 4, 1]), Int32Array.from([2]), Int32Array.from([5, 5, 1, 0])];

// --- gradients ------------------------------------------------------------------------------

/** Worst |autograd - central difference| over every parameter element, relative to the scale. */
function gradcheckModel(model: SequenceClassifier, loss: () => Tensor, eps = 1e-2): number {
  const params = model.stateDict();
  model.zeroGrad();
  tidy(() => loss().backward());
  const analytic = new Map([...params].map(([name, t]) => [name, t.grad!.toFloat32Array()]));
  const lossAt = (): number => noGrad(() => tidy(() => loss().item()));
  let worst = 0;
  for (const [name, t] of params) {
    const base = t.toFloat32Array();
    const ana = analytic.get(name)!;
    let scale = 0.1;
    const num = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const data = Float32Array.from(base);
      const xp = Math.fround(base[i]! + eps);
      const xm = Math.fround(base[i]! - eps);
      data[i] = xp;
      noGrad(() => model.loadStateDict(new Map([...params].map(([n, p]) => [n, n === name ? fromFloat32Array(data, p.shape) : p])), { strict: true }));
      const lp = lossAt();
      data[i] = xm;
      noGrad(() => model.loadStateDict(new Map([...params].map(([n, p]) => [n, n === name ? fromFloat32Array(data, p.shape) : p])), { strict: true }));
      const lm = lossAt();
      num[i] = (lp - lm) / (xp - xm);
      noGrad(() => model.loadStateDict(new Map([...params].map(([n, p]) => [n, n === name ? fromFloat32Array(base, p.shape) : p])), { strict: true }));
    }
    for (let i = 0; i < base.length; i++) scale = Math.max(scale, Math.abs(ana[i]!), Math.abs(num[i]!));
    for (let i = 0; i < base.length; i++) {
      const rel = Math.abs(ana[i]! - num[i]!) / scale;
      if (!(rel <= 2e-2)) assert.unreachable(`d/d${name}[${i}]: autograd ${ana[i]}, numerical ${num[i]} (relative error ${rel.toExponential(2)})`);
      worst = Math.max(worst, rel);
    }
  }
  return worst;
}

for (const cell of ['gru', 'lstm'] as const) {
  test(`gradcheck: 2-layer bidirectional ${cell} classifier, class-weighted loss, packed unsorted batch`, () => {
    const model = tiny(cell);
    try {
      const targets = Int32Array.from([2, 0, 2, 1]);
      const weights = Float32Array.from([0.5, 2, 1.25]);
      // Every parameter is checked: embedding, both layers and directions, fc.
      gradcheckModel(model, () => classificationLoss(model.forwardIds(SEQS), targets, weights));
    } finally {
      model.dispose();
    }
  });
}

test('gradcheck: unidirectional 1-layer rnn classifier, unweighted loss', () => {
  const model = tiny('rnn', { layers: 1, bidirectional: false });
  try {
    gradcheckModel(model, () => classificationLoss(model.forwardIds(SEQS), Int32Array.from([0, 1, 2, 1])));
  } finally {
    model.dispose();
  }
});

test('features are the last layer’s final states: forward at the last step, reverse at the first', () => {
  const model = tiny('gru');
  try {
    tidy(() => {
      const packed = packIds(SEQS, { enforceSorted: false });
      const features = model.features(packed).toFloat32Array(); // (B, 2H)
      const emb = model.embedding.forward(packed.data);
      const out = model.rnn.forward(packed.withData(emb));
      const { padded } = padPackedSequence(out.output); // (T, B, 2H)
      const p = padded.toFloat32Array();
      const [steps, batch, width] = padded.shape as [number, number, number];
      assert.is(steps, 5);
      const h = width / 2;
      SEQS.forEach((seq, b) => {
        const last = seq.length - 1;
        const fwd = Array.from({ length: h }, (_, k) => p[(last * batch + b) * width + k]!);
        const rev = Array.from({ length: h }, (_, k) => p[(0 * batch + b) * width + h + k]!);
        close(features.subarray(b * width, (b + 1) * width), [...fwd, ...rev], 1e-6, `features of sequence ${b}`);
      });
    });
  } finally {
    model.dispose();
  }
});

// --- packing --------------------------------------------------------------------------------

test('packing unequal, unsorted lengths gives the logits of each sequence run alone', () => {
  for (const cell of ['lstm', 'gru'] as const) {
    const model = tiny(cell).eval();
    try {
      tidy(() => {
        const together = model.forwardIds(SEQS).toFloat32Array(); // (4, 3)
        SEQS.forEach((seq, b) => {
          const alone = model.forwardIds([seq]).toFloat32Array();
          close(together.subarray(b * 3, b * 3 + 3), alone, 1e-5, `${cell} logits of sequence ${b}`);
        });
        // The same batch in another order gives the same rows, permuted.
        const order = [2, 0, 3, 1];
        const permuted = model.forwardIds(order.map((i) => SEQS[i]!)).toFloat32Array();
        order.forEach((i, r) => close(permuted.subarray(r * 3, r * 3 + 3), together.subarray(i * 3, i * 3 + 3), 1e-5, `${cell} permuted row ${r}`));
      });
    } finally {
      model.dispose();
    }
  }
});

// --- loss -----------------------------------------------------------------------------------

test('class-weighted loss is sum w[y] nll / sum w[y] (nn.CrossEntropyLoss(weight=...)); unweighted is the mean', () => {
  const logitsData = Float32Array.from([0.2, -1, 2, 1.5, 0.1, -0.3, -2, 0.7, 0.4, 0.9, 0.9, -0.9, 0, 0, 3]);
  const targets = Int32Array.from([2, 0, 1, 1, 2]);
  const weights = Float32Array.from([3, 0.5, 1.5]);
  const nll: number[] = [];
  for (let i = 0; i < 5; i++) {
    const row = Array.from(logitsData.subarray(i * 3, i * 3 + 3));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    nll.push(lse - row[targets[i]!]!);
  }
  let num = 0;
  let den = 0;
  nll.forEach((v, i) => {
    num += weights[targets[i]!]! * v;
    den += weights[targets[i]!]!;
  });
  tidy(() => {
    const logits = fromFloat32Array(logitsData, [5, 3]);
    close([classificationLoss(logits, targets, weights).item()], [num / den], 1e-5, 'weighted loss');
    close([classificationLoss(logits, targets).item()], [nll.reduce((a, b) => a + b) / 5], 1e-5, 'mean loss');
  });
  throwsCode(() => tidy(() => classificationLoss(fromFloat32Array(logitsData, [5, 3]), Int32Array.from([0, 1, 3, 0, 0]))), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => tidy(() => classificationLoss(fromFloat32Array(logitsData, [5, 3]), targets, Float32Array.from([1, 1]))), 'ERR_RNNLM_SHAPE');
  // 'balanced': n / (classes * n_c); a class absent from the labels gets 0.
  close(balancedClassWeights([0, 0, 0, 1], 3), [4 / 6, 4 / 2, 0], 1e-6, 'balanced weights');
});

// --- a tiny model learns ------------------------------------------------------------------------

// Two classes a model can only tell apart by reading the characters: words over "abc" and over "xyz".
function synthetic(count: number, seed: number): { texts: string[]; labels: number[] } {
  const random = new SampleRandom(seed);
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    const alphabet = label === 0 ? 'abc' : 'xyz';
    const length = 2 + Math.floor(random.next() * 6);
    let t = '';
    for (let k = 0; k < length; k++) t += alphabet[Math.floor(random.next() * 3)]!;
    texts.push(t);
    labels.push(label);
  }
  return { texts, labels };
}

test('a tiny classifier learns two synthetic classes and predicts them (probabilities, top-k, <unk>)', () => {
  const { texts, labels } = synthetic(120, 3);
  const vocab = ClassifierVocab.fromTexts(texts);
  const ids = texts.map((t) => vocab.encode(t).ids);
  const model = new SequenceClassifier(
    { vocabSize: vocab.size, embedding: 8, hidden: 8, layers: 1, cell: 'gru', bidirectional: true, dropout: 0.1, numClasses: 2 },
    { generator: new Generator(11) },
  );
  const optimizer = new Adam(model.parameters(), { lr: 0.02 });
  const before = liveTensors();
  try {
    const random = new SampleRandom(4);
    for (let epoch = 0; epoch < 6; epoch++) {
      for (const batch of bucketedBatches([...texts.keys()], ids.map((x) => x.length), 16, random, 2)) {
        tidy(() => {
          optimizer.zeroGrad();
          const loss = classificationLoss(model.forwardIds(batch.map((i) => ids[i]!)), Int32Array.from(batch, (i) => labels[i]!));
          loss.backward();
          optimizer.step();
        });
      }
    }
    const names = ['letters', 'symbols'];
    const results = classifyTexts(model, vocab, names, ['abcab', 'zyx', '  cab  ', 'xqz'], { top: 2 });
    assert.equal(results.map((r) => r.predictions[0]!.label), ['letters', 'symbols', 'letters', 'symbols']);
    for (const r of results) {
      assert.is(r.predictions.length, 2);
      assert.ok(r.predictions[0]!.probability > 0.8, `${r.text}: ${r.predictions[0]!.probability}`);
      close([r.predictions[0]!.probability + r.predictions[1]!.probability], [1], 1e-5, 'probabilities sum to 1');
    }
    assert.is(results[2]!.text, 'cab', 'texts are trimmed');
    // 'q' was never seen: it is read as <unk> and reported, exactly as the <unk> character itself.
    assert.equal(results[3]!.unknown, ['q']);
    const viaUnk = classifyTexts(model, vocab, names, [`x${UNK_CHAR}z`], { top: 2 })[0]!;
    close([viaUnk.predictions[0]!.probability], [results[3]!.predictions[0]!.probability], 1e-6, 'unknown = <unk>');
    assert.equal(viaUnk.unknown, []);

    const test = synthetic(40, 99);
    const examples: Example[] = test.texts.map((text, i) => ({ text, label: test.labels[i]! }));
    const r = evaluateClassifier(model, vocab, names, examples);
    assert.is(r.examples, 40);
    assert.ok(r.accuracy >= 0.95, `accuracy ${r.accuracy}`);
    assert.is(r.confusion.flat().reduce((a, b) => a + b), 40);
    assert.ok(model.training, 'evaluation restores the training mode');

    throwsCode(() => classifyTexts(model, vocab, names, ['ab', '   ']), 'ERR_RNNLM_ARGUMENT');
    throwsCode(() => classifyTexts(model, vocab, names, ['']), 'ERR_RNNLM_ARGUMENT');
    throwsCode(() => classifyTexts(model, vocab, names, ['ab'], { top: 0 }), 'ERR_RNNLM_ARGUMENT');
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  assert.ok(liveTensors() <= before - model.parameters().length + 2, `tensors leaked: ${liveTensors()} live, ${before} before`);
});

// --- vocabulary -----------------------------------------------------------------------------

test('the vocabulary reserves id 0 for unknown characters and round-trips through vocab.json', () => {
  const vocab = ClassifierVocab.fromTexts(['bca', 'ab', `é${UNK_CHAR}`]);
  assert.equal(vocab.tokens, [UNK_CHAR, 'a', 'b', 'c', 'é']);
  assert.equal(Array.from(vocab.encode('cab').ids), [3, 1, 2]);
  const e = vocab.encode('aßa😀');
  assert.equal(Array.from(e.ids), [1, 0, 1, 0], 'an astral character is one token');
  assert.equal(e.unknown, ['ß', '😀']);
  const json = vocab.toJSON();
  assert.equal(json.specials, { unk: 0 });
  assert.equal(ClassifierVocab.fromJSON(json, 'vocab.json').tokens, vocab.tokens);
  throwsCode(() => ClassifierVocab.fromJSON({ level: 'char', tokens: ['a', 'b'], specials: {} }, 'v.json'), 'ERR_RNNLM_CHECKPOINT');
  throwsCode(() => ClassifierVocab.fromJSON({ level: 'char', tokens: ['a', 'bb'], specials: { unk: 0 } }, 'v.json'), 'ERR_RNNLM_CHECKPOINT');
});

// --- data -----------------------------------------------------------------------------------

function labelFolder(files: Record<string, string>): string {
  const dir = fresh('data');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('a folder of LABEL.txt files: labels sorted, blank lines skipped, texts trimmed and NFC', () => {
  const dir = labelFolder({ 'Spanish.txt': 'Garci\u0301a\n\n  Lopez \n', 'German.txt': 'Müller\r\nSchmidt', 'notes.md': 'ignored', '.hidden.txt': 'x' });
  const data = readClassificationData(dir);
  assert.equal(data.labels, ['German', 'Spanish']);
  assert.equal(data.examples, [
    { text: 'Müller', label: 0 },
    { text: 'Schmidt', label: 0 },
    { text: 'García', label: 1 },
    { text: 'Lopez', label: 1 },
  ]);
  assert.ok(data.origins[3]!.endsWith('Spanish.txt:3'), data.origins[3]);
  // With a model's labels the ids follow them, and a label it does not know is an error.
  const known = readClassificationData(dir, { labels: ['Spanish', 'German', 'French'] });
  assert.equal(known.examples.map((e) => e.label), [1, 1, 0, 0]);
  const e = throwsCode(() => readClassificationData(dir, { labels: ['German'] }), 'ERR_RNNLM_DATA');
  assert.match(e.message, /Spanish/);
});

test('bad data: empty label file, folder without .txt, missing path, binary file', () => {
  let e = throwsCode(() => readClassificationData(labelFolder({ 'A.txt': 'x\ny\n', 'Empty.txt': '' })), 'ERR_RNNLM_DATA');
  assert.match(e.message, /Empty\.txt is empty/);
  e = throwsCode(() => readClassificationData(labelFolder({ 'A.txt': 'x\n', 'Blank.txt': '\n  \n' })), 'ERR_RNNLM_DATA');
  assert.match(e.message, /Blank\.txt is empty/);
  e = throwsCode(() => readClassificationData(labelFolder({ 'readme.md': 'x' })), 'ERR_RNNLM_DATA');
  assert.match(e.message, /no LABEL\.txt files/);
  throwsCode(() => readClassificationData(join(root, 'nope')), 'ERR_RNNLM_DATA');
  throwsCode(() => readClassificationData(labelFolder({ 'A.txt': 'a\u0000b\n' })), 'ERR_RNNLM_DATA');
});

test('CSV: quoted fields (commas, doubled quotes, line breaks), any column order; refusals name the line', () => {
  const data = readClassificationData(join(fixtures, 'quoted.csv'));
  assert.equal(data.labels, ['English', 'German', 'Irish', 'Italian', 'Spanish']);
  assert.equal(data.examples.map((e) => e.text), ["O'Brien", 'Smith, Jr.', 'De "Luca"', 'Müller\nvon', 'García']);
  assert.ok(data.origins[4]!.endsWith('quoted.csv:7'), data.origins[4]);

  const csv = (text: string): string => {
    const file = fresh('d.csv');
    writeFileSync(file, text);
    return file;
  };
  let e = throwsCode(() => readClassificationData(csv('name,label\nx,A\n')), 'ERR_RNNLM_DATA');
  assert.match(e.message, /no "text" column/);
  e = throwsCode(() => readClassificationData(csv('text,lang\nx,A\n')), 'ERR_RNNLM_DATA');
  assert.match(e.message, /no "label" column/);
  assert.equal(readClassificationData(csv('name,lang\nx,A\n'), { textColumn: 'name', labelColumn: 'lang' }).labels, ['A']);
  e = throwsCode(() => readClassificationData(csv('text,label\nx,A\ny\n')), 'ERR_RNNLM_DATA');
  assert.match(e.message, /:3: 1 fields, but the header has 2/);
  e = throwsCode(() => readClassificationData(csv('text,label\n"x,A\n')), 'ERR_RNNLM_DATA');
  assert.match(e.message, /opened on line 2 is never closed/);
  e = throwsCode(() => readClassificationData(csv('text,label\n ,A\n')), 'ERR_RNNLM_DATA');
  assert.match(e.message, /:2: the text is empty/);
  throwsCode(() => readClassificationData(csv('text,label\n')), 'ERR_RNNLM_DATA');
  throwsCode(() => readClassificationData(csv('')), 'ERR_RNNLM_DATA');
  // parseCsv on its own: CRLF already normalised by the reader, blank lines skipped.
  assert.equal(parseCsv('a,"b"\n\n"",c\n', 't').map((r) => [r.fields, r.line]), [[['a', 'b'], 1], [['', 'c'], 3]]);
});

// --- split and batches ----------------------------------------------------------------------

test('stratified split: seeded, disjoint, complete, every label on both sides in proportion', () => {
  const labels = [...Array(100).fill(0), ...Array(10).fill(1), ...Array(3).fill(2), 3];
  const a = stratifiedSplit(labels, 0.2, 7);
  assert.equal(stratifiedSplit(labels, 0.2, 7), a, 'same seed, same split');
  assert.not.equal(stratifiedSplit(labels, 0.2, 8).test, a.test, 'another seed, another split');
  assert.equal([...a.train, ...a.test].sort((x, y) => x - y), labels.map((_, i) => i));
  const count = (idx: number[], l: number): number => idx.filter((i) => labels[i] === l).length;
  assert.equal([0, 1, 2, 3].map((l) => count(a.test, l)), [20, 2, 1, 0]);
  assert.equal([0, 1, 2, 3].map((l) => count(a.train, l)), [80, 8, 2, 1]);
  throwsCode(() => stratifiedSplit(labels, 1, 1), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => stratifiedSplit([0, 1], 0.2, 1), 'ERR_RNNLM_DATA');
});

test('bucketed batches cover every example once, in pools sorted by length; eval batches sorted', () => {
  const lengths = Array.from({ length: 50 }, (_, i) => 1 + ((i * 7) % 13));
  const indices = Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 5 !== 0);
  const batches = bucketedBatches(indices, lengths, 4, new SampleRandom(1), 3);
  assert.equal(batches.flat().sort((a, b) => a - b), indices);
  assert.ok(batches.every((b) => b.length >= 1 && b.length <= 4));
  for (const b of batches) for (let i = 1; i < b.length; i++) assert.ok(lengths[b[i - 1]!]! <= lengths[b[i]!]!, 'sorted within a batch');
  assert.not.equal(bucketedBatches(indices, lengths, 4, new SampleRandom(2), 3), batches, 'the order depends on the seed');
  const sorted = sortedBatches(indices, lengths, 16).flat();
  for (let i = 1; i < sorted.length; i++) assert.ok(lengths[sorted[i - 1]!]! >= lengths[sorted[i]!]!);
});

// --- metrics --------------------------------------------------------------------------------

test('accuracy, per-class figures and macro-F1 (scikit-learn conventions)', () => {
  // truth / predictions of 8 examples over 4 classes; class 3 is neither true nor predicted.
  const truth = [0, 0, 0, 1, 1, 2, 2, 2];
  const pred = [0, 0, 1, 1, 0, 2, 2, 0];
  const m = confusionMatrix(truth, pred, 4);
  assert.equal(m, [
    [2, 1, 0, 0],
    [1, 1, 0, 0],
    [1, 0, 2, 0],
    [0, 0, 0, 0],
  ]);
  const r = classificationReport(m, ['a', 'b', 'c', 'd']);
  assert.is(r.examples, 8);
  close([r.accuracy], [5 / 8], 1e-12);
  // class a: precision 2/4, recall 2/3, F1 4/7; b: 1/2, 1/2, 1/2; c: 2/2, 2/3, 4/5. sklearn's
  // f1_score(truth, pred, average='macro') averages the classes present: (4/7 + 1/2 + 4/5) / 3.
  close(r.perClass.map((c) => c.f1), [4 / 7, 0.5, 0.8, 0], 1e-12, 'f1');
  close([r.macroF1], [(4 / 7 + 0.5 + 0.8) / 3], 1e-12, 'macro-F1');
  close(r.perClass.map((c) => c.precision), [0.5, 0.5, 1, 0], 1e-12, 'precision');
  assert.equal(r.perClass.map((c) => c.support), [3, 2, 3, 0]);
  throwsCode(() => confusionMatrix([0, 4], [0, 0], 4), 'ERR_RNNLM_ARGUMENT');
});

// --- checkpoints ----------------------------------------------------------------------------

test('save and load a classifier: same logits, config with labels, PyTorch names', () => {
  const model = tiny('lstm', { numClasses: 2 });
  const vocab = new ClassifierVocab([UNK_CHAR, 'a', 'b', 'c', 'd', 'e']);
  const dir = fresh('ckpt');
  try {
    saveClassifier(dir, model, { vocab, labels: ['yes', 'no'] });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.is(config.kind, 'classifier');
    assert.equal(config.labels, ['yes', 'no']);
    assert.equal(config.model, { vocab_size: 6, embedding: 3, hidden: 3, layers: 2, cell: 'lstm', bidirectional: true, dropout: 0, num_classes: 2 });
    const loaded = loadClassifier(dir);
    try {
      assert.equal(
        [...loaded.model.stateDict().keys()],
        ['embedding.weight', ...['l0', 'l0_reverse', 'l1', 'l1_reverse'].flatMap((s) => ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'].map((w) => `rnn.${w}_${s}`)), 'fc.weight', 'fc.bias'],
      );
      assert.equal(loaded.labels, ['yes', 'no']);
      assert.equal(loaded.vocab.tokens, vocab.tokens);
      assert.not.ok(loaded.model.training, 'loaded in eval mode');
      tidy(() => close(loaded.model.forwardIds(SEQS).toFloat32Array(), model.eval().forwardIds(SEQS).toFloat32Array(), 1e-6, 'logits'));
    } finally {
      loaded.model.dispose();
    }
    throwsCode(() => saveClassifier(fresh('c'), model, { vocab, labels: ['only one'] }), 'ERR_RNNLM_ARGUMENT');
    throwsCode(() => saveClassifier(fresh('c'), model, { vocab: new ClassifierVocab([UNK_CHAR, 'a']), labels: ['y', 'n'] }), 'ERR_RNNLM_ARGUMENT');
  } finally {
    model.dispose();
  }
});

test('the classifier loader refuses what does not fit, naming the file', () => {
  const model = tiny('gru', { layers: 1, numClasses: 2 });
  const vocab = new ClassifierVocab([UNK_CHAR, 'a', 'b', 'c', 'd', 'e']);
  const dir = fresh('ckpt');
  saveClassifier(dir, model, { vocab, labels: ['p', 'q'] });
  model.dispose();
  const configPath = join(dir, 'config.json');
  const original = readFileSync(configPath, 'utf8');
  const edit = (change: (c: Record<string, unknown> & { model: Record<string, unknown> }) => void): Error => {
    const c = JSON.parse(original) as Record<string, unknown> & { model: Record<string, unknown> };
    change(c);
    writeFileSync(configPath, JSON.stringify(c));
    try {
      return throwsCode(() => loadClassifier(dir), 'ERR_RNNLM_CHECKPOINT');
    } finally {
      writeFileSync(configPath, original);
    }
  };
  let e = edit((c) => (c.model.hidden = 4));
  assert.match(e.message, /model\.safetensors does not match/);
  assert.match(e.message, /'fc\.weight' has shape \[2, 6\], expected \[2, 8\]/);
  e = edit((c) => (c.model.bidirectional = false));
  assert.match(e.message, /unexpected tensors .*'rnn\.weight_ih_l0_reverse'/);
  assert.match(e.message, /'fc\.weight' has shape \[2, 6\], expected \[2, 3\]/);
  e = edit((c) => (c.labels = ['p']));
  assert.match(e.message, /config\.json: has 1 labels but model\.num_classes is 2/);
  e = edit((c) => delete c.labels);
  assert.match(e.message, /no "labels"/);
  e = edit((c) => (c.model.cell = 'transformer'));
  assert.match(e.message, /model\.cell/);
  e = edit((c) => (c.kind = 'language_model'));
  assert.match(e.message, /config\.json/);
  // A language model is not a classifier.
  const lmDir = fresh('lm');
  const lm = new LanguageModel({ vocabSize: 3, embedding: 2, hidden: 2, layers: 1, cell: 'gru', dropout: 0 });
  saveLanguageModel(lmDir, lm, { vocab: { level: 'char', tokens: ['a', 'b', 'c'], specials: {} } });
  lm.dispose();
  e = throwsCode(() => loadClassifier(lmDir), 'ERR_RNNLM_CHECKPOINT');
  assert.match(e.message, /is a language_model checkpoint, not a classifier checkpoint/);
  // A vocabulary without the unk special.
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify({ level: 'char', tokens: ['z', 'a', 'b', 'c', 'd', 'e'], specials: {} }));
  e = throwsCode(() => loadClassifier(dir), 'ERR_RNNLM_CHECKPOINT');
  assert.match(e.message, /vocab\.json: a classifier's vocabulary needs the special "unk"/);
  assert.ok(classifierConfig(tiny('gru').config, ['a', 'b', 'c']).labels.length === 3);
});

// --- heat map -------------------------------------------------------------------------------

test('confusion heat map: one square per pair, counts written, labels escaped, shade by row share', () => {
  const svg = renderConfusionHeatmap(
    [
      [8, 2],
      [0, 5],
    ],
    ['A&B', '<C>'],
    { title: 'acc "x"' },
  );
  assert.ok(svg.startsWith('<?xml') && svg.trimEnd().endsWith('</svg>'));
  assert.is((svg.match(/<rect x=[^>]*stroke="#d0d0d0"/g) ?? []).length, 4);
  assert.ok(svg.includes('A&amp;B') && svg.includes('&lt;C&gt;') && svg.includes('acc &quot;x&quot;'));
  assert.not.ok(svg.includes('<C>'));
  assert.ok(/>8<\/text>/.test(svg) && />5<\/text>/.test(svg) && />2<\/text>/.test(svg));
  assert.not.ok(/>0<\/text>/.test(svg), 'empty squares carry no number');
  // Row shares: 8/10 is darker than 2/10; 5/5 is the darkest.
  const fill = (t: string, p: string): string => new RegExp(`<rect[^>]*fill="(rgb\\([^)]*\\))"[^>]*><title>true ${t}, predicted ${p}:`).exec(svg)![1]!;
  assert.is(fill('&lt;C&gt;', '&lt;C&gt;'), 'rgb(8,48,107)');
  assert.ok(fill('A&amp;B', 'A&amp;B') !== fill('A&amp;B', '&lt;C&gt;'));
  throwsCode(() => renderConfusionHeatmap([[1]], ['a', 'b']), 'ERR_RNNLM_SHAPE');
});

test.run();
