// The trainer state saved beside RUN/last's weights: trainer.json (step, data position, best
// validation, generator offset, optimizer step counts and hyperparameters, the run's options)
// and optimizer.safetensors (optimizer moments and the carried recurrent state). Together with
// the weights it is everything the next step depends on.
import type { SavedDistribution } from './data_parallel.js';
import type { SafeTensor } from '../io/safetensors.js';
import { disposeState, type LanguageModel, type LanguageModelState } from '../models/language_model.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { checkLmOptions, LM_DEFAULTS, type LmTrainOptions } from './lm_options.js';
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { LanguageModelCheckpointConfig } from '../checkpoint/config.js';
import { languageModelWeightShapes } from '../checkpoint/weights.js';
import {
  asTrainerStateError,
  checkStateFields,
  checkTrainerFitsCheckpoint,
  isIndex,
  isRecord,
  readSavedTrainer,
  restoreTrainer,
  savedTensor,
  snapshotTrainer,
  trainerStateError,
  withDefaults,
  type RestoreTarget,
  type SavedTrainerState,
} from './trainer_state.js';

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

const FORMAT = 'rnnlm-trainer';

interface SavedTrainer extends SavedTrainerState<LmTrainOptions, LmTrainerState> {
  /** Whether optimizer.safetensors holds carried.h (and carried.c): all ranks' streams side by side. */
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
  distributed?: SavedDistribution,
): TrainerSnapshot {
  const snapshot = snapshotTrainer(FORMAT, options, state, optimizer, generator);
  if (carried !== null) {
    snapshot.tensors.set('carried.h', carried.h);
    if (carried.c !== null) snapshot.tensors.set('carried.c', carried.c);
  }
  return { state: { ...snapshot.state, carried: carried !== null, ...(distributed === undefined ? {} : { distributed }) }, tensors: snapshot.tensors };
}

function savedTrainer(json: unknown, source: string): SavedTrainer {
  const saved = readSavedTrainer<LmTrainOptions, LmTrainerState>(json, source, FORMAT, 'an rnnlm language-model trainer state', (state) => {
    checkStateFields(state, source, ['step', 'epoch', 'chunk', 'staleValidations'], ['elapsed']);
    if (typeof state.fingerprint !== 'string') trainerStateError(source, 'has no data fingerprint');
    const best = state.best;
    if (best !== null && !(isRecord(best) && typeof best.loss === 'number' && Number.isFinite(best.loss) && isIndex(best.step) && best.step <= (state.step as number))) {
      trainerStateError(source, `field state.best is ${JSON.stringify(best)}, not {loss, step} of a step taken`);
    }
  }) as SavedTrainer;
  if (typeof saved.carried !== 'boolean') trainerStateError(source, 'field carried is not true or false');
  return saved;
}

/**
 * The options a saved run was started with (defaults filled in for keys added later), once the
 * whole trainer state is checked against the checkpoint's config and tensors: nothing is built
 * from a trainer.json that does not describe these weights.
 */
export function savedOptions(checkpoint: Checkpoint, source: string): LmTrainOptions {
  if (checkpoint.trainer === null) trainerStateError(source, 'is missing (this checkpoint cannot resume training)');
  const saved = savedTrainer(checkpoint.trainer.state, source);
  const options = withDefaults<LmTrainOptions>(saved.options, LM_DEFAULTS, checkLmOptions, source);
  const config = checkpoint.config as LanguageModelCheckpointConfig;
  checkTrainerFitsCheckpoint({ ...saved, options }, { config, trainer: checkpoint.trainer }, languageModelWeightShapes(config), LM_MODEL_KEYS, source);
  for (const name of ['carried.h', 'carried.c']) {
    const t = checkpoint.trainer.tensors.get(name);
    const want = [options.layers, options.batch * (saved.distributed?.worldSize ?? 1), options.hidden];
    if (t !== undefined && (t.shape.length !== 3 || t.shape.some((d, i) => d !== want[i]))) {
      trainerStateError(source, `tensor '${name}' is [${t.shape.join(', ')}], expected [${want.join(', ')}] (layers, batch, hidden)`);
    }
  }
  return options;
}

/** Options that size the model, and their config.json keys. */
const LM_MODEL_KEYS = [['embedding', 'embedding'], ['hidden', 'hidden'], ['layers', 'layers'], ['cell', 'cell'], ['dropout', 'dropout']] as const;

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
  target: RestoreTarget & { model: LanguageModel },
  source: string,
): { state: LmTrainerState; carried: LanguageModelState | null; distributed: SavedDistribution | undefined } {
  if (checkpoint.trainer === null) trainerStateError(source, 'is missing (this checkpoint cannot resume training)');
  const saved = savedTrainer(checkpoint.trainer.state, source);
  const tensors = checkpoint.trainer.tensors;
  let carried: LanguageModelState | null = null;
  try {
    if (saved.carried) {
      const h = tensors.get('carried.h');
      if (h === undefined) trainerStateError(source, "lacks 'carried.h'");
      const c = tensors.get('carried.c');
      if ((c !== undefined) !== (target.model.config.cell === 'lstm')) trainerStateError(source, "'carried.c' does not match the cell");
      carried = { h: savedTensor(h, 'carried.h', source, target.device), c: null };
      if (c !== undefined) carried.c = savedTensor(c, 'carried.c', source, target.device);
    }
    restoreTrainer(saved, { weights: checkpoint.weights, trainer: checkpoint.trainer }, target, source);
  } catch (error) {
    disposeState(carried);
    throw asTrainerStateError(error, source);
  }
  return { state: { ...saved.state, best: saved.state.best === null ? null : { ...saved.state.best } }, carried, distributed: saved.distributed };
}
