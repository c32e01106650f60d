// Training a LanguageModel with truncated BPTT over B parallel streams of one text (char-rnn and
// PyTorch's word_language_model): the state is carried from chunk to chunk, detached, and reset
// at each epoch. Everything a step depends on (weights, optimizer moments, generator offset,
// carried state, data position) is saved in RUN/last, so a resumed run continues bit for bit.
import { agreeOnRoot, allRanksColumns, enterRankStream, isWriter, rankChunk, rankColumns, resumeDistribution, snapshotDistribution, type Collective } from './data_parallel.js';
import { skippedFilesNote } from '../data/reader.js';
import { checkLanguageModelPlan } from '../limits/plans.js';
import { join, resolve } from 'node:path';
import { TokenStream, tokenizerFromJSON, type Tokenizer } from '../data/index.js';
import { rnnlmError } from '../errors.js';
import { scoreChunks, type Chunk } from '../eval/evaluate.js';
import { softmaxNll } from '../functional.js';
import { detachState, disposeState, LanguageModel, type LanguageModelState } from '../models/language_model.js';
import { Adam, RMSprop, SGD, type Optimizer } from '../optim/index.js';
import { Generator } from '../random.js';
import { resolveDevice } from '../runtime.js';
import { generate } from '../sample/generate.js';
import { fromInt32Array, type Device } from '../tensor.js';
import { languageModelConfig, readCheckpoint, saveCheckpoint } from '../checkpoint/index.js';
import { checkLmOptions, DEFAULT_STEPS, LM_DEFAULTS, RESUMABLE_KEYS, type LmTrainOptions } from './lm_options.js';
import { loadLmData, type LmData } from './lm_data.js';
import { guardedStep, divergedError } from './guarded_step.js';
import { runTrainingLoop, type LoopStatus } from './loop.js';
import type { MetricsSink } from './metrics.js';
import { checkSameData, newRunDir, restoredOrDisposed, resumedOptions } from './trainer_state.js';
import { learningRate, type ScheduleOptions } from './schedule.js';
import { restoreTrainerState, savedOptions, snapshotTrainerState, type LmTrainerState } from './lm_state.js';

/** What the trainer tells its caller; the CLI turns it into a progress bar or JSON lines. */
export interface TrainReporter {
  start(info: TrainStartInfo): void;
  step(record: StepRecord): void;
  validation(record: ValidationRecord): void;
  sample(step: number, text: string): void;
  message(line: string): void;
  stop(): void;
}

export interface TrainStartInfo {
  runDir: string;
  startStep: number;
  totalSteps: number;
  chunksPerEpoch: number;
  parameters: number;
  vocabSize: number;
  trainTokens: number;
  validTokens: number;
  device: Device;
  /** Why 'auto' fell back to the CPU, if it did. */
  deviceNote: string | null;
  /** Files of the data folder left out (binary, empty), if any: say it once. */
  dataNote: string | null;
  source: string;
  resumed: boolean;
}

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  tokensPerSec: number;
  gradNorm: number | null;
}

export interface ValidationRecord {
  step: number;
  epoch: number;
  loss: number;
  ppl: number;
  /** Bits per character (character level only). */
  bpc: number | null;
  best: boolean;
}

export type TrainStatus = LoopStatus;

export interface TrainSummary {
  status: TrainStatus;
  step: number;
  bestValidLoss: number | null;
  bestStep: number | null;
  lastCheckpoint: string;
  bestCheckpoint: string | null;
}

export interface RunOptions {
  reporter?: TrainReporter;
  /** Aborting (Ctrl-C) saves RUN/last after the current step and returns 'interrupted'. */
  signal?: AbortSignal;
}

const silentReporter: TrainReporter = { start() {}, step() {}, validation() {}, sample() {}, message() {}, stop() {} };

function makeOptimizer(options: LmTrainOptions, params: LanguageModel): Optimizer {
  const list = params.parameters();
  switch (options.optimizer) {
    case 'adam':
      return new Adam(list, { lr: options.lr, weightDecay: options.weightDecay });
    case 'sgd':
      return new SGD(list, { lr: options.lr, momentum: options.momentum, weightDecay: options.weightDecay });
    case 'rmsprop':
      return new RMSprop(list, { lr: options.lr, momentum: options.momentum, weightDecay: options.weightDecay });
  }
}

/** A data-parallel run: the ranks (src/distributed's initDistributed); absent or null: one process. */
export interface ParallelOptions {
  collective?: Collective | null;
}

// A carried state (L, B, H) per rank <-> all ranks' side by side (L, size x B, H).
function allRanksState(state: LanguageModelState | null, collective: Collective): LanguageModelState | null {
  if (state === null) return null;
  return { h: allRanksColumns(state.h, collective), c: state.c === null ? null : allRanksColumns(state.c, collective) };
}

function rankState(state: LanguageModelState | null, collective: Collective, batch: number): LanguageModelState | null {
  if (state === null) return null;
  try {
    return { h: rankColumns(state.h, collective, batch), c: state.c === null ? null : rankColumns(state.c, collective, batch) };
  } finally {
    disposeState(state);
  }
}

export class LanguageModelTrainer {
  readonly runDir: string;
  readonly options: Readonly<LmTrainOptions>;
  readonly model: LanguageModel;
  readonly tokenizer: Tokenizer;
  readonly device: Device;
  readonly totalSteps: number;
  readonly #data: LmData;
  readonly #optimizer: Optimizer;
  readonly #generator: Generator;
  readonly #stream: TokenStream;
  readonly #deviceNote: string | null;
  readonly #resumed: boolean;
  readonly #collective: Collective | null;
  #state: LmTrainerState;
  #carried: LanguageModelState | null;

  private constructor(
    runDir: string,
    options: LmTrainOptions,
    data: LmData,
    resumed: boolean,
    collective: Collective | null,
  ) {
    this.runDir = runDir;
    this.options = Object.freeze({ ...options });
    this.#data = data;
    this.tokenizer = data.tokenizer;
    const choice = resolveDevice(options.device);
    this.device = choice.device;
    this.#deviceNote = choice.fallbackReason;
    this.#resumed = resumed;
    this.#collective = collective !== null && collective.size > 1 ? collective : null;
    this.#generator = new Generator(options.seed);
    const config = {
      vocabSize: data.tokenizer.vocabSize,
      embedding: options.embedding,
      hidden: options.hidden,
      layers: options.layers,
      cell: options.cell,
      dropout: options.dropout,
    };
    const tokens = Math.max(options.batch, options.validBatch) * options.seq;
    checkLanguageModelPlan('training this language model', config, { tokens, optimizer: options.optimizer, momentum: options.momentum, device: this.device });
    this.model = new LanguageModel(config, { generator: this.#generator });
    if (this.device !== 'cpu') this.model.to(this.device);
    if (this.#collective !== null) {
      // The seed makes the weights equal everywhere; rank 0's copy makes it certain.
      this.#collective.broadcast_(this.model.parameters());
      enterRankStream(this.#generator, this.#collective);
    }
    this.#optimizer = makeOptimizer(options, this.model);
    // The streams of all ranks side by side; each rank trains on its own `batch` columns.
    this.#stream = new TokenStream(data.train, options.batch * this.worldSize);
    const perEpoch = this.#stream.chunksPerEpoch(options.seq);
    this.totalSteps = options.steps ?? (options.epochs !== null ? options.epochs * perEpoch : DEFAULT_STEPS);
    this.#carried = null;
    this.#state = {
      step: 0,
      epoch: 0,
      chunk: 0,
      best: null,
      staleValidations: 0,
      elapsed: 0,
      fingerprint: data.fingerprint,
    };
  }

  /**
   * A new run in `runDir` (created; it must not already hold a run). With `collective` (the ranks
   * of a data-parallel job), every rank calls this with the same options; rank 0's run folder is used.
   */
  static create(options: Partial<LmTrainOptions>, runDir: string, parallel: ParallelOptions = {}): LanguageModelTrainer {
    const full: LmTrainOptions = { ...LM_DEFAULTS, ...options };
    for (const key of ['data', 'valid'] as const) {
      if (full[key] === '') throw rnnlmError('ERR_RNNLM_ARGUMENT', `${key} is an empty path; leave it out (null) to use the default`);
    }
    if (full.data !== null) full.data = resolve(full.data);
    if (full.valid !== null) full.valid = resolve(full.valid);
    checkLmOptions(full);
    const collective = parallel.collective ?? null;
    const dir = agreeOnRoot(collective, () => newRunDir(runDir));
    const data = loadLmData(full);
    return new LanguageModelTrainer(dir, full, data, false, collective);
  }

  /**
   * Continues the run in `runDir` from its last checkpoint. `overrides` may change only the
   * length of the run and how it reports (RESUMABLE_KEYS).
   */
  static resume(runDir: string, overrides: Partial<LmTrainOptions> = {}, parallel: ParallelOptions = {}): LanguageModelTrainer {
    const dir = resolve(runDir);
    const checkpoint = readCheckpoint(join(dir, 'last'), { kind: 'language_model', requireTrainer: true });
    const saved = savedOptions(checkpoint, join(dir, 'last'));
    const options = resumedOptions(saved, overrides, RESUMABLE_KEYS, ['data', 'valid']);
    checkLmOptions(options);
    const tokenizer = tokenizerFromJSON(checkpoint.vocab, join(dir, 'last', 'vocab.json'));
    const data = loadLmData(options, tokenizer);
    const collective = parallel.collective ?? null;
    const trainer = new LanguageModelTrainer(dir, options, data, true, collective);
    return restoredOrDisposed(trainer, () => {
      const restored = restoreTrainerState(checkpoint, { model: trainer.model, optimizer: trainer.#optimizer, generator: trainer.#generator, device: trainer.device }, join(dir, 'last'));
      resumeDistribution(restored.distributed, trainer.#collective, trainer.#generator, dir);
      trainer.#carried = trainer.#collective === null ? restored.carried : rankState(restored.carried, trainer.#collective, options.batch);
      checkSameData(restored.state.fingerprint, data.fingerprint, dir);
      trainer.#state = restored.state;
    });
  }

  get step(): number {
    return this.#state.step;
  }

  /** Processes training together (1 unless data-parallel). */
  get worldSize(): number {
    return this.#collective?.size ?? 1;
  }

  get schedule(): ScheduleOptions {
    const o = this.options;
    return { kind: o.schedule, lr: o.lr, warmup: o.warmup, stepSize: o.stepSize, gamma: o.gamma, minLr: o.minLr, totalSteps: this.totalSteps };
  }

  /** Trains until totalSteps, early stopping, or an abort; saves RUN/last at the end. */
  async run(runOptions: RunOptions = {}): Promise<TrainSummary> {
    const reporter = isWriter(this.#collective) ? (runOptions.reporter ?? silentReporter) : silentReporter;
    const o = this.options;
    const perEpoch = this.#stream.chunksPerEpoch(o.seq);
    const params = this.model.parameters();
    const sessionStart = performance.now();
    const elapsedBefore = this.#state.elapsed;
    const elapsed = (): number => elapsedBefore + (performance.now() - sessionStart) / 1000;
    const status = await runTrainingLoop(
      {
        runDir: this.runDir,
        keepMetricsThrough: this.#resumed ? this.#state.step : null,
        collective: this.#collective,
        begin: () => {
          reporter.start({
            runDir: this.runDir,
            startStep: this.#state.step,
            totalSteps: this.totalSteps,
            chunksPerEpoch: perEpoch,
            parameters: this.model.parameterCount(),
            vocabSize: this.tokenizer.vocabSize,
            trainTokens: this.#data.train.length,
            validTokens: this.#data.valid.length,
            device: this.device,
            deviceNote: this.#deviceNote,
            dataNote: skippedFilesNote(this.#data.skipped),
            source: this.#data.source,
            resumed: this.#resumed,
          });
          this.model.train();
        },
        hasNext: () => this.#state.step < this.totalSteps,
        step: (metrics) => this.#step(metrics, reporter, params, perEpoch, elapsed),
        ended: () => {
          this.#state.elapsed = elapsed();
        },
        saveLast: () => this.#save('last'),
        close: () => reporter.stop(),
      },
      runOptions.signal,
    );
    const best = this.#state.best;
    return {
      status,
      step: this.#state.step,
      bestValidLoss: best?.loss ?? null,
      bestStep: best?.step ?? null,
      lastCheckpoint: join(this.runDir, 'last'),
      bestCheckpoint: best === null ? null : join(this.runDir, 'best'),
    };
  }

  // One chunk: the step, its metrics record, then every validEvery steps (and at the end) the
  // validation with RUN/best and RUN/last, and every sampleEvery steps a sample.
  #step(metrics: MetricsSink, reporter: TrainReporter, params: ReturnType<LanguageModel['parameters']>, perEpoch: number, elapsed: () => number): 'continue' | 'stop' {
    const o = this.options;
    const s = this.#state;
    if (s.chunk >= perEpoch) {
      // A new epoch starts from the beginning of every stream with a zero state.
      s.epoch += 1;
      s.chunk = 0;
      disposeState(this.#carried);
      this.#carried = null;
    }
    const chunk = this.#stream.chunk(s.chunk * o.seq, o.seq);
    const lr = learningRate(this.schedule, s.step);
    this.#optimizer.lr = lr;
    const started = performance.now();
    const { loss, gradNorm } = this.#trainStep(this.#collective === null ? chunk : rankChunk(chunk, this.#collective, o.batch), params);
    s.step += 1;
    s.chunk += 1;
    const tokensPerSec = (chunk.steps * o.batch * this.worldSize * 1000) / Math.max(1e-6, performance.now() - started);
    const record: StepRecord = { step: s.step, epoch: s.epoch, loss, lr, tokensPerSec, gradNorm };
    metrics.write({ split: 'train', step: s.step, epoch: s.epoch, loss, lr, tokens_per_s: Math.round(tokensPerSec), time: Number(elapsed().toFixed(3)) });
    reporter.step(record);

    const last = s.step === this.totalSteps;
    if (s.step % o.validEvery === 0 || last) {
      s.elapsed = elapsed();
      const stop = this.#validate(metrics, reporter);
      this.#save('last');
      if (stop) {
        reporter.message(`early stop at step ${s.step}: no better validation loss in ${o.patience} validations`);
        return 'stop';
      }
    }
    if (o.sampleEvery > 0 && s.step % o.sampleEvery === 0 && isWriter(this.#collective)) {
      reporter.sample(s.step, generate(this.model, this.tokenizer, { length: o.sampleLength, seed: o.seed + s.step }));
    }
    return 'continue';
  }

  // One step: forward, loss, backward, clip, update. The carried state enters detached (the
  // truncation of BPTT) and the new one leaves detached.
  #trainStep(chunk: Chunk, params: ReturnType<LanguageModel['parameters']>): { loss: number; gradNorm: number | null } {
    const o = this.options;
    const previous = this.#carried;
    const result = guardedStep(
      this.#optimizer,
      params,
      o.clip,
      () => {
        const inputs = fromInt32Array(chunk.inputs, [chunk.steps, o.batch], { device: this.device });
        const targets = fromInt32Array(chunk.targets, [chunk.steps * o.batch], { device: this.device });
        const out = this.model.forward(inputs, previous);
        const { loss, count } = softmaxNll(out.logits, targets);
        return { loss, scored: count, keep: () => detachState(out.state) };
      },
      (what) => this.#diverged(`${what} at step ${this.#state.step + 1}; nothing was updated`),
      this.#collective === null ? null : { collective: this.#collective, share: 1 / this.#collective.size },
    );
    disposeState(previous);
    this.#carried = result.kept;
    return { loss: result.loss, gradNorm: result.gradNorm };
  }

  #diverged(what: string): Error {
    return divergedError(what, join(this.runDir, 'last'));
  }

  /** Scores the validation text; saves RUN/best on improvement. Returns true to stop early. */
  #validate(metrics: MetricsSink, reporter: TrainReporter): boolean {
    const o = this.options;
    const s = this.#state;
    const score = this.validationScore();
    if (!Number.isFinite(score.nll)) throw this.#diverged(`the validation loss is ${score.nll} at step ${s.step}`);
    const improved = s.best === null || score.nll < s.best.loss;
    if (improved) {
      s.best = { loss: score.nll, step: s.step };
      s.staleValidations = 0;
      this.#save('best');
    } else {
      s.staleValidations += 1;
    }
    const bpc = this.tokenizer.level === 'char' ? score.nll / Math.LN2 : null;
    metrics.write({ split: 'valid', step: s.step, epoch: s.epoch, loss: score.nll, ppl: score.ppl, ...(bpc === null ? {} : { bpc }) });
    reporter.validation({ step: s.step, epoch: s.epoch, loss: score.nll, ppl: score.ppl, bpc, best: improved });
    return o.patience > 0 && s.staleValidations >= o.patience;
  }

  /** The validation text scored as validBatch parallel streams (the training-time measure). */
  validationScore(): { tokens: number; nll: number; ppl: number } {
    const o = this.options;
    const batch = Math.max(1, Math.min(o.validBatch, Math.floor(this.#data.valid.length / 2)));
    const stream = new TokenStream(this.#data.valid, batch);
    const count = stream.chunksPerEpoch(o.seq);
    const chunks = function* (): IterableIterator<Chunk> {
      for (let i = 0; i < count; i++) yield stream.chunk(i * o.seq, o.seq);
    };
    return scoreChunks(this.model, chunks(), batch);
  }

  #save(which: 'last' | 'best'): void {
    const config = languageModelConfig(this.model.config, this.tokenizer.level);
    const dir = join(this.runDir, which);
    const writer = isWriter(this.#collective);
    if (which === 'best') {
      if (writer) saveCheckpoint(dir, { config, vocab: this.tokenizer.toJSON(), weights: this.model });
      return;
    }
    // Data-parallel: every rank's streams and generator offset go into rank 0's checkpoint.
    const c = this.#collective;
    const carried = c === null ? this.#carried : allRanksState(this.#carried, c);
    try {
      const distributed = c === null ? undefined : snapshotDistribution(c, this.#generator);
      if (!writer) return;
      const trainer = snapshotTrainerState(this.options, this.#state, this.#optimizer, this.#generator, carried, distributed);
      saveCheckpoint(dir, { config, vocab: this.tokenizer.toJSON(), weights: this.model, trainer });
    } finally {
      if (carried !== this.#carried) disposeState(carried);
    }
  }

  dispose(): void {
    disposeState(this.#carried);
    this.#carried = null;
    this.#optimizer.dispose();
    this.model.dispose();
  }
}
