// Training a SequenceClassifier: read the labelled data, hold out a stratified test share, build
// the character vocabulary from the training texts only (so held-out characters exercise <unk>
// as real inputs will), then epochs of length-bucketed packed batches with Adam. After every
// epoch the held-out set is scored (loss, accuracy, macro-F1); RUN/last is saved each epoch and
// RUN/best on the lowest held-out loss. The run folder also gets metrics.jsonl, split.json and
// test.csv (see split_files.ts). RUN/last holds the trainer state too, so `resume` continues a
// run (after Ctrl-C, or to more epochs) bit for bit.
import { checkClassifierPlan } from '../limits/plans.js';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readCheckpoint } from '../checkpoint/checkpoint.js';
import { saveClassifier } from '../checkpoint/classifier_checkpoint.js';
import { rnnlmError } from '../errors.js';
import { SequenceClassifier } from '../models/sequence_classifier.js';
import { Adam } from '../optim/index.js';
import { packIds } from '../packed.js';
import { Generator } from '../random.js';
import { resolveDevice } from '../runtime.js';
import { SampleRandom } from '../sample/pick.js';
import type { Device } from '../tensor.js';
import { concatenateSequences, fingerprint } from '../data/fingerprint.js';
import { divergedError, guardedStep } from '../train/guarded_step.js';
import { runTrainingLoop } from '../train/loop.js';
import type { MetricsSink } from '../train/metrics.js';
import { checkSameData, newRunDir, restoredOrDisposed, resumedOptions, savedDistribution } from '../train/trainer_state.js';
import { agreeOnRoot, enterRankStream, isWriter, rankPart, resumeDistribution, snapshotDistribution, type Collective } from '../train/data_parallel.js';
import type { ParallelOptions } from '../train/lm_trainer.js';
import { bucketedBatches } from './batches.js';
import { readClassificationData, type ClassificationData, type Example } from './data.js';
import { balancedClassWeights, classificationLoss } from './loss.js';
import { CLASSIFIER_DEFAULTS, checkClassifierOptions, type ClassifierTrainOptions } from './options.js';
import { evaluateClassifier, type EvaluationResult } from './predict.js';
import { stratifiedSplit, type IndexSplit } from './split.js';
import { SPLIT_FILE, TEST_CSV_FILE, writeSplitFiles } from './split_files.js';
import { restoreClassifierTrainer, savedClassifierOptions, snapshotClassifierTrainer, type ClassifierTrainerState } from './trainer_state.js';
import { ClassifierVocab } from './vocab.js';

/** What `resume` may change: the length of the run and where it runs. */
export const CLASSIFIER_RESUMABLE_KEYS = ['epochs', 'device'] as const;

export interface ClassifierStartInfo {
  runDir: string;
  source: string;
  labels: string[];
  trainExamples: number;
  testExamples: number;
  vocabSize: number;
  parameters: number;
  totalSteps: number;
  stepsPerEpoch: number;
  /** Steps already taken (a resumed run). */
  startStep: number;
  device: Device;
  /** Why 'auto' fell back to the CPU, if it did. */
  deviceNote: string | null;
  /** Held-out examples with a character the training texts lack (read as <unk>). */
  testWithUnknown: number;
}

export interface ClassifierStepRecord {
  step: number;
  epoch: number;
  loss: number;
  examplesPerSec: number;
  /** Characters read per second (the tokens of a character-level model). */
  tokensPerSec: number;
}

export interface ClassifierEpochRecord {
  epoch: number;
  step: number;
  /** Mean training loss of the epoch's batches (dropout on). */
  trainLoss: number;
  testLoss: number;
  accuracy: number;
  macroF1: number;
  /** Lowest held-out loss so far (RUN/best was written). */
  best: boolean;
  /** Seconds spent in training steps so far (evaluation excluded). */
  trainSeconds: number;
}

export interface ClassifierReporter {
  start(info: ClassifierStartInfo): void;
  step(record: ClassifierStepRecord): void;
  epoch(record: ClassifierEpochRecord): void;
  message(line: string): void;
  stop(): void;
}

export interface ClassifierTrainSummary {
  status: 'finished' | 'interrupted';
  epochs: number;
  step: number;
  /** Figures of the final model on the held-out set (null when no epoch finished). */
  final: { loss: number; accuracy: number; macroF1: number } | null;
  bestEpoch: number | null;
  trainSeconds: number;
  wallSeconds: number;
  lastCheckpoint: string;
  bestCheckpoint: string | null;
  splitFile: string;
  testCsv: string;
}

const silentReporter: ClassifierReporter = { start() {}, step() {}, epoch() {}, message() {}, stop() {} };

export class ClassifierTrainer {
  readonly runDir: string;
  readonly options: Readonly<ClassifierTrainOptions>;
  readonly data: ClassificationData;
  readonly split: IndexSplit;
  readonly vocab: ClassifierVocab;
  readonly model: SequenceClassifier;
  readonly device: Device;
  readonly #deviceNote: string | null;
  readonly #ids: Int32Array[];
  readonly #classWeights: Float32Array | null;
  readonly #optimizer: Adam;
  /** The model's: initial weights, then dropout masks. Its offset is part of the saved state. */
  readonly #generator: Generator;
  readonly #collective: Collective | null;
  #state: ClassifierTrainerState;

  private constructor(runDir: string, options: ClassifierTrainOptions, data: ClassificationData, collective: Collective | null) {
    this.runDir = runDir;
    this.options = Object.freeze({ ...options });
    this.data = data;
    if (data.labels.length < 2) {
      throw rnnlmError('ERR_RNNLM_DATA', `${data.source}: a classifier needs at least two labels, found ${data.labels.length} (${data.labels.join(', ')})`);
    }
    this.split = stratifiedSplit(data.examples.map((e) => e.label), options.testFraction, options.seed);
    this.vocab = ClassifierVocab.fromTexts(this.split.train.map((i) => data.examples[i]!.text));
    this.#ids = data.examples.map((e) => this.vocab.encode(e.text).ids);
    const trainLabels = this.split.train.map((i) => data.examples[i]!.label);
    this.#classWeights = options.classWeights === 'balanced' ? balancedClassWeights(trainLabels, data.labels.length) : null;
    const choice = resolveDevice(options.device);
    this.device = choice.device;
    this.#deviceNote = choice.fallbackReason;
    // One generator for the weights and dropout, another stream for the batch order: both seeded.
    const generator = new Generator(options.seed);
    this.#generator = generator;
    const config = {
        vocabSize: this.vocab.size,
        embedding: options.embedding,
        hidden: options.hidden,
        layers: options.layers,
        cell: options.cell,
        bidirectional: options.bidirectional,
        dropout: options.dropout,
        numClasses: data.labels.length,
      };
    const longest = this.#ids.reduce((most, ids) => Math.max(most, ids.length), 1);
    checkClassifierPlan('training this classifier', config, { tokens: options.batch * longest, optimizer: 'adam', device: this.device });
    this.model = new SequenceClassifier(config, { generator });
    if (this.device !== 'cpu') this.model.to(this.device);
    this.#collective = collective !== null && collective.size > 1 ? collective : null;
    if (this.#collective !== null) {
      this.#collective.broadcast_(this.model.parameters());
      enterRankStream(generator, this.#collective);
    }
    this.#optimizer = new Adam(this.model.parameters(), { lr: options.lr, weightDecay: options.weightDecay });
    const labels = Int32Array.from(data.examples, (e) => e.label);
    this.#state = {
      step: 0,
      epoch: 1,
      batch: 0,
      batchRandom: new SampleRandom(options.seed ^ 0x5bd1e995).state,
      lossSum: 0,
      seen: 0,
      trainSeconds: 0,
      epochsDone: 0,
      best: null,
      final: null,
      fingerprint: fingerprint(...concatenateSequences(this.#ids), labels, Int32Array.from(this.split.train)),
    };
  }

  /** A new run in `runDir` (created; it must not already hold a run). */
  static create(options: Partial<ClassifierTrainOptions> & { data: string }, runDir: string, parallel: ParallelOptions = {}): ClassifierTrainer {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const full: ClassifierTrainOptions = { ...CLASSIFIER_DEFAULTS, ...given } as ClassifierTrainOptions;
    checkClassifierOptions(full);
    full.data = resolve(full.data);
    const dir = agreeOnRoot(parallel.collective ?? null, () => newRunDir(runDir));
    const data = readClassificationData(full.data, { textColumn: full.textColumn, labelColumn: full.labelColumn });
    return new ClassifierTrainer(dir, full, data, parallel.collective ?? null);
  }

  /**
   * Continues the run in `runDir` from its last checkpoint, bit for bit. `overrides` may change
   * only CLASSIFIER_RESUMABLE_KEYS (e.g. more epochs); anything else must equal the saved options.
   */
  static resume(runDir: string, overrides: Partial<ClassifierTrainOptions> = {}, parallel: ParallelOptions = {}): ClassifierTrainer {
    const dir = resolve(runDir);
    const last = join(dir, 'last');
    const checkpoint = readCheckpoint(last, { kind: 'classifier', requireTrainer: true });
    const saved = savedClassifierOptions(checkpoint, last);
    const options = resumedOptions(saved, overrides, CLASSIFIER_RESUMABLE_KEYS, ['data']);
    checkClassifierOptions(options);
    const data = readClassificationData(options.data, { textColumn: options.textColumn, labelColumn: options.labelColumn });
    const trainer = new ClassifierTrainer(dir, options, data, parallel.collective ?? null);
    return restoredOrDisposed(trainer, () => {
      const fresh = trainer.#state.fingerprint;
      const state = restoreClassifierTrainer(checkpoint, { model: trainer.model, optimizer: trainer.#optimizer, generator: trainer.#generator, device: trainer.device }, last);
      resumeDistribution(savedDistribution(checkpoint.trainer!.state, last), trainer.#collective, trainer.#generator, dir);
      checkSameData(state.fingerprint, fresh, dir);
      trainer.#state = state;
    });
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.#state.step;
  }

  get stepsPerEpoch(): number {
    return Math.ceil(this.split.train.length / this.options.batch);
  }

  /** Examples (text, label) of the held-out set. */
  testExamples(): Example[] {
    return this.split.test.map((i) => this.data.examples[i]!);
  }

  /** Scores the held-out set with the current weights. */
  evaluateTest(): EvaluationResult {
    return evaluateClassifier(this.model, this.vocab, this.data.labels, this.testExamples());
  }

  /** Trains for options.epochs epochs, or until `signal` aborts (RUN/last is then saved). */
  async run(runOptions: { reporter?: ClassifierReporter; signal?: AbortSignal } = {}): Promise<ClassifierTrainSummary> {
    const reporter = isWriter(this.#collective) ? (runOptions.reporter ?? silentReporter) : silentReporter;
    const o = this.options;
    const s = this.#state;
    const wallStart = performance.now();
    const lengths = this.#ids.map((ids) => ids.length);
    const params = this.model.parameters();
    const writer = isWriter(this.#collective);
    if (writer) mkdirSync(this.runDir, { recursive: true });
    const files = writer
      ? writeSplitFiles(this.runDir, this.data, this.split, { seed: o.seed, testFraction: o.testFraction })
      : { split: join(this.runDir, SPLIT_FILE), testCsv: join(this.runDir, TEST_CSV_FILE) };
    // The current epoch's batches and the batch-order stream they were drawn from.
    let epoch: { batches: number[][]; random: SampleRandom } | null = null;
    const status = await runTrainingLoop(
      {
        runDir: this.runDir,
        keepMetricsThrough: s.step > 0 ? s.step : null,
        collective: this.#collective,
        begin: () => {
          const testWithUnknown = this.split.test.filter((i) => this.vocab.encode(this.data.examples[i]!.text).unknown.length > 0).length;
          reporter.start({
            runDir: this.runDir,
            source: this.data.source,
            labels: this.data.labels,
            trainExamples: this.split.train.length,
            testExamples: this.split.test.length,
            vocabSize: this.vocab.size,
            parameters: this.model.parameterCount(),
            totalSteps: this.stepsPerEpoch * o.epochs,
            stepsPerEpoch: this.stepsPerEpoch,
            startStep: s.step,
            device: this.device,
            deviceNote: this.#deviceNote,
            testWithUnknown,
          });
        },
        hasNext: () => s.epoch <= o.epochs,
        step: (metrics) => {
          if (epoch === null) {
            this.model.train();
            // The epoch's batches come from the stream's position at the epoch's start, so a run
            // resumed mid-epoch sees the same batches.
            const random = new SampleRandom(s.batchRandom);
            // Data-parallel: global batches of every rank's examples, each rank training its part.
            epoch = { batches: bucketedBatches(this.split.train, lengths, o.batch * (this.#collective?.size ?? 1), random), random };
          }
          if (s.batch < epoch.batches.length) {
            this.#step(metrics, reporter, epoch.batches[s.batch]!, lengths, params);
            s.batch += 1;
          }
          if (s.batch >= epoch.batches.length) {
            const random = epoch.random;
            epoch = null;
            this.#endEpoch(metrics, reporter, random);
          }
          return 'continue';
        },
        saveLast: () => this.#save('last'),
        close: () => reporter.stop(),
      },
      runOptions.signal,
    );
    return {
      status: status === 'interrupted' ? 'interrupted' : 'finished',
      epochs: s.epochsDone,
      step: s.step,
      final: s.final,
      bestEpoch: s.best?.epoch ?? null,
      trainSeconds: s.trainSeconds,
      wallSeconds: (performance.now() - wallStart) / 1000,
      lastCheckpoint: join(this.runDir, 'last'),
      bestCheckpoint: s.best === null ? null : join(this.runDir, 'best'),
      splitFile: files.split,
      testCsv: files.testCsv,
    };
  }

  // One batch: the step, its metrics record and its report.
  #step(metrics: MetricsSink, reporter: ClassifierReporter, batch: readonly number[], lengths: readonly number[], params: ReturnType<SequenceClassifier['parameters']>): void {
    const s = this.#state;
    const started = performance.now();
    const loss = this.#trainStep(batch, params, s.step + 1);  // the whole batch's loss on every rank
    const spent = (performance.now() - started) / 1000;
    s.trainSeconds += spent;
    s.step += 1;
    s.lossSum += loss * batch.length;
    s.seen += batch.length;
    metrics.write({ split: 'train', step: s.step, epoch: s.epoch, loss });
    const chars = batch.reduce((n, i) => n + lengths[i]!, 0);
    reporter.step({ step: s.step, epoch: s.epoch, loss, examplesPerSec: batch.length / Math.max(1e-6, spent), tokensPerSec: chars / Math.max(1e-6, spent) });
  }

  // The end of an epoch: score the held-out set, RUN/best on a new lowest loss, the epoch's
  // record, RUN/last.
  #endEpoch(metrics: MetricsSink, reporter: ClassifierReporter, random: SampleRandom): void {
    const s = this.#state;
    const epoch = s.epoch;
    const r = this.evaluateTest();
    if (!Number.isFinite(r.loss)) throw rnnlmError('ERR_RNNLM_NAN', `training diverged: the held-out loss is ${r.loss} after epoch ${epoch}; try a lower --lr`);
    const best = s.best === null || r.loss < s.best.loss;
    if (best) {
      s.best = { loss: r.loss, epoch };
      this.#save('best');
    }
    const trainLoss = s.lossSum / Math.max(1, s.seen);
    s.epochsDone = epoch;
    s.final = { loss: r.loss, accuracy: r.accuracy, macroF1: r.macroF1 };
    // RUN/last says "the next epoch, from its first batch".
    s.epoch += 1;
    s.batch = 0;
    s.batchRandom = random.state;
    s.lossSum = 0;
    s.seen = 0;
    metrics.write({ split: 'valid', step: s.step, epoch, loss: r.loss, accuracy: r.accuracy, macro_f1: r.macroF1, train_loss: trainLoss });
    this.#save('last');
    reporter.epoch({ epoch, step: s.step, trainLoss, testLoss: r.loss, accuracy: r.accuracy, macroF1: r.macroF1, best, trainSeconds: s.trainSeconds });
  }

  // Forward, loss, backward, clip, update (guardedStep: nothing is updated when the loss or the
  // gradient norm is not finite, so RUN/last keeps the last good weights).
  #trainStep(globalBatch: readonly number[], params: ReturnType<SequenceClassifier['parameters']>, stepNumber: number): number {
    const c = this.#collective;
    const weights = this.#classWeights;
    // With class weights the loss is a weighted mean: a rank's share is its examples' weight.
    const part = c === null ? null : rankPart(globalBatch, c, this.options.batch, (i) => (weights === null ? 1 : weights[this.data.examples[i]!.label]!));
    const batch = part === null ? globalBatch : part.items;
    const r = guardedStep(
      this.#optimizer,
      params,
      this.options.clip,
      () => {
        const packed = packIds(batch.map((i) => this.#ids[i]!), { enforceSorted: false, device: this.device });
        const targets = Int32Array.from(batch, (i) => this.data.examples[i]!.label);
        const logits = this.model.forward(packed); // (B, C)
        return { loss: classificationLoss(logits, targets, this.#classWeights), keep: () => null };
      },
      (what) => divergedError(`${what} at step ${stepNumber}; nothing was updated`, null),
      c === null || part === null ? null : { collective: c, share: part.share },
    );
    return r.loss;
  }

  #save(which: 'best' | 'last'): void {
    const c = this.#collective;
    const distributed = which === 'last' && c !== null ? snapshotDistribution(c, this.#generator) : undefined;
    if (!isWriter(c)) return;
    const trainer = which === 'last' ? snapshotClassifierTrainer(this.options, this.#state, this.#optimizer, this.#generator, distributed) : undefined;
    saveClassifier(join(this.runDir, which), this.model, { vocab: this.vocab, labels: this.data.labels, ...(trainer === undefined ? {} : { trainer }) });
  }

  dispose(): void {
    this.#optimizer.dispose();
    this.model.dispose();
  }
}
