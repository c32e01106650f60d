// Sentence-VAE checkpoints: config.json of kind 'sentence_vae' (the model's sizes, its specials,
// how an LSTM decoder's cell state starts, and how text was tokenised), vocab.json (word level,
// specials pad/unk/sos/eos), and model.safetensors with the reference implementation's
// state_dict names: embedding.weight, encoder_rnn.*, decoder_rnn.*, hidden2mean.*,
// hidden2logv.*, latent2hidden.*, outputs2vocab.*. With one unidirectional layer (the defaults)
// every name and shape is the PyTorch reference's (timbmg/Sentence-VAE), so the weights load
// into it; with a bidirectional encoder or several layers the reference's decoder and
// latent2hidden differ (it makes the decoder bidirectional too), so they do not.
// Loading checks every field, name and shape against config.json before a model is built.
import { checkModelSizes } from '../limits/model_plan.js';
import { join } from 'node:path';
import { rnnlmError } from '../errors.js';
import { CELL_TYPES, type CellType } from '../models/language_model.js';
import { SentenceVAE, type SentenceVAEConfig } from '../models/sentence_vae.js';
import { Generator } from '../random.js';
import { tidy, type Device, type Tensor } from '../tensor.js';
import { SentenceVocab } from '../vae/vocab.js';
import { SENTENCE_FORMATS, type SentenceFormat } from '../vae/sentences.js';
import { CONFIG_FILE, MODEL_FILE, VOCAB_FILE, readCheckpoint, resolveCheckpointDir, saveCheckpoint, type CheckpointContents } from './checkpoint.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, type CheckpointConfig } from './config.js';
import type { SafeTensor } from '../io/safetensors.js';
import { fromSafeTensor, toSafeTensor } from './tensors.js';
import { checkWeights, rnnWeightShapes, type ExpectedTensor } from './weights.js';

export interface SentenceVaeCheckpointConfig extends CheckpointConfig {
  kind: 'sentence_vae';
  model: {
    vocab_size: number;
    embedding: number;
    hidden: number;
    latent: number;
    layers: number;
    cell: CellType;
    /** The encoder's; the decoder is unidirectional. */
    bidirectional: boolean;
    word_dropout: number;
    embedding_dropout: number;
    max_length: number;
    /** The plain LM baseline (no encoder, no latent). */
    decoder_only: boolean;
    /** How an LSTM decoder's initial cell state is set: always zeros (h0 comes from z). */
    lstm_c0: 'zeros';
    specials: { pad: number; unk: number; sos: number; eos: number };
  };
  /** Sentences are lower-cased, then split on whitespace (lines) or into words and punctuation (text). */
  tokenizer: { level: 'word'; format: SentenceFormat; lowercase: true };
}

function bad(source: string, problem: string): never {
  throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: ${problem}`);
}

/** The config.json of a SentenceVAE whose sentences were read in `format`. */
export function sentenceVaeConfig(model: Readonly<SentenceVAEConfig>, format: SentenceFormat): SentenceVaeCheckpointConfig {
  return {
    format: CHECKPOINT_FORMAT,
    format_version: CHECKPOINT_FORMAT_VERSION,
    kind: 'sentence_vae',
    model: {
      vocab_size: model.vocabSize,
      embedding: model.embedding,
      hidden: model.hidden,
      latent: model.latent,
      layers: model.layers,
      cell: model.cell,
      bidirectional: model.bidirectional,
      word_dropout: model.wordDropout,
      embedding_dropout: model.embeddingDropout,
      max_length: model.maxLength,
      decoder_only: model.decoderOnly,
      lstm_c0: 'zeros',
      specials: { ...model.specials },
    },
    tokenizer: { level: 'word', format, lowercase: true },
  };
}

/** Checks a config of kind 'sentence_vae' (already through parseCheckpointConfig). */
export function parseSentenceVaeConfig(config: CheckpointConfig, source: string): SentenceVaeCheckpointConfig {
  if (config.kind !== 'sentence_vae') bad(source, `is a ${config.kind} checkpoint, not a sentence_vae checkpoint`);
  const m = config.model;
  for (const key of ['vocab_size', 'embedding', 'hidden', 'latent', 'layers'] as const) {
    const v = m[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) bad(source, `model.${key} must be a positive integer, got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  if (typeof m.max_length !== 'number' || !Number.isInteger(m.max_length) || m.max_length < 2) {
    bad(source, `model.max_length must be an integer >= 2, got ${JSON.stringify(m.max_length) ?? 'nothing'}`);
  }
  checkModelSizes(source, m, ['vocab_size', 'embedding', 'hidden', 'latent', 'layers', 'max_length']);
  if (!CELL_TYPES.includes(m.cell as CellType)) bad(source, `model.cell must be one of ${CELL_TYPES.join(', ')}, got ${JSON.stringify(m.cell) ?? 'nothing'}`);
  for (const key of ['bidirectional', 'decoder_only'] as const) {
    if (typeof m[key] !== 'boolean') bad(source, `model.${key} must be true or false, got ${JSON.stringify(m[key]) ?? 'nothing'}`);
  }
  for (const key of ['word_dropout', 'embedding_dropout'] as const) {
    const v = m[key];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) bad(source, `model.${key} must be a number in [0, 1], got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  if (m.lstm_c0 !== 'zeros') bad(source, `model.lstm_c0 must be "zeros" (the only initial cell state this version knows), got ${JSON.stringify(m.lstm_c0) ?? 'nothing'}`);
  const specials = m.specials as Record<string, unknown> | undefined;
  if (typeof specials !== 'object' || specials === null) bad(source, 'model.specials must be an object {pad, unk, sos, eos}');
  for (const name of ['pad', 'unk', 'sos', 'eos']) {
    const id = specials[name];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= (m.vocab_size as number)) {
      bad(source, `model.specials.${name} must be a token id in [0, ${String(m.vocab_size)}), got ${JSON.stringify(id) ?? 'nothing'}`);
    }
  }
  const t = config.tokenizer as Record<string, unknown>;
  if (t.level !== 'word') bad(source, `a sentence VAE reads words: tokenizer.level must be "word", got ${JSON.stringify(t.level)}`);
  if (!SENTENCE_FORMATS.includes(t.format as SentenceFormat)) bad(source, `tokenizer.format must be one of ${SENTENCE_FORMATS.join(', ')}, got ${JSON.stringify(t.format) ?? 'nothing'}`);
  return config as SentenceVaeCheckpointConfig;
}

/** The SentenceVAE constructor's config for a checked config.json. */
export function sentenceVaeConfigOf(config: SentenceVaeCheckpointConfig): SentenceVAEConfig {
  const m = config.model;
  return {
    vocabSize: m.vocab_size,
    embedding: m.embedding,
    hidden: m.hidden,
    latent: m.latent,
    layers: m.layers,
    cell: m.cell,
    bidirectional: m.bidirectional,
    wordDropout: m.word_dropout,
    embeddingDropout: m.embedding_dropout,
    maxLength: m.max_length,
    specials: { pad: m.specials.pad, unk: m.specials.unk, sos: m.specials.sos, eos: m.specials.eos },
    decoderOnly: m.decoder_only,
  };
}

/** PyTorch state_dict names and shapes of a sentence VAE, from its config.json alone. */
export function sentenceVaeWeightShapes(config: SentenceVaeCheckpointConfig): Map<string, ExpectedTensor> {
  const { vocab_size: V, embedding: E, hidden: H, latent: Z, layers: L, cell, bidirectional, decoder_only } = config.model;
  const D = bidirectional ? 2 : 1;
  const features = H * D * L;
  const out = new Map<string, ExpectedTensor>();
  out.set('embedding.weight', { shape: [V, E], why: `vocab_size ${V}, embedding ${E}` });
  if (!decoder_only) rnnWeightShapes(out, 'encoder_rnn', cell, E, H, L, D);
  rnnWeightShapes(out, 'decoder_rnn', cell, E, H, L, 1);
  if (!decoder_only) {
    for (const name of ['hidden2mean', 'hidden2logv']) {
      out.set(`${name}.weight`, { shape: [Z, features], why: `latent ${Z}, hidden ${H} x ${D} directions x ${L} layers` });
      out.set(`${name}.bias`, { shape: [Z], why: `latent ${Z}` });
    }
    out.set('latent2hidden.weight', { shape: [H * L, Z], why: `hidden ${H} x ${L} decoder layers, latent ${Z}` });
    out.set('latent2hidden.bias', { shape: [H * L], why: `hidden ${H} x ${L} decoder layers` });
  }
  out.set('outputs2vocab.weight', { shape: [V, H], why: `vocab_size ${V}, hidden ${H}` });
  out.set('outputs2vocab.bias', { shape: [V], why: `vocab_size ${V}` });
  return out;
}

/**
 * Writes `model` with its vocabulary as a checkpoint folder (atomically; see saveCheckpoint), and
 * with `trainer` the state a resumed run needs (trainer.json, optimizer.safetensors).
 */
export function saveSentenceVae(dir: string, model: SentenceVAE, vocab: SentenceVocab, format: SentenceFormat, trainer?: CheckpointContents['trainer']): void {
  const config = sentenceVaeConfig(model.config, format);
  const weights = new Map<string, SafeTensor>();
  for (const [name, t] of model.stateDict()) weights.set(name, toSafeTensor(t));
  checkWeights(weights, sentenceVaeWeightShapes(config), `saveSentenceVae(${dir})`, 'ERR_RNNLM_ARGUMENT', false);
  saveCheckpoint(dir, { config, vocab: vocab.toJSON(), weights, ...(trainer === undefined ? {} : { trainer }) });
}

export interface LoadSentenceVaeOptions {
  device?: Device;
  /** The model's generator (noise, dropout); default a fresh one. */
  generator?: Generator;
  /** For a run folder: its 'best' (default) or 'last' checkpoint. */
  prefer?: 'best' | 'last';
}

export interface LoadedSentenceVae {
  /** In eval mode. */
  model: SentenceVAE;
  vocab: SentenceVocab;
  config: SentenceVaeCheckpointConfig;
  /** The checkpoint folder that was read, absolute. */
  dir: string;
}

/**
 * Loads a sentence VAE from a checkpoint folder or a run folder (its best checkpoint), checking
 * config.json, vocab.json (level, size, the four specials where config.json says) and every
 * tensor name and shape (ERR_RNNLM_CHECKPOINT naming the file). Float tensors may be F32, F64
 * (rounded to float32), F16 or BF16 (widened exactly).
 */
export function loadSentenceVae(path: string, options: LoadSentenceVaeOptions = {}): LoadedSentenceVae {
  const dir = resolveCheckpointDir(path, options.prefer ?? 'best');
  const checkpoint = readCheckpoint(dir, { kind: 'sentence_vae', trainer: false });
  const configPath = join(dir, CONFIG_FILE);
  const config = parseSentenceVaeConfig(checkpoint.config, configPath);
  const vocabPath = join(dir, VOCAB_FILE);
  const vocab = SentenceVocab.fromJSON(checkpoint.vocab, vocabPath);
  for (const name of ['pad', 'unk', 'sos', 'eos'] as const) {
    if (vocab.specials[name] !== config.model.specials[name]) {
      bad(vocabPath, `special "${name}" is id ${vocab.specials[name]} but ${CONFIG_FILE} says ${config.model.specials[name]}`);
    }
  }
  checkWeights(checkpoint.weights, sentenceVaeWeightShapes(config), `${join(dir, MODEL_FILE)} does not match its ${CONFIG_FILE}`, 'ERR_RNNLM_CHECKPOINT');
  // The constructor's random weights are overwritten below; a private generator keeps loading
  // from moving the caller's random stream.
  const model = new SentenceVAE(sentenceVaeConfigOf(config), { generator: options.generator ?? new Generator() });
  try {
    tidy(() => {
      const state = new Map<string, Tensor>();
      for (const [name, t] of checkpoint.weights) state.set(name, fromSafeTensor(t, `${dir}/${MODEL_FILE}: '${name}'`));
      model.loadStateDict(state);
    });
    if (options.device !== undefined && options.device !== 'cpu') model.to(options.device);
  } catch (error) {
    model.dispose();
    throw error;
  }
  model.eval();
  return { model, vocab, config, dir };
}
