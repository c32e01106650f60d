// Classifier checkpoints: config.json of kind 'classifier' (the model's sizes and its label
// names), vocab.json (char level, with the "unk" special at id 0), and model.safetensors with
// PyTorch state_dict names embedding.weight, rnn.*, fc.weight, fc.bias. Loading checks every
// field, name and shape against config.json before a model is built, as the LM loader does.
import { checkModelSizes } from '../limits/model_plan.js';
import { join } from 'node:path';
import { rnnlmError } from '../errors.js';
import { ClassifierVocab } from '../classify/vocab.js';
import { CELL_TYPES, type CellType } from '../nn/create_rnn.js';
import { SequenceClassifier, type SequenceClassifierConfig } from '../models/sequence_classifier.js';
import { Generator } from '../random.js';
import type { Device } from '../tensor.js';
import { readCheckpoint, resolveCheckpointDir, saveCheckpoint, CONFIG_FILE, MODEL_FILE, VOCAB_FILE, type TrainerCheckpoint } from './checkpoint.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, type CheckpointConfig } from './config.js';
import { toSafeTensor, type SavedTensor } from './tensors.js';
import { checkWeights, rnnWeightShapes, type ExpectedTensor } from './weights.js';
import { loadWeightsInto } from './load_weights.js';

export interface ClassifierCheckpointConfig extends CheckpointConfig {
  kind: 'classifier';
  model: {
    vocab_size: number;
    embedding: number;
    hidden: number;
    layers: number;
    cell: CellType;
    bidirectional: boolean;
    dropout: number;
    num_classes: number;
  };
  tokenizer: { level: 'char' };
  /** Class names in class-id order. */
  labels: string[];
}

function bad(source: string, problem: string): never {
  throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: ${problem}`);
}

/** The config.json of a SequenceClassifier with these labels. */
export function classifierConfig(model: Readonly<SequenceClassifierConfig>, labels: readonly string[]): ClassifierCheckpointConfig {
  return {
    format: CHECKPOINT_FORMAT,
    format_version: CHECKPOINT_FORMAT_VERSION,
    kind: 'classifier',
    model: {
      vocab_size: model.vocabSize,
      embedding: model.embedding,
      hidden: model.hidden,
      layers: model.layers,
      cell: model.cell,
      bidirectional: model.bidirectional,
      dropout: model.dropout,
      num_classes: model.numClasses,
    },
    tokenizer: { level: 'char' },
    labels: [...labels],
  };
}

/** Checks a config of kind 'classifier' (already through parseCheckpointConfig). */
export function parseClassifierConfig(config: CheckpointConfig, source: string): ClassifierCheckpointConfig {
  if (config.kind !== 'classifier') bad(source, `is a ${config.kind} checkpoint, not a classifier checkpoint`);
  const m = config.model;
  for (const key of ['vocab_size', 'embedding', 'hidden', 'layers', 'num_classes'] as const) {
    const v = m[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      bad(source, `model.${key} must be a positive integer, got ${JSON.stringify(v) ?? 'nothing'}`);
    }
  }
  checkModelSizes(source, m, ['vocab_size', 'embedding', 'hidden', 'layers', 'num_classes']);
  if (!CELL_TYPES.includes(m.cell as CellType)) {
    bad(source, `model.cell must be one of ${CELL_TYPES.join(', ')}, got ${JSON.stringify(m.cell) ?? 'nothing'}`);
  }
  if (typeof m.bidirectional !== 'boolean') bad(source, `model.bidirectional must be true or false, got ${JSON.stringify(m.bidirectional) ?? 'nothing'}`);
  if (typeof m.dropout !== 'number' || !(m.dropout >= 0 && m.dropout < 1)) {
    bad(source, `model.dropout must be a number in [0, 1), got ${JSON.stringify(m.dropout) ?? 'nothing'}`);
  }
  if (config.tokenizer.level !== 'char') bad(source, `a classifier reads characters: tokenizer.level must be "char", got "${config.tokenizer.level}"`);
  const labels = (config as { labels?: unknown }).labels;
  if (!Array.isArray(labels)) bad(source, 'has no "labels" array (the class names)');
  const seen = new Set<string>();
  labels.forEach((l, i) => {
    if (typeof l !== 'string' || l === '') bad(source, `labels[${i}] must be a non-empty string, got ${JSON.stringify(l)}`);
    if (seen.has(l)) bad(source, `labels[${i}] (${JSON.stringify(l)}) appears twice`);
    seen.add(l);
  });
  if (labels.length !== m.num_classes) bad(source, `has ${labels.length} labels but model.num_classes is ${String(m.num_classes)}`);
  return config as ClassifierCheckpointConfig;
}

/** The SequenceClassifier constructor's config for a checked classifier config.json. */
export function classifierConfigOf(config: ClassifierCheckpointConfig): SequenceClassifierConfig {
  const m = config.model;
  return {
    vocabSize: m.vocab_size,
    embedding: m.embedding,
    hidden: m.hidden,
    layers: m.layers,
    cell: m.cell,
    bidirectional: m.bidirectional,
    dropout: m.dropout,
    numClasses: m.num_classes,
  };
}

/** PyTorch state_dict names and shapes of a classifier: embedding, rnn.* (both directions), fc. */
export function classifierWeightShapes(config: ClassifierCheckpointConfig): Map<string, ExpectedTensor> {
  const { vocab_size: V, embedding: E, hidden: H, layers: L, cell, bidirectional, num_classes: C } = config.model;
  const D = bidirectional ? 2 : 1;
  const out = new Map<string, ExpectedTensor>();
  out.set('embedding.weight', { shape: [V, E], why: `vocab_size ${V}, embedding ${E}` });
  rnnWeightShapes(out, 'rnn', cell, E, H, L, D);
  out.set('fc.weight', { shape: [C, D * H], why: `num_classes ${C}, ${D} direction${D > 1 ? 's' : ''} x hidden ${H}` });
  out.set('fc.bias', { shape: [C], why: `num_classes ${C}` });
  return out;
}

export interface SaveClassifierOptions {
  vocab: ClassifierVocab;
  /** Class names in class-id order (as many as the model's classes). */
  labels: readonly string[];
  trainer?: { state: unknown; tensors: ReadonlyMap<string, SavedTensor> };
}

/** Writes `model`, its vocabulary and labels as a checkpoint folder (atomically; see saveCheckpoint). */
export function saveClassifier(dir: string, model: SequenceClassifier, options: SaveClassifierOptions): void {
  const where = `saveClassifier(${dir})`;
  const config = classifierConfig(model.config, options.labels);
  try {
    parseClassifierConfig(config, `${where}: config`);
  } catch (error) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', (error as Error).message);
  }
  if (options.vocab.size !== model.config.vocabSize) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${where}: the vocabulary has ${options.vocab.size} tokens, the model ${model.config.vocabSize}`);
  }
  const weights = new Map([...model.stateDict()].map(([name, t]) => [name, toSafeTensor(t)]));
  checkWeights(weights, classifierWeightShapes(config), `${where}: weights`, 'ERR_RNNLM_ARGUMENT', false);
  saveCheckpoint(dir, {
    config,
    vocab: options.vocab.toJSON(),
    weights,
    ...(options.trainer === undefined ? {} : { trainer: options.trainer }),
  });
}

export interface LoadClassifierOptions {
  /** Where the parameters live (default 'cpu'). */
  device?: Device;
  /** For a run folder: its 'best' (default) or 'last' checkpoint. */
  prefer?: 'best' | 'last';
  /** The model's generator (dropout masks when training); default a private one. */
  generator?: Generator;
  /** Also read the trainer state (default false). */
  trainer?: boolean;
}

export interface LoadedClassifier {
  /** In eval mode; call train() to continue training. */
  model: SequenceClassifier;
  config: ClassifierCheckpointConfig;
  vocab: ClassifierVocab;
  labels: string[];
  /** The checkpoint folder that was read, absolute. */
  dir: string;
  trainer: TrainerCheckpoint | null;
}

/**
 * Loads a classifier from a checkpoint folder or a run folder (its best checkpoint). Every
 * problem is ERR_RNNLM_CHECKPOINT naming the file: another kind of model, bad sizes or labels,
 * a vocabulary without "unk" at id 0 or of the wrong size, missing, unexpected or misshapen
 * tensors (PyTorch F64 tensors are rounded to float32, F16 and BF16 ones widened exactly), corrupt
 * files, NaN.
 */
export function loadClassifier(path: string, options: LoadClassifierOptions = {}): LoadedClassifier {
  const dir = resolveCheckpointDir(path, options.prefer ?? 'best');
  const checkpoint = readCheckpoint(dir, { kind: 'classifier', trainer: options.trainer ?? false });
  const config = parseClassifierConfig(checkpoint.config, join(dir, CONFIG_FILE));
  const vocab = ClassifierVocab.fromJSON(checkpoint.vocab, join(dir, VOCAB_FILE));
  const modelPath = join(dir, MODEL_FILE);
  checkWeights(checkpoint.weights, classifierWeightShapes(config), `${modelPath} does not match its ${CONFIG_FILE}`, 'ERR_RNNLM_CHECKPOINT');
  // The constructor's random weights are overwritten at once; a private generator keeps loading
  // from moving the caller's global random stream.
  const model = loadWeightsInto(
    new SequenceClassifier(classifierConfigOf(config), { generator: options.generator ?? new Generator() }),
    checkpoint.weights,
    modelPath,
    options.device,
  );
  return { model, config, vocab, labels: [...config.labels], dir, trainer: checkpoint.trainer };
}
