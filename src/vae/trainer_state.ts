// The sentence-VAE trainer's state saved beside RUN/last's weights, so that `vae train --resume`
// continues bit for bit: trainer.json (position in the run, partial sums of the epoch in
// progress, best validation, the model generator's offset, the optimizer's step counts, the
// run's options) and optimizer.safetensors (Adam's moments).
import { rnnlmError } from '../errors.js';
import type { SafeTensor } from '../io/safetensors.js';
import type { SentenceVAE } from '../models/sentence_vae.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator, GeneratorState } from '../random.js';
import { fromFloat32Array, type Device, type Tensor } from '../tensor.js';
import { isSavedOptimizer, optimizerStateDict, snapshotOptimizer, type SavedOptimizer } from '../train/optimizer_state.js';
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

interface SavedVaeTrainer {
  format: 'rnnlm-vae-trainer';
  version: 1;
  options: VaeTrainOptions;
  state: VaeTrainerState;
  generator: GeneratorState;
  optimizer: SavedOptimizer;
}

export const emptySums = (): VaeSums => ({ nll: 0, kl: 0, sentences: 0, steps: 0 });

/** The JSON and the live tensors (save them, do not dispose) of a run. */
export function snapshotVaeTrainer(
  options: VaeTrainOptions,
  state: VaeTrainerState,
  optimizer: Optimizer,
  generator: Generator,
): { state: SavedVaeTrainer; tensors: Map<string, Tensor> } {
  const tensors = new Map<string, Tensor>();
  const optimizerRecord = snapshotOptimizer(optimizer, tensors);
  return {
    state: {
      format: 'rnnlm-vae-trainer',
      version: 1,
      options: { ...options },
      state: structuredClone(state),
      generator: generator.getState(),
      optimizer: optimizerRecord,
    },
    tensors,
  };
}

function corrupt(source: string, what: string): never {
  throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: trainer state ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function checkSums(v: unknown, source: string, name: string): void {
  if (!isRecord(v) || !['nll', 'kl', 'sentences', 'steps'].every((k) => typeof v[k] === 'number')) corrupt(source, `field state.${name} is not {nll, kl, sentences, steps}`);
}

function savedVaeTrainer(json: unknown, source: string): SavedVaeTrainer {
  if (!isRecord(json) || json.format !== 'rnnlm-vae-trainer') corrupt(source, 'is not an rnnlm sentence-VAE trainer state');
  if (json.version !== 1) corrupt(source, `has version ${String(json.version)}; this rnnlm reads version 1`);
  const state = json.state;
  if (!isRecord(state)) corrupt(source, 'has no state');
  for (const key of ['step', 'epoch', 'batch', 'epochSeconds', 'trainSeconds', 'elapsed', 'epochsDone'] as const) {
    if (!isCount(state[key])) corrupt(source, `field state.${key} is ${JSON.stringify(state[key])}`);
  }
  if ((state.epoch as number) < 1) corrupt(source, `field state.epoch is ${String(state.epoch)}`);
  checkSums(state.epochSums, source, 'epochSums');
  checkSums(state.window, source, 'window');
  if (typeof state.fingerprint !== 'string') corrupt(source, 'has no data fingerprint');
  if (state.best !== null && !(isRecord(state.best) && typeof state.best.elbo === 'number' && typeof state.best.epoch === 'number')) corrupt(source, 'field state.best is not {elbo, epoch}');
  if (!isSavedOptimizer(json.optimizer)) corrupt(source, 'has no optimizer record');
  if (!isRecord(json.generator)) corrupt(source, 'has no generator state');
  if (!isRecord(json.options)) corrupt(source, 'has no options');
  return json as unknown as SavedVaeTrainer;
}

/** The options a saved run was started with (defaults filled in for keys added later). */
export function savedVaeOptions(json: unknown, source: string): VaeTrainOptions {
  const saved = savedVaeTrainer(json, source);
  const options: VaeTrainOptions = { ...VAE_DEFAULTS, ...saved.options };
  try {
    checkVaeOptions(options);
  } catch (error) {
    corrupt(source, `holds invalid options: ${error instanceof Error ? error.message : String(error)}`);
  }
  return options;
}

export interface VaeRestoreTarget {
  model: SentenceVAE;
  optimizer: Optimizer;
  generator: Generator;
  device: Device;
}

/**
 * Loads weights, optimizer moments and the generator's offset into `target` and returns where
 * the run stands. Everything is read and checked before anything changes.
 */
export function restoreVaeTrainer(
  checkpoint: { weights: ReadonlyMap<string, SafeTensor>; trainer: { state: unknown; tensors: ReadonlyMap<string, SafeTensor> } | null },
  target: VaeRestoreTarget,
  source: string,
): VaeTrainerState {
  if (checkpoint.trainer === null) corrupt(source, 'is missing (this checkpoint cannot resume training)');
  const saved = savedVaeTrainer(checkpoint.trainer.state, source);
  const created: Tensor[] = [];
  const make = (t: SafeTensor, name: string): Tensor => {
    if (t.dtype !== 'F32' || !(t.data instanceof Float32Array)) corrupt(source, `tensor '${name}' is ${t.dtype}, expected F32`);
    const tensor = fromFloat32Array(t.data, t.shape, { device: target.device });
    created.push(tensor);
    return tensor;
  };
  try {
    const weights = new Map<string, Tensor>();
    for (const [name, t] of checkpoint.weights) weights.set(name, make(t, name));
    const dict = optimizerStateDict(saved.optimizer, checkpoint.trainer.tensors, make);
    target.model.loadStateDict(weights);
    target.optimizer.loadStateDict(dict);
    target.generator.setState(saved.generator);
    return structuredClone(saved.state);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code !== 'ERR_RNNLM_CHECKPOINT') {
      corrupt(source, `does not fit this model: ${error.message}`);
    }
    throw error;
  } finally {
    // The model and optimizer copied what they needed.
    for (const t of created) if (!t.isDisposed) t.dispose();
  }
}
