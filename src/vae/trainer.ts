// Training a SentenceVAE as the reference does: epochs of shuffled batches, loss
// (NLL + kl_weight * KL) / batch_size with NLL summed over the target tokens, the KL weight
// annealed by optimizer step, Adam, no clipping unless asked. After every epoch the validation
// sentences are scored (z drawn from q(z|x), dropout off) and RUN/last is saved; RUN/best holds
// the lowest validation negative ELBO (NLL + KL, the true bound, whatever the KL weight).
// Metrics: 'train_steps' every logEvery steps, and per epoch 'train' and 'valid', each
// {split, step, epoch, elbo, nll, kl, kl_weight} with the terms summed per sentence and
// averaged over sentences. There is no exact resume: RUN/last holds weights only.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { backward } from '../autograd.js';
import { saveSentenceVae } from '../checkpoint/vae_checkpoint.js';
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import { SentenceVAE } from '../models/sentence_vae.js';
import { Adam, clipGradNorm } from '../optim/index.js';
import { Generator } from '../random.js';
import { resolveDevice } from '../runtime.js';
import { tidy, type Device } from '../tensor.js';
import { MetricsWriter } from '../train/metrics.js';
import { klWeight } from './anneal.js';
import { trainingBatches } from './batches.js';
import { loadVaeData, type VaeData } from './data.js';
import { evaluateVae, type VaeScore } from './evaluate.js';
import { VAE_DEFAULTS, checkVaeOptions, type VaeTrainOptions } from './options.js';

export interface VaeStartInfo {
  runDir: string;
  source: string;
  trainSentences: number;
  validSentences: number;
  vocabSize: number;
  parameters: number;
  stepsPerEpoch: number;
  totalSteps: number;
  device: Device;
  deviceNote: string | null;
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
  readonly #deviceNote: string | null;
  readonly #optimizer: Adam;

  private constructor(runDir: string, options: VaeTrainOptions, data: VaeData) {
    this.runDir = runDir;
    this.options = Object.freeze({ ...options });
    this.data = data;
    const choice = resolveDevice(options.device);
    this.device = choice.device;
    this.#deviceNote = choice.fallbackReason;
    const v = data.vocab;
    this.model = new SentenceVAE(
      {
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
      },
      { generator: new Generator(options.seed) },
    );
    if (this.device !== 'cpu') this.model.to(this.device);
    this.#optimizer = new Adam(this.model.parameters(), { lr: options.lr });
  }

  /** A new run in `runDir` (it must not already hold a run). */
  static create(options: Partial<VaeTrainOptions>, runDir: string): SentenceVaeTrainer {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const full: VaeTrainOptions = { ...VAE_DEFAULTS, ...given } as VaeTrainOptions;
    for (const key of ['data', 'valid'] as const) {
      if (full[key] === '') throw rnnlmError('ERR_RNNLM_ARGUMENT', `${key} is an empty path; leave it out to use the default`);
      if (full[key] !== null) full[key] = resolve(full[key]!);
    }
    checkVaeOptions(full);
    const dir = resolve(runDir);
    if (existsSync(join(dir, 'last')) || existsSync(join(dir, 'metrics.jsonl'))) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `${dir} already holds a run; choose another --out`);
    }
    return new SentenceVaeTrainer(dir, full, loadVaeData(full));
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
    const reporter = runOptions.reporter ?? silent;
    const o = this.options;
    const anneal = { kind: o.anneal, k: o.k, x0: o.x0 };
    mkdirSync(this.runDir, { recursive: true });
    const metrics = new MetricsWriter(this.runDir);
    reporter.start({
      runDir: this.runDir,
      source: this.data.source,
      trainSentences: this.data.train.length,
      validSentences: this.data.valid.length,
      vocabSize: this.data.vocab.size,
      parameters: this.model.parameterCount(),
      stepsPerEpoch: this.stepsPerEpoch,
      totalSteps: this.stepsPerEpoch * o.epochs,
      device: this.device,
      deviceNote: this.#deviceNote,
    });
    const params = this.model.parameters();
    let status: VaeTrainSummary['status'] = 'finished';
    let step = 0;
    let epochsDone = 0;
    let trainSeconds = 0;
    let bestElbo = Infinity;
    let bestEpoch: number | null = null;
    let lastValid: VaeTrainSummary['valid'] = null;
    const started = performance.now();
    try {
      for (let epoch = 1; epoch <= o.epochs; epoch++) {
        this.model.train();
        const epochStart = performance.now();
        const sums = { nll: 0, kl: 0, sentences: 0 };
        const window = { nll: 0, kl: 0, sentences: 0, steps: 0 };
        for (const batch of trainingBatches(this.data.train.length, o.batch, o.seed, epoch)) {
          if (runOptions.signal?.aborted === true) {
            status = 'interrupted';
            break;
          }
          const weight = klWeight(anneal, step);
          const t0 = performance.now();
          const r = this.#trainStep(batch.map((i) => this.data.train[i]!), weight, params, step);
          step += 1;
          sums.nll += r.nll;
          sums.kl += r.kl;
          sums.sentences += batch.length;
          window.nll += r.nll;
          window.kl += r.kl;
          window.sentences += batch.length;
          window.steps += 1;
          const n = batch.length;
          reporter.step({ step, epoch, loss: r.loss, nll: r.nll / n, kl: r.kl / n, klWeight: weight, tokensPerSec: (r.tokens * 1000) / Math.max(1e-6, performance.now() - t0) });
          if (window.steps === o.logEvery) {
            this.#writeWindow(metrics, window, step, epoch, weight, started);
            window.nll = window.kl = window.sentences = window.steps = 0;
          }
          // Lets a Ctrl-C handler run between steps.
          await yieldToEventLoop();
        }
        const epochSeconds = (performance.now() - epochStart) / 1000;
        trainSeconds += epochSeconds;
        if (window.steps > 0) this.#writeWindow(metrics, window, step, epoch, klWeight(anneal, Math.max(0, step - 1)), started);
        if (status === 'interrupted') break;
        const weight = klWeight(anneal, step);
        const validStart = performance.now();
        const score = this.validationScore();
        const validSeconds = (performance.now() - validStart) / 1000;
        if (!Number.isFinite(score.elbo)) throw this.#diverged(`the validation negative ELBO is ${score.elbo} after epoch ${epoch}`);
        const n = Math.max(1, sums.sentences);
        const train = { elbo: (sums.nll + sums.kl) / n, nll: sums.nll / n, kl: sums.kl / n };
        const valid = { elbo: score.elbo, nll: score.nll, kl: score.kl, ppl: score.ppl };
        const time = Number(((performance.now() - started) / 1000).toFixed(3));
        metrics.write({ split: 'train', step, epoch, ...train, kl_weight: weight, time });
        metrics.write({ split: 'valid', step, epoch, ...valid, kl_weight: weight, time });
        const best = score.elbo < bestElbo;
        if (best) {
          bestElbo = score.elbo;
          bestEpoch = epoch;
          this.#save('best');
        }
        this.#save('last');
        epochsDone = epoch;
        lastValid = valid;
        const samples = this.model.sample(3, { generator: new Generator(o.seed + epoch) }).sentences.map((s) => this.data.vocab.decode(s));
        reporter.epoch({ epoch, step, klWeight: weight, train, valid, best, samples, trainSeconds: epochSeconds, validSeconds });
      }
      if (status === 'interrupted' && epochsDone < o.epochs) this.#save('last');
    } finally {
      metrics.close();
      reporter.stop();
    }
    return {
      status,
      step,
      epochs: epochsDone,
      valid: lastValid,
      bestEpoch,
      trainSeconds,
      lastCheckpoint: join(this.runDir, 'last'),
      bestCheckpoint: bestEpoch === null ? null : join(this.runDir, 'best'),
    };
  }

  // One optimizer step on a batch; nothing is updated when the loss or the gradient norm is not
  // finite (ERR_RNNLM_NAN), so RUN/last stays the last good state.
  #trainStep(sentences: Int32Array[], weight: number, params: ReturnType<SentenceVAE['parameters']>, step: number): { loss: number; nll: number; kl: number; tokens: number } {
    const o = this.options;
    const r = tidy(() => {
      this.#optimizer.zeroGrad();
      const out = this.model.forward(sentences, { teacherForcing: o.teacherForcing });
      const loss = F.scale(F.add(out.nll, F.scale(out.kl, weight)), 1 / sentences.length);
      const value = loss.item();
      const result = { loss: value, nll: out.nll.item(), kl: out.kl.item(), tokens: out.tokens, ok: Number.isFinite(value), norm: null as number | null };
      if (!result.ok) return result;
      backward(loss);
      if (o.clip > 0) {
        result.norm = clipGradNorm(params, o.clip);
        if (!Number.isFinite(result.norm)) return { ...result, ok: false };
      }
      this.#optimizer.step();
      return result;
    });
    if (!r.ok) {
      this.#optimizer.zeroGrad();
      const what = Number.isFinite(r.loss) ? `the gradient norm is ${r.norm}` : `the loss is ${r.loss}`;
      throw this.#diverged(`${what} at step ${step + 1}; nothing was updated`);
    }
    return r;
  }

  #writeWindow(metrics: MetricsWriter, w: { nll: number; kl: number; sentences: number }, step: number, epoch: number, weight: number, started: number): void {
    const n = Math.max(1, w.sentences);
    metrics.write({
      split: 'train_steps',
      step,
      epoch,
      elbo: (w.nll + w.kl) / n,
      nll: w.nll / n,
      kl: w.kl / n,
      kl_weight: weight,
      time: Number(((performance.now() - started) / 1000).toFixed(3)),
    });
  }

  #diverged(what: string): Error {
    const last = join(this.runDir, 'last');
    const kept = existsSync(last) ? ` ${last} holds the last good state.` : '';
    return rnnlmError('ERR_RNNLM_NAN', `training diverged: ${what}.${kept} Try a lower --lr or a --clip.`);
  }

  #save(which: 'last' | 'best'): void {
    saveSentenceVae(join(this.runDir, which), this.model, this.data.vocab, this.data.format);
  }

  dispose(): void {
    this.#optimizer.dispose();
    this.model.dispose();
  }
}
