// The trainer state saved beside RUN/last's weights: trainer.json (step, data position, best
// validation, generator offset, optimizer step counts and hyperparameters, the run's options)
// and optimizer.safetensors (optimizer moments and the carried recurrent state). Together with
// the weights it is everything the next step depends on.
import { rnnlmError } from '../errors.js';
import type { SafeTensor } from '../io/safetensors.js';
import type { LanguageModel, LanguageModelState } from '../models/language_model.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator, GeneratorState } from '../random.js';
import { fromFloat32Array, type Device, type Tensor } from '../tensor.js';
import { checkLmOptions, LM_DEFAULTS, type LmTrainOptions } from './lm_options.js';
import { isSavedOptimizer, optimizerStateDict, snapshotOptimizer, type SavedOptimizer } from './optimizer_state.js';
import { withDefaults } from './trainer_state.js';

/** Where a run stands, in plain numbers. */
export interface LmTrainerState {
  /** Steps taken. */
  step: number;
  /** 0-based epoch and the index of the next chunk within it. */
  epoch: number;
  chunk: number;
  best: { loss: number; step: number } | null;
  /** Validations since the best one (early stopping). */
  staleValidations: number;
  /** Training seconds so far, across resumes. */
  elapsed: number;
  /** Of the token ids trained on; a resumed run must see the same. */
  fingerprint: string;
}

interface SavedTrainer {
  format: 'rnnlm-trainer';
  version: 1;
  options: LmTrainOptions;
  state: LmTrainerState;
  generator: GeneratorState;
  optimizer: SavedOptimizer;
  /** Whether optimizer.safetensors holds carried.h (and carried.c). */
  carried: boolean;
}

export interface TrainerSnapshot {
  state: SavedTrainer;
  tensors: Map<string, Tensor>;
}

/** The JSON and tensors to save; the tensors are the live ones (save them, do not dispose). */
export function snapshotTrainerState(
  options: LmTrainOptions,
  state: LmTrainerState,
  optimizer: Optimizer,
  generator: Generator,
  carried: LanguageModelState | null,
): TrainerSnapshot {
  const tensors = new Map<string, Tensor>();
  const savedOptimizer = snapshotOptimizer(optimizer, tensors);
  if (carried !== null) {
    tensors.set('carried.h', carried.h);
    if (carried.c !== null) tensors.set('carried.c', carried.c);
  }
  return {
    state: {
      format: 'rnnlm-trainer',
      version: 1,
      options: { ...options },
      state: { ...state, best: state.best === null ? null : { ...state.best } },
      generator: generator.getState(),
      optimizer: savedOptimizer,
      carried: carried !== null,
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

function savedTrainer(json: unknown, source: string): SavedTrainer {
  if (!isRecord(json) || json.format !== 'rnnlm-trainer') corrupt(source, 'is not an rnnlm language-model trainer state');
  if (json.version !== 1) corrupt(source, `has version ${String(json.version)}; this rnnlm reads version 1`);
  const state = json.state;
  if (!isRecord(state)) corrupt(source, 'has no state');
  for (const key of ['step', 'epoch', 'chunk', 'staleValidations', 'elapsed'] as const) {
    const v = state[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) corrupt(source, `field state.${key} is ${JSON.stringify(v)}`);
  }
  if (typeof state.fingerprint !== 'string') corrupt(source, 'has no data fingerprint');
  if (!isSavedOptimizer(json.optimizer)) corrupt(source, 'has no optimizer record');
  if (!isRecord(json.generator)) corrupt(source, 'has no generator state');
  return json as unknown as SavedTrainer;
}

/** The options a saved run was started with (defaults filled in for keys added later). */
export function savedOptions(json: unknown, source: string): LmTrainOptions {
  const saved = savedTrainer(json, source);
  if (!isRecord(saved.options)) corrupt(source, 'has no options');
  return withDefaults<LmTrainOptions>(saved.options, LM_DEFAULTS, checkLmOptions, source);
}

function toTensor(t: SafeTensor, name: string, source: string, device: Device): Tensor {
  if (t.dtype !== 'F32' || !(t.data instanceof Float32Array)) corrupt(source, `tensor '${name}' is ${t.dtype}, expected F32`);
  return fromFloat32Array(t.data, t.shape, { device });
}

export interface RestoreTarget {
  model: LanguageModel;
  optimizer: Optimizer;
  generator: Generator;
  device: Device;
}

export interface CheckpointWithTrainer {
  weights: ReadonlyMap<string, SafeTensor>;
  trainer: { state: unknown; tensors: ReadonlyMap<string, SafeTensor> } | null;
}

/**
 * Loads weights, optimizer state and generator offset into `target` and returns the run's
 * position and carried state. Everything is validated before anything changes.
 */
export function restoreTrainerState(
  checkpoint: CheckpointWithTrainer,
  target: RestoreTarget,
  source: string,
): { state: LmTrainerState; carried: LanguageModelState | null } {
  if (checkpoint.trainer === null) corrupt(source, 'is missing (this checkpoint cannot resume training)');
  const saved = savedTrainer(checkpoint.trainer.state, source);
  const tensors = checkpoint.trainer.tensors;
  const created: Tensor[] = [];
  const make = (t: SafeTensor, name: string): Tensor => {
    const tensor = toTensor(t, name, source, target.device);
    created.push(tensor);
    return tensor;
  };
  try {
    const weights = new Map<string, Tensor>();
    for (const [name, t] of checkpoint.weights) weights.set(name, make(t, name));
    const dict = optimizerStateDict(saved.optimizer, tensors, make);
    let carried: LanguageModelState | null = null;
    if (saved.carried) {
      const h = tensors.get('carried.h');
      if (h === undefined) corrupt(source, "lacks 'carried.h'");
      const c = tensors.get('carried.c');
      carried = { h: make(h, 'carried.h'), c: c === undefined ? null : make(c, 'carried.c') };
      if ((carried.c !== null) !== (target.model.config.cell === 'lstm')) corrupt(source, "'carried.c' does not match the cell");
    }
    target.model.loadStateDict(weights);
    target.optimizer.loadStateDict(dict);
    target.generator.setState(saved.generator);
    // The model and optimizer copied what they needed; only the carried state stays alive.
    for (const t of created) if (t !== carried?.h && t !== carried?.c) t.dispose();
    return { state: { ...saved.state, best: saved.state.best === null ? null : { ...saved.state.best } }, carried };
  } catch (error) {
    for (const t of created) if (!t.isDisposed) t.dispose();
    if (error instanceof Error && 'code' in error && error.code !== 'ERR_RNNLM_CHECKPOINT') {
      corrupt(source, `does not fit this model: ${error.message}`);
    }
    throw error;
  }
}
