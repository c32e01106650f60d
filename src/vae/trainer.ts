// Training a SentenceVAE as the reference does: epochs of shuffled batches, loss
// (NLL + kl_weight * KL) / batch_size with NLL summed over the target tokens, the KL weight
// annealed by optimizer step, Adam, no clipping unless asked. After every epoch the validation
// sentences are scored (z drawn from q(z|x), dropout off) and RUN/last is saved; RUN/best holds
// the lowest validation negative ELBO (NLL + KL, the true bound, whatever the KL weight).
// Metrics: 'train_steps' every logEvery steps, and per epoch 'train' and 'valid', each
// {split, step, epoch, elbo, nll, kl, kl_weight} with the terms summed per sentence and
// averaged over sentences. RUN/last also holds the trainer state (Adam's moments, the position
// within the epoch, the generator's offset), so a run stopped by Ctrl-C resumes bit for bit.
import { skippedFilesNote } from '../data/reader.js';
import { checkSentenceVaePlan } from '../limits/plans.js';
import { join, resolve } from 'node:path';
import { readCheckpoint } from '../checkpoint/checkpoint.js';
import { saveSentenceVae } from '../checkpoint/vae_checkpoint.js';
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import { SentenceVAE } from '../models/sentence_vae.js';
import { Adam } from '../optim/index.js';
import { Generator } from '../random.js';
import { resolveDevice } from '../runtime.js';
import type { Device } from '../tensor.js';
import { divergedError, guardedStep } from '../train/guarded_step.js';
import { runTrainingLoop } from '../train/loop.js';
import type { MetricsSink } from '../train/metrics.js';
import { checkSameData, newRunDir, restoredOrDisposed, resumedOptions, savedDistribution } from '../train/trainer_state.js';
import { agreeOnRoot, enterRankStream, globalNoiseRows, isWriter, rankPart, resumeDistribution, snapshotDistribution, type Collective } from '../train/data_parallel.js';
import type { ParallelOptions } from '../train/lm_trainer.js';
import { klWeight, type AnnealOptions } from './anneal.js';
import { trainingBatches } from './batches.js';
import { loadVaeData, type VaeData } from './data.js';
import { evaluateVae, type VaeScore } from './evaluate.js';
import { VAE_DEFAULTS, checkVaeOptions, type VaeTrainOptions } from './options.js';
import { emptySums, restoreVaeTrainer, savedVaeOptions, snapshotVaeTrainer, type VaeTrainerState } from './trainer_state.js';
import { SentenceVocab } from './vocab.js';

/** What `resume` may change: the length of the run, how it reports, where it runs. */
export const VAE_RESUMABLE_KEYS = ['epochs', 'logEvery', 'device'] as const;

export interface VaeStartInfo {
  runDir: string;
  /** Continuing a saved run (from `step`). */
  resumed: boolean;
  step: number;
  source: string;
  trainSentences: number;
  validSentences: number;
  vocabSize: number;
  parameters: number;
  stepsPerEpoch: number;
  totalSteps: number;
  device: Device;
  deviceNote: string | null;
  /** Files of the data folder left out (binary, empty), if any: say it once. */
  dataNote: string | null;
}

export interface VaeStepRecord {
  step: number;
  epoch: number;
  /** The optimised loss (NLL + kl_weight * KL) / batch of this step. */
  loss: number;
  /** Per sentence, this step's batch. */
  nll: number;
  kl: number;
  klWeight: number;
  tokensPerSec: number;
}

/** Per-sentence averages over a split. */
export interface VaeSplitRecord {
  elbo: number;
  nll: number;
  kl: number;
}

export interface VaeEpochRecord {
  epoch: number;
  step: number;
  klWeight: number;
  /** Training batches of the epoch (dropout on, z sampled). */
  train: VaeSplitRecord;
  valid: VaeSplitRecord & { ppl: number };
  /** Lowest validation negative ELBO so far (RUN/best was written). */
  best: boolean;
  /** Greedy decodes of a few z ~ N(0, I) (the LM baseline: of its zero state). */
  samples: string[];
  /** Seconds of training steps in this epoch, and of the validation pass. */
  trainSeconds: number;
  validSeconds: number;
}

export interface VaeReporter {
  start(info: VaeStartInfo): void;
  step(record: VaeStepRecord): void;
  epoch(record: VaeEpochRecord): void;
  message(line: string): void;
  stop(): void;
}

export interface VaeTrainSummary {
  status: 'finished' | 'interrupted';
  step: number;
  epochs: number;
  /** The last validation figures (null when no epoch finished). */
  valid: (VaeSplitRecord & { ppl: number }) | null;
  bestEpoch: number | null;
  trainSeconds: number;
  lastCheckpoint: string;
  bestCheckpoint: string | null;
}

const silent: VaeReporter = { start() {}, step() {}, epoch() {}, message() {}, stop() {} };

export class SentenceVaeTrainer {
  readonly runDir: string;
  readonly options: Readonly<VaeTrainOptions>;
  readonly data: VaeData;
  readonly model: SentenceVAE;
  readonly device: Device;
  readonly #collective: Collective | null;
  readonly #deviceNote: string | null;
  readonly #optimizer: Adam;
  /** The model's: word and embedding dropout, z's noise. Its offset is part of the saved state. */
  readonly #generator: Generator;
  readonly #resumed: boolean;
  #state: VaeTrainerState;

  private constructor(runDir: string, options: VaeTrainOptions, data: VaeData, resumed: boolean, collective: Collective | null) {
    this.runDir = runDir;
    this.options = Object.freeze({ ...options });
    this.data = data;
    const choice = resolveDevice(options.device);
    this.device = choice.device;
    this.#deviceNote = choice.fallbackReason;
    const v = data.vocab;
    const config = {
        vocabSize: v.size,
        embedding: options.embedding,
        hidden: options.hidden,
        latent: options.latent,
        layers: options.layers,
        cell: options.cell,
        bidirectional: options.bidirectional,
        wordDropout: options.wordDropout,
        embeddingDropout: options.embeddingDropout,
        maxLength: options.maxLength,
        specials: { ...v.specials },
        decoderOnly: options.decoderOnly,
      };
    checkSentenceVaePlan('training this sentence VAE', config, { tokens: options.batch * options.maxLength, optimizer: 'adam', device: this.device });
    this.model = new SentenceVAE(config, { generator: (this.#generator = new Generator(options.seed)) });
    if (this.device !== 'cpu') this.model.to(this.device);
    this.#collective = collective !== null && collective.size > 1 ? collective : null;
    if (this.#collective !== null) {
      this.#collective.broadcast_(this.model.parameters());
      enterRankStream(this.#generator, this.#collective);
    }
    this.#optimizer = new Adam(this.model.parameters(), { lr: options.lr });
    this.#resumed = resumed;
    this.#state = {
      step: 0,
      epoch: 1,
      batch: 0,
      epochSums: emptySums(),
      window: emptySums(),
      epochSeconds: 0,
      trainSeconds: 0,
      elapsed: 0,
      epochsDone: 0,
      best: null,
      lastValid: null,
      fingerprint: data.fingerprint,
    };
  }

  /** A new run in `runDir` (it must not already hold a run). */
  static create(options: Partial<VaeTrainOptions>, runDir: string, parallel: ParallelOptions = {}): SentenceVaeTrainer {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const full: VaeTrainOptions = { ...VAE_DEFAULTS, ...given } as VaeTrainOptions;
    for (const key of ['data', 'valid'] as const) {
      if (full[key] === '') throw rnnlmError('ERR_RNNLM_ARGUMENT', `${key} is an empty path; leave it out to use the default`);
      if (full[key] !== null) full[key] = resolve(full[key]!);
    }
    checkVaeOptions(full);
    const dir = agreeOnRoot(parallel.collective ?? null, () => newRunDir(runDir));
    return new SentenceVaeTrainer(dir, full, loadVaeData(full), false, parallel.collective ?? null);
  }

  /**
   * Continues the run in `runDir` from its last checkpoint, bit for bit. `overrides` may change
   * only VAE_RESUMABLE_KEYS (e.g. more epochs); anything else must equal the saved options.
   */
  static resume(runDir: string, overrides: Partial<VaeTrainOptions> = {}, parallel: ParallelOptions = {}): SentenceVaeTrainer {
    const dir = resolve(runDir);
    const last = join(dir, 'last');
    const checkpoint = readCheckpoint(last, { kind: 'sentence_vae', requireTrainer: true });
    const saved = savedVaeOptions(checkpoint, last);
    const options = resumedOptions(saved, overrides, VAE_RESUMABLE_KEYS, ['data', 'valid']);
    checkVaeOptions(options);
    const vocab = SentenceVocab.fromJSON(checkpoint.vocab, join(last, 'vocab.json'));
    const trainer = new SentenceVaeTrainer(dir, options, loadVaeData(options, vocab), true, parallel.collective ?? null);
    return restoredOrDisposed(trainer, () => {
      const state = restoreVaeTrainer(checkpoint, { model: trainer.model, optimizer: trainer.#optimizer, generator: trainer.#generator, device: trainer.device }, last);
      resumeDistribution(savedDistribution(checkpoint.trainer!.state, last), trainer.#collective, trainer.#generator, dir);
      checkSameData(state.fingerprint, trainer.data.fingerprint, dir);
      trainer.#state = state;
    });
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.#state.step;
  }

  get stepsPerEpoch(): number {
    return Math.ceil(this.data.train.length / this.options.batch);
  }

  /** Scores the validation sentences with the current weights (the training-time measure). */
  validationScore(): VaeScore {
    const o = this.options;
    return evaluateVae(this.model, this.data.valid, { batch: Math.max(o.batch, 64), teacherForcing: o.teacherForcing, seed: o.seed });
  }

  async run(runOptions: { reporter?: VaeReporter; signal?: AbortSignal } = {}): Promise<VaeTrainSummary> {
    const reporter = isWriter(this.#collective) ? (runOptions.reporter ?? silent) : silent;
    const o = this.options;
    const s = this.#state;
    const params = this.model.parameters();
    const runStart = performance.now();
    const elapsedAtStart = s.elapsed;
    const elapsed = (): number => elapsedAtStart + (performance.now() - runStart) / 1000;
    // The current epoch's batches, and when this session started on them.
    let epoch: { batches: number[][]; lap: number } | null = null;
    const status = await runTrainingLoop(
      {
        runDir: this.runDir,
        keepMetricsThrough: this.#resumed ? s.step : null,
        collective: this.#collective,
        begin: () =>
          reporter.start({
            runDir: this.runDir,
            resumed: this.#resumed,
            step: s.step,
            source: this.data.source,
            trainSentences: this.data.train.length,
            validSentences: this.data.valid.length,
            vocabSize: this.data.vocab.size,
            parameters: this.model.parameterCount(),
            stepsPerEpoch: this.stepsPerEpoch,
            totalSteps: this.stepsPerEpoch * o.epochs,
            device: this.device,
            deviceNote: this.#deviceNote,
            dataNote: skippedFilesNote(this.data.skipped),
          }),
        hasNext: () => s.epoch <= o.epochs,
        step: (metrics) => {
          if (epoch === null) {
            this.model.train();
            // Data-parallel: global batches of every rank's sentences, each rank training its part.
            epoch = { batches: trainingBatches(this.data.train.length, o.batch * (this.#collective?.size ?? 1), o.seed, s.epoch), lap: performance.now() };
          }
          if (s.batch < epoch.batches.length) {
            this.#step(metrics, reporter, epoch.batches[s.batch]!, params, elapsed);
            s.batch += 1;
          }
          if (s.batch >= epoch.batches.length) {
            s.epochSeconds += (performance.now() - epoch.lap) / 1000;
            epoch = null;
            this.#endEpoch(metrics, reporter, elapsed);
          }
          return 'continue';
        },
        ended: (how) => {
          if (how !== 'interrupted') return;
          if (epoch !== null) s.epochSeconds += (performance.now() - epoch.lap) / 1000;
          s.elapsed = elapsed();
        },
        saveLast: () => this.#save('last'),
        close: () => reporter.stop(),
      },
      runOptions.signal,
    );
    return {
      status: status === 'interrupted' ? 'interrupted' : 'finished',
      step: s.step,
      epochs: s.epochsDone,
      valid: s.lastValid,
      bestEpoch: s.best?.epoch ?? null,
      trainSeconds: s.trainSeconds + (status === 'interrupted' ? s.epochSeconds : 0),
      lastCheckpoint: join(this.runDir, 'last'),
      bestCheckpoint: s.best === null ? null : join(this.runDir, 'best'),
    };
  }

  // One batch: the step, its report, and every logEvery steps a 'train_steps' record.
  #step(metrics: MetricsSink, reporter: VaeReporter, batch: readonly number[], params: ReturnType<SentenceVAE['parameters']>, elapsed: () => number): void {
    const o = this.options;
    const s = this.#state;
    const weight = klWeight(this.#anneal, s.step);
    const t0 = performance.now();
    const r = this.#trainStep(batch.map((i) => this.data.train[i]!), weight, params, s.step);
    s.step += 1;
    for (const sums of [s.epochSums, s.window]) {
      sums.nll += r.nll;
      sums.kl += r.kl;
      sums.sentences += batch.length;
      sums.steps += 1;
    }
    const n = batch.length;
    reporter.step({ step: s.step, epoch: s.epoch, loss: r.loss, nll: r.nll / n, kl: r.kl / n, klWeight: weight, tokensPerSec: (r.tokens * 1000) / Math.max(1e-6, performance.now() - t0) });
    if (s.window.steps === o.logEvery) this.#writeWindow(metrics, weight, elapsed());
  }

  // The end of an epoch: the validation score, the epoch's records, RUN/best on a new lowest
  // negative ELBO, RUN/last, samples.
  #endEpoch(metrics: MetricsSink, reporter: VaeReporter, elapsed: () => number): void {
    const o = this.options;
    const s = this.#state;
    const anneal = this.#anneal;
    if (s.window.steps > 0) this.#writeWindow(metrics, klWeight(anneal, Math.max(0, s.step - 1)), elapsed());
    const weight = klWeight(anneal, s.step);
    const validStart = performance.now();
    const score = this.validationScore();
    const validSeconds = (performance.now() - validStart) / 1000;
    if (!Number.isFinite(score.elbo)) throw this.#diverged(`the validation negative ELBO is ${score.elbo} after epoch ${s.epoch}`);
    const n = Math.max(1, s.epochSums.sentences);
    const train = { elbo: (s.epochSums.nll + s.epochSums.kl) / n, nll: s.epochSums.nll / n, kl: s.epochSums.kl / n };
    const valid = { elbo: score.elbo, nll: score.nll, kl: score.kl, ppl: score.ppl };
    const time = Number(elapsed().toFixed(3));
    metrics.write({ split: 'train', step: s.step, epoch: s.epoch, ...train, kl_weight: weight, time });
    metrics.write({ split: 'valid', step: s.step, epoch: s.epoch, ...valid, kl_weight: weight, time });
    const best = s.best === null || score.elbo < s.best.elbo;
    if (best) {
      s.best = { elbo: score.elbo, epoch: s.epoch };
      this.#save('best');
    }
    const epochSeconds = s.epochSeconds;
    const epoch = s.epoch;
    s.trainSeconds += epochSeconds;
    s.epochsDone = epoch;
    s.lastValid = valid;
    // RUN/last says "the next epoch, from its first batch".
    s.epoch += 1;
    s.batch = 0;
    s.epochSums = emptySums();
    s.epochSeconds = 0;
    s.elapsed = elapsed();
    this.#save('last');
    const samples = this.model.sample(3, { generator: new Generator(o.seed + epoch) }).sentences.map((w) => this.data.vocab.decode(w));
    reporter.epoch({ epoch, step: s.step, klWeight: weight, train, valid, best, samples, trainSeconds: epochSeconds, validSeconds });
  }

  get #anneal(): AnnealOptions {
    const o = this.options;
    return { kind: o.anneal, k: o.k, x0: o.x0 };
  }

  // One optimizer step on a batch (guardedStep: nothing is updated when the loss or the
  // gradient norm is not finite).
  #trainStep(globalSentences: Int32Array[], weight: number, params: ReturnType<SentenceVAE['parameters']>, step: number): { loss: number; nll: number; kl: number; tokens: number } {
    const o = this.options;
    const c = this.#collective;
    const part = c === null ? null : rankPart(globalSentences, c, o.batch);
    const sentences = part === null ? globalSentences : part.items;
    const r = guardedStep(
      this.#optimizer,
      params,
      o.clip,
      () => {
        // Data-parallel: this rank's rows of the latent noise one process would draw for the global batch.
        const eps = c === null || this.model.config.decoderOnly ? undefined : globalNoiseRows(this.#generator, c, globalSentences.length, this.model.config.latent, part!.share > 0 ? c.rank * o.batch : 0, sentences.length, this.device);
        const out = this.model.forward(sentences, { teacherForcing: o.teacherForcing, ...(eps === undefined ? {} : { eps }) });
        const loss = F.scale(F.add(out.nll, F.scale(out.kl, weight)), 1 / sentences.length);
        const share = part?.share ?? 1;
        const terms = { nll: out.nll.item() * Math.sign(share), kl: out.kl.item() * Math.sign(share), tokens: share > 0 ? out.tokens : 0 };
        return { loss, keep: () => terms };
      },
      (what) => this.#diverged(`${what} at step ${step + 1}; nothing was updated`),
      c === null || part === null ? null : { collective: c, share: part.share },
    );
    if (c === null) return { loss: r.loss, ...r.kept };
    // The epoch's sums are of the whole global batch, on every rank.
    const [nll = 0, kl = 0, tokens = 0] = c.allReduceNumbers([r.kept.nll, r.kept.kl, r.kept.tokens]);
    return { loss: r.loss, nll, kl, tokens };
  }

  #writeWindow(metrics: MetricsSink, weight: number, time: number): void {
    const w = this.#state.window;
    const n = Math.max(1, w.sentences);
    metrics.write({
      split: 'train_steps',
      step: this.#state.step,
      epoch: this.#state.epoch,
      elbo: (w.nll + w.kl) / n,
      nll: w.nll / n,
      kl: w.kl / n,
      kl_weight: weight,
      time: Number(time.toFixed(3)),
    });
    this.#state.window = emptySums();
  }

  #diverged(what: string): Error {
    return divergedError(what, join(this.runDir, 'last'));
  }

  #save(which: 'last' | 'best'): void {
    const c = this.#collective;
    const distributed = which === 'last' && c !== null ? snapshotDistribution(c, this.#generator) : undefined;
    if (!isWriter(c)) return;
    const trainer = which === 'last' ? snapshotVaeTrainer(this.options, this.#state, this.#optimizer, this.#generator, distributed) : undefined;
    saveSentenceVae(join(this.runDir, which), this.model, this.data.vocab, this.data.format, trainer);
  }

  dispose(): void {
    this.#optimizer.dispose();
    this.model.dispose();
  }
}
