// The sentence-VAE trainer's state saved beside RUN/last's weights (see train/trainer_state.ts),
// so that `vae train --resume` continues bit for bit: the position in the run, the partial sums
// of the epoch in progress, the best validation, and the run's options.
import type { SavedDistribution } from '../train/data_parallel.js';
import type { SafeTensor } from '../io/safetensors.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { join } from 'node:path';
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import { parseSentenceVaeConfig, sentenceVaeWeightShapes } from '../checkpoint/vae_checkpoint.js';
import { checkWeights } from '../checkpoint/weights.js';
import { checkStateFields, checkTrainerFitsCheckpoint, isIndex, isRecord, readSavedTrainer, restoreTrainer, snapshotTrainer, trainerStateError, withDefaults, type RestoreTarget, type SavedTrainerState } from '../train/trainer_state.js';
import { checkVaeOptions, VAE_DEFAULTS, type VaeTrainOptions } from './options.js';

/** Sums over sentences of a stretch of training batches. */
export interface VaeSums {
  nll: number;
  kl: number;
  sentences: number;
  steps: number;
}

/** Where a run stands, in plain numbers. */
export interface VaeTrainerState {
  /** Optimizer steps taken. */
  step: number;
  /** The epoch in progress (1-based) and the index of its next batch. */
  epoch: number;
  batch: number;
  /** The epoch in progress so far (its 'train' record), and the open 'train_steps' window. */
  epochSums: VaeSums;
  window: VaeSums;
  /** Training seconds of the epoch in progress, and of the whole run, across resumes. */
  epochSeconds: number;
  trainSeconds: number;
  /** Seconds since the run started, across resumes (the metrics' `time`). */
  elapsed: number;
  epochsDone: number;
  /** Lowest validation negative ELBO and its epoch (RUN/best), null before the first epoch ends. */
  best: { elbo: number; epoch: number } | null;
  lastValid: { elbo: number; nll: number; kl: number; ppl: number } | null;
  /** Of the sentences' word ids; a resumed run must see the same. */
  fingerprint: string;
}

const FORMAT = 'rnnlm-vae-trainer';

export const emptySums = (): VaeSums => ({ nll: 0, kl: 0, sentences: 0, steps: 0 });

/** The JSON and the live tensors (save them, do not dispose) of a run. */
export function snapshotVaeTrainer(options: VaeTrainOptions, state: VaeTrainerState, optimizer: Optimizer, generator: Generator, distributed?: SavedDistribution): { state: SavedTrainerState<VaeTrainOptions, VaeTrainerState>; tensors: Map<string, Tensor> } {
  return snapshotTrainer(FORMAT, options, state, optimizer, generator, distributed);
}

function checkState(state: Record<string, unknown>, source: string): void {
  checkStateFields(state, source, ['step', 'epoch', 'batch', 'epochsDone'], ['epochSeconds', 'trainSeconds', 'elapsed']);
  if ((state.epoch as number) < 1) trainerStateError(source, `field state.epoch is ${String(state.epoch)}`);
  for (const name of ['epochSums', 'window'] as const) {
    const v = state[name];
    if (!isRecord(v) || !['nll', 'kl'].every((k) => typeof v[k] === 'number' && Number.isFinite(v[k])) || !['sentences', 'steps'].every((k) => isIndex(v[k]))) {
      trainerStateError(source, `field state.${name} is not {nll, kl, sentences, steps}`);
    }
  }
  if (typeof state.fingerprint !== 'string') trainerStateError(source, 'has no data fingerprint');
  const best = state.best;
  if (best !== null && !(isRecord(best) && typeof best.elbo === 'number' && isIndex(best.epoch))) trainerStateError(source, 'field state.best is not {elbo, epoch}');
}

function savedVaeTrainer(json: unknown, source: string): SavedTrainerState<VaeTrainOptions, VaeTrainerState> {
  return readSavedTrainer(json, source, FORMAT, 'an rnnlm sentence-VAE trainer state', (s) => checkState(s, source));
}

/** Options that size the model, and their config.json keys. */
const VAE_MODEL_KEYS = [
  ['embedding', 'embedding'], ['hidden', 'hidden'], ['latent', 'latent'], ['layers', 'layers'], ['cell', 'cell'],
  ['bidirectional', 'bidirectional'], ['maxLength', 'max_length'], ['decoderOnly', 'decoder_only'],
  ['wordDropout', 'word_dropout'], ['embeddingDropout', 'embedding_dropout'],
] as const;

/**
 * The options a saved run was started with (defaults filled in for keys added later), once the
 * trainer state and config.json are checked against each other and the tensors' shapes.
 */
export function savedVaeOptions(checkpoint: Checkpoint, source: string): VaeTrainOptions {
  if (checkpoint.trainer === null) trainerStateError(source, 'is missing (this checkpoint cannot resume training)');
  const saved = savedVaeTrainer(checkpoint.trainer.state, source);
  const options = withDefaults<VaeTrainOptions>(saved.options, VAE_DEFAULTS, checkVaeOptions, source);
  const configPath = join(checkpoint.dir, 'config.json');
  const config = parseSentenceVaeConfig(checkpoint.config, configPath);
  const expected = sentenceVaeWeightShapes(config);
  checkWeights(checkpoint.weights, expected, `${join(checkpoint.dir, 'model.safetensors')} does not match its config.json`, 'ERR_RNNLM_CHECKPOINT');
  checkTrainerFitsCheckpoint({ ...saved, options }, { config, trainer: checkpoint.trainer }, expected, VAE_MODEL_KEYS, source);
  return options;
}

/**
 * Loads weights, optimizer moments and the generator's offset into `target` and returns where
 * the run stands. Everything is read and checked before anything changes.
 */
export function restoreVaeTrainer(
  checkpoint: { weights: ReadonlyMap<string, SafeTensor>; trainer: { state: unknown; tensors: ReadonlyMap<string, SafeTensor> } | null },
  target: RestoreTarget,
  source: string,
): VaeTrainerState {
  if (checkpoint.trainer === null) trainerStateError(source, 'is missing (this checkpoint cannot resume training)');
  const saved = savedVaeTrainer(checkpoint.trainer.state, source);
  restoreTrainer(saved, { weights: checkpoint.weights, trainer: checkpoint.trainer }, target, source);
  return structuredClone(saved.state);
}
