// config.json and vocab.json of a checkpoint folder: their types, and the checks that turn a
// foreign, newer or inconsistent file into a message saying what is wrong.
import { rnnlmError } from '../errors.js';
import { checkModelSizes } from '../limits/model_plan.js';
import { CELL_TYPES, type CellType, type LanguageModelConfig } from '../models/language_model.js';
import type { TokenizerLevel, VocabJSON } from '../data/tokenizer.js';

// vocab.json belongs to the tokenizer (its type, its full checks); a checkpoint only makes sure it
// fits the model: the same level, one token per row of the embedding.
export type { VocabJSON };

/** The `format` of every rnnlm checkpoint's config.json. */
export const CHECKPOINT_FORMAT = 'rnnlm';
/** The newest config.json layout this version writes and reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** Model kinds: 'language_model' here; the VAE and the classifier bring their own. */
export type CheckpointKind = 'language_model' | 'sentence_vae' | 'classifier' | (string & {});

export type TokenLevel = TokenizerLevel;
export const TOKEN_LEVELS: readonly TokenLevel[] = ['char', 'word'];

/** config.json of any checkpoint; `model` holds the kind's sizes. Unknown keys are kept. */
export interface CheckpointConfig {
  format: typeof CHECKPOINT_FORMAT;
  format_version: number;
  kind: CheckpointKind;
  model: Record<string, unknown>;
  tokenizer: { level: TokenLevel };
}

export interface LanguageModelCheckpointConfig extends CheckpointConfig {
  kind: 'language_model';
  model: {
    vocab_size: number;
    embedding: number;
    hidden: number;
    layers: number;
    cell: CellType;
    dropout: number;
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(source: string, problem: string): never {
  throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: ${problem}`);
}

/**
 * Checks the parts of config.json every kind shares: that it is an rnnlm checkpoint, of a
 * format_version this code can read, with a kind, a model object and a tokenizer level.
 */
export function parseCheckpointConfig(value: unknown, source: string): CheckpointConfig {
  if (!isObject(value)) bad(source, 'is not a JSON object');
  if (value.format !== CHECKPOINT_FORMAT) {
    bad(source, `not an rnnlm checkpoint (format is ${JSON.stringify(value.format) ?? 'missing'}, expected "${CHECKPOINT_FORMAT}")`);
  }
  const version = value.format_version;
  if (version === undefined) bad(source, 'has no format_version');
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    bad(source, `format_version ${JSON.stringify(version)} is not a positive integer`);
  }
  if (version > CHECKPOINT_FORMAT_VERSION) {
    bad(
      source,
      `format_version ${version} was written by a newer rnnlm; this version reads up to ${CHECKPOINT_FORMAT_VERSION} (upgrade rnnlm)`,
    );
  }
  if (typeof value.kind !== 'string' || value.kind === '') bad(source, 'has no model "kind"');
  if (!isObject(value.model)) bad(source, 'has no "model" object');
  const tokenizer = value.tokenizer;
  if (!isObject(tokenizer) || !TOKEN_LEVELS.includes(tokenizer.level as TokenLevel)) {
    bad(source, `tokenizer.level must be one of ${TOKEN_LEVELS.join(', ')}, got ${JSON.stringify(isObject(tokenizer) ? tokenizer.level : tokenizer) ?? 'nothing'}`);
  }
  return value as unknown as CheckpointConfig;
}

/** Checks a config of kind 'language_model' (already through parseCheckpointConfig). */
export function parseLanguageModelConfig(config: CheckpointConfig, source: string): LanguageModelCheckpointConfig {
  if (config.kind !== 'language_model') {
    bad(source, `is a ${config.kind} checkpoint, not a language_model checkpoint`);
  }
  const m = config.model;
  for (const key of ['vocab_size', 'embedding', 'hidden', 'layers'] as const) {
    const v = m[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      bad(source, `model.${key} must be a positive integer, got ${JSON.stringify(v) ?? 'nothing'}`);
    }
  }
  checkModelSizes(source, m, ['vocab_size', 'embedding', 'hidden', 'layers']);
  if (!CELL_TYPES.includes(m.cell as CellType)) {
    bad(source, `model.cell must be one of ${CELL_TYPES.join(', ')}, got ${JSON.stringify(m.cell) ?? 'nothing'}`);
  }
  if (typeof m.dropout !== 'number' || !(m.dropout >= 0 && m.dropout < 1)) {
    bad(source, `model.dropout must be a number in [0, 1), got ${JSON.stringify(m.dropout) ?? 'nothing'}`);
  }
  return config as LanguageModelCheckpointConfig;
}

/** Checks vocab.json against its config: same level, `vocabSize` string tokens (when known). */
export function parseVocab(value: unknown, source: string, level: TokenLevel, vocabSize: number | null): VocabJSON {
  if (!isObject(value)) bad(source, 'is not a JSON object');
  if (value.level !== level) {
    bad(source, `level is ${JSON.stringify(value.level) ?? 'missing'} but config.json says the tokenizer level is "${level}"`);
  }
  const tokens = value.tokens;
  if (!Array.isArray(tokens)) bad(source, '"tokens" is not an array');
  const i = tokens.findIndex((t) => typeof t !== 'string');
  if (i >= 0) bad(source, `tokens[${i}] is not a string`);
  if (vocabSize !== null && tokens.length !== vocabSize) {
    bad(source, `has ${tokens.length} tokens but the model's vocab_size is ${vocabSize} (config.json); the vocabulary does not belong to these weights`);
  }
  return value as unknown as VocabJSON;
}

/** The config.json of a LanguageModel with this config and tokenizer level. */
export function languageModelConfig(model: Readonly<LanguageModelConfig>, level: TokenLevel): LanguageModelCheckpointConfig {
  return {
    format: CHECKPOINT_FORMAT,
    format_version: CHECKPOINT_FORMAT_VERSION,
    kind: 'language_model',
    model: {
      vocab_size: model.vocabSize,
      embedding: model.embedding,
      hidden: model.hidden,
      layers: model.layers,
      cell: model.cell,
      dropout: model.dropout,
    },
    tokenizer: { level },
  };
}

/** The LanguageModel constructor's config for a checked language-model config.json. */
export function languageModelConfigOf(config: LanguageModelCheckpointConfig): LanguageModelConfig {
  const m = config.model;
  return { vocabSize: m.vocab_size, embedding: m.embedding, hidden: m.hidden, layers: m.layers, cell: m.cell, dropout: m.dropout };
}
