// Language-model checkpoints: save a LanguageModel with its vocabulary, and load one back (from
// rnnlm or from PyTorch's state_dict of the same Embedding -> RNN -> Linear model) with every
// name and shape checked against config.json before a model is built.
import { Generator } from '../random.js';
import { LanguageModel } from '../models/language_model.js';
import type { Device } from '../tensor.js';
import {
  readCheckpoint,
  resolveCheckpointDir,
  saveCheckpoint,
  type TrainerCheckpoint,
} from './checkpoint.js';
import {
  languageModelConfig,
  languageModelConfigOf,
  parseLanguageModelConfig,
  type LanguageModelCheckpointConfig,
  type VocabJSON,
} from './config.js';
import { type SavedTensor } from './tensors.js';
import { loadWeightsInto } from './load_weights.js';

export interface SaveLanguageModelOptions {
  /** The tokenizer's vocab.json; its level becomes config.json's tokenizer.level. */
  vocab: VocabJSON;
  trainer?: { state: unknown; tensors: ReadonlyMap<string, SavedTensor> };
}

/** Writes `model` (its config, weights) and `vocab` as a checkpoint folder (see saveCheckpoint). */
export function saveLanguageModel(dir: string, model: LanguageModel, options: SaveLanguageModelOptions): void {
  saveCheckpoint(dir, {
    config: languageModelConfig(model.config, options.vocab.level),
    vocab: options.vocab,
    weights: model,
    ...(options.trainer === undefined ? {} : { trainer: options.trainer }),
  });
}

export interface LoadLanguageModelOptions {
  /** Where the parameters live (default 'cpu'). */
  device?: Device;
  /** The model's generator (initialisation, then dropout masks when training); default the global one. */
  generator?: Generator;
  /** For a run folder: its 'best' (default) or 'last' checkpoint. */
  prefer?: 'best' | 'last';
  /** Also read the trainer state (default false). */
  trainer?: boolean;
}

export interface LoadedLanguageModel {
  /** In eval mode; call train() to continue training. */
  model: LanguageModel;
  config: LanguageModelCheckpointConfig;
  vocab: VocabJSON;
  /** The checkpoint folder that was read, absolute. */
  dir: string;
  /** Trainer state when asked for and present, else null. */
  trainer: TrainerCheckpoint | null;
}

/**
 * Loads a language model from a checkpoint folder or a run folder (its best checkpoint). All of
 * readCheckpoint's checks apply (ERR_RNNLM_CHECKPOINT naming the file): a foreign or newer
 * format, another kind of model, vocab size or level mismatch, missing or unexpected tensors,
 * wrong shapes or dtypes (F64 is rounded to float32, as PyTorch would; F16 and BF16 widen to it
 * exactly), corrupt files, NaN.
 */
export function loadLanguageModel(path: string, options: LoadLanguageModelOptions = {}): LoadedLanguageModel {
  const dir = resolveCheckpointDir(path, options.prefer ?? 'best');
  const checkpoint = readCheckpoint(dir, { kind: 'language_model', trainer: options.trainer ?? false });
  const config = parseLanguageModelConfig(checkpoint.config, `${dir}/config.json`);
  // The constructor's random initial weights are overwritten; drawing them from a private
  // generator keeps loading from moving the caller's global random stream.
  const model = loadWeightsInto(
    new LanguageModel(languageModelConfigOf(config), { generator: options.generator ?? new Generator() }),
    checkpoint.weights,
    `${dir}/model.safetensors`,
    options.device,
  );
  return { model, config, vocab: checkpoint.vocab, dir, trainer: checkpoint.trainer };
}
