// The classifier trainer's state saved beside RUN/last's weights (see train/trainer_state.ts), so
// that `classify train --resume` continues bit for bit: the position in the run, the batch-order
// stream at the start of the epoch in progress, that epoch's partial loss sums, the best
// held-out loss, and the run's options.
import type { SavedDistribution } from '../train/data_parallel.js';
import type { SafeTensor } from '../io/safetensors.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { join } from 'node:path';
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import { classifierWeightShapes, parseClassifierConfig } from '../checkpoint/classifier_checkpoint.js';
import { checkWeights } from '../checkpoint/weights.js';
import { checkStateFields, checkTrainerFitsCheckpoint, isIndex, isRecord, readSavedTrainer, restoreTrainer, snapshotTrainer, trainerStateError, withDefaults, type RestoreTarget, type SavedTrainerState } from '../train/trainer_state.js';
import { CLASSIFIER_DEFAULTS, checkClassifierOptions, type ClassifierTrainOptions } from './options.js';

/** Where a run stands, in plain numbers. */
export interface ClassifierTrainerState {
  /** Optimizer steps taken. */
  step: number;
  /** The epoch in progress (1-based) and the index of its next batch. */
  epoch: number;
  batch: number;
  /** The batch-order stream's position at the start of the epoch in progress. */
  batchRandom: number;
  /** The epoch in progress so far: sum of loss x examples, and examples. */
  lossSum: number;
  seen: number;
  /** Seconds of training steps, across resumes. */
  trainSeconds: number;
  epochsDone: number;
  /** Lowest held-out loss and its epoch (RUN/best); null before the first epoch ends. */
  best: { loss: number; epoch: number } | null;
  final: { loss: number; accuracy: number; macroF1: number } | null;
  /** Of the examples' ids and labels and the split; a resumed run must see the same. */
  fingerprint: string;
}

const FORMAT = 'rnnlm-classifier-trainer';

export function snapshotClassifierTrainer(options: ClassifierTrainOptions, state: ClassifierTrainerState, optimizer: Optimizer, generator: Generator, distributed?: SavedDistribution): { state: SavedTrainerState<ClassifierTrainOptions, ClassifierTrainerState>; tensors: Map<string, Tensor> } {
  return snapshotTrainer(FORMAT, options, state, optimizer, generator, distributed);
}

function checkState(state: Record<string, unknown>, source: string): void {
  checkStateFields(state, source, ['step', 'epoch', 'batch', 'batchRandom', 'seen', 'epochsDone'], ['lossSum', 'trainSeconds']);
  if ((state.epoch as number) < 1) trainerStateError(source, `field state.epoch is ${String(state.epoch)}`);
  if (typeof state.fingerprint !== 'string') trainerStateError(source, 'has no data fingerprint');
  const best = state.best;
  if (best !== null && !(isRecord(best) && typeof best.loss === 'number' && isIndex(best.epoch))) trainerStateError(source, 'field state.best is not {loss, epoch}');
}

function savedClassifierTrainer(json: unknown, source: string): SavedTrainerState<ClassifierTrainOptions, ClassifierTrainerState> {
  return readSavedTrainer(json, source, FORMAT, 'an rnnlm classifier trainer state', (s) => checkState(s, source));
}

/** The options a saved run was started with (defaults filled in for keys added later). */
export function savedClassifierOptions(checkpoint: Checkpoint, source: string): ClassifierTrainOptions {
  if (checkpoint.trainer === null) trainerStateError(source, 'is missing (this checkpoint cannot resume training)');
  const saved = savedClassifierTrainer(checkpoint.trainer.state, source);
  const options = withDefaults<ClassifierTrainOptions>(saved.options, CLASSIFIER_DEFAULTS, checkClassifierOptions, source);
  const config = parseClassifierConfig(checkpoint.config, join(checkpoint.dir, 'config.json'));
  const expected = classifierWeightShapes(config);
  checkWeights(checkpoint.weights, expected, `${join(checkpoint.dir, 'model.safetensors')} does not match its config.json`, 'ERR_RNNLM_CHECKPOINT');
  checkTrainerFitsCheckpoint({ ...saved, options }, { config, trainer: checkpoint.trainer }, expected, CLASSIFIER_MODEL_KEYS, source);
  return options;
}

/** Options that size the model, and their config.json keys. */
const CLASSIFIER_MODEL_KEYS = [
  ['embedding', 'embedding'], ['hidden', 'hidden'], ['layers', 'layers'], ['cell', 'cell'], ['bidirectional', 'bidirectional'], ['dropout', 'dropout'],
] as const;

/** Loads weights, optimizer moments and the generator's offset into `target`; returns the run's position. */
export function restoreClassifierTrainer(
  checkpoint: { weights: ReadonlyMap<string, SafeTensor>; trainer: { state: unknown; tensors: ReadonlyMap<string, SafeTensor> } | null },
  target: RestoreTarget,
  source: string,
): ClassifierTrainerState {
  if (checkpoint.trainer === null) trainerStateError(source, 'is missing (this checkpoint cannot resume training)');
  const saved = savedClassifierTrainer(checkpoint.trainer.state, source);
  restoreTrainer(saved, { weights: checkpoint.weights, trainer: checkpoint.trainer }, target, source);
  return structuredClone(saved.state);
}
