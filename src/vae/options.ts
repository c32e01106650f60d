// The options of a sentence-VAE training run. The defaults are the PyTorch reference's
// (timbmg/Sentence-VAE train.py): GRU, embedding 300, hidden 256, latent 16, one layer, Adam
// 1e-3, batch 32, max length 60, logistic KL annealing k = 0.0025, x0 = 2500, embedding dropout
// 0.5, word dropout 0, words seen once become <unk> (its --min_occ 1 keeps words seen more than
// once, i.e. our minCount 2), no gradient clipping.
import { checkElements, checkSizes } from '../limits/model_plan.js';
import { rnnlmError } from '../errors.js';
import { CELL_TYPES, type CellType } from '../models/language_model.js';
import type { DeviceRequest } from '../runtime.js';
import { ANNEAL_KINDS, type AnnealKind } from './anneal.js';
import { SENTENCE_FORMATS, type SentenceFormat } from './sentences.js';

export interface VaeTrainOptions {
  /** Training sentences (a file or folder); null: the bundled Moby Dick. */
  data: string | null;
  /** Validation sentences; null: the last validFraction of the training sentences. */
  valid: string | null;
  validFraction: number;
  /** How files are read; null: 'lines' for --data files, 'text' for the bundled book. */
  format: SentenceFormat | null;
  cell: CellType;
  embedding: number;
  hidden: number;
  latent: number;
  layers: number;
  bidirectional: boolean;
  wordDropout: number;
  embeddingDropout: number;
  anneal: AnnealKind;
  k: number;
  x0: number;
  batch: number;
  maxLength: number;
  minCount: number;
  epochs: number;
  lr: number;
  /** Global gradient-norm limit; 0 (default) turns clipping off, as the reference. */
  clip: number;
  /** Probability of feeding the true previous word to the decoder (training and validation). */
  teacherForcing: number;
  /** The plain LM baseline: the decoder alone, from a zero state (no encoder, no KL). */
  decoderOnly: boolean;
  /** A 'train_steps' metrics record (and progress line) every this many steps. */
  logEvery: number;
  seed: number;
  device: DeviceRequest;
}

export const VAE_DEFAULTS: VaeTrainOptions = {
  data: null,
  valid: null,
  validFraction: 0.05,
  format: null,
  cell: 'gru',
  embedding: 300,
  hidden: 256,
  latent: 16,
  layers: 1,
  bidirectional: false,
  wordDropout: 0,
  embeddingDropout: 0.5,
  anneal: 'logistic',
  k: 0.0025,
  x0: 2500,
  batch: 32,
  maxLength: 60,
  minCount: 2,
  epochs: 10,
  lr: 1e-3,
  clip: 0,
  teacherForcing: 1,
  decoderOnly: false,
  logEvery: 50,
  seed: 1,
  device: 'auto',
};

function fail(message: string): never {
  throw rnnlmError('ERR_RNNLM_ARGUMENT', message);
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) fail(`${name} must be a positive integer, got ${v}`);
}

function unit(name: string, v: number, openHigh = false): void {
  if (!Number.isFinite(v) || v < 0 || (openHigh ? v >= 1 : v > 1)) fail(`${name} must be in [0, 1${openHigh ? ')' : ']'}, got ${v}`);
}

export function checkVaeOptions(o: VaeTrainOptions): void {
  if (!CELL_TYPES.includes(o.cell)) fail(`cell must be one of ${CELL_TYPES.join(', ')}, got '${String(o.cell)}'`);
  if (!ANNEAL_KINDS.includes(o.anneal)) fail(`anneal must be one of ${ANNEAL_KINDS.join(', ')}, got '${String(o.anneal)}'`);
  if (o.format !== null && !SENTENCE_FORMATS.includes(o.format)) fail(`format must be one of ${SENTENCE_FORMATS.join(', ')}, got '${String(o.format)}'`);
  for (const key of ['embedding', 'hidden', 'latent', 'layers', 'batch', 'minCount', 'epochs', 'logEvery'] as const) positiveInt(key, o[key]);
  if (!Number.isInteger(o.maxLength) || o.maxLength < 2) fail(`maxLength must be an integer >= 2 (a word and <eos>), got ${o.maxLength}`);
  checkSizes('vae train', { embedding: o.embedding, hidden: o.hidden, latent: o.latent, layers: o.layers, batch: o.batch, maxLength: o.maxLength }, 'layers');
  checkElements('vae train', `a batch of ${o.batch} x ${o.maxLength} token ids`, o.batch * o.maxLength);
  if (!Number.isInteger(o.seed) || o.seed < 0) fail(`seed must be a non-negative integer, got ${o.seed}`);
  unit('wordDropout', o.wordDropout);
  unit('embeddingDropout', o.embeddingDropout, true);
  unit('teacherForcing', o.teacherForcing);
  unit('validFraction', o.validFraction, true);
  if (o.valid === null && o.validFraction <= 0) fail('without --valid, the validation fraction must be > 0');
  if (!Number.isFinite(o.k) || o.k <= 0) fail(`k must be a positive number, got ${o.k}`);
  if (!Number.isFinite(o.x0) || o.x0 <= 0) fail(`x0 must be a positive number of steps, got ${o.x0}`);
  if (!Number.isFinite(o.lr) || o.lr <= 0) fail(`lr must be a positive number, got ${o.lr}`);
  if (!Number.isFinite(o.clip) || o.clip < 0) fail(`clip must be >= 0 (0 turns it off), got ${o.clip}`);
  if (typeof o.bidirectional !== 'boolean' || typeof o.decoderOnly !== 'boolean') fail('bidirectional and decoderOnly must be booleans');
}
