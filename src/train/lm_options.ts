// The options of a language-model training run: defaults (a char-rnn that trains in a few
// minutes on a laptop CPU), validation, and which of them a resumed run may change.
import { rnnlmError } from '../errors.js';
import { CELL_TYPES, type CellType } from '../models/language_model.js';
import type { DeviceRequest } from '../runtime.js';
import { checkSchedule, type ScheduleKind } from './schedule.js';
import { checkElements, checkSizes } from '../limits/model_plan.js';

export type OptimizerKind = 'adam' | 'sgd' | 'rmsprop';
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['adam', 'sgd', 'rmsprop'];
export type TokenLevel = 'char' | 'word';

export interface LmTrainOptions {
  /** A UTF-8 file or a folder of them; null: the bundled Moby Dick. */
  data: string | null;
  /** A validation file; null: the last `validFraction` of the data. */
  valid: string | null;
  validFraction: number;
  level: TokenLevel;
  /** Word level: words seen fewer times become <unk>; at most maxVocab words are kept. */
  minCount: number;
  maxVocab: number | null;
  cell: CellType;
  embedding: number;
  hidden: number;
  layers: number;
  dropout: number;
  batch: number;
  seq: number;
  /** Parallel streams when scoring the validation text. */
  validBatch: number;
  optimizer: OptimizerKind;
  lr: number;
  /** SGD and RMSProp momentum. */
  momentum: number;
  weightDecay: number;
  /** Global gradient-norm limit; 0 turns clipping off. */
  clip: number;
  schedule: ScheduleKind;
  warmup: number;
  stepSize: number;
  gamma: number;
  minLr: number;
  /** Length of the run: steps, or epochs over the training text when steps is null. */
  steps: number | null;
  epochs: number | null;
  validEvery: number;
  /** Print a sample every N steps (0: never) of sampleLength tokens. */
  sampleEvery: number;
  sampleLength: number;
  /** Stop after this many validations without a new best (0: never). */
  patience: number;
  seed: number;
  device: DeviceRequest;
}

export const LM_DEFAULTS: LmTrainOptions = {
  data: null,
  valid: null,
  validFraction: 0.1,
  level: 'char',
  minCount: 1,
  maxVocab: null,
  cell: 'lstm',
  embedding: 64,
  hidden: 256,
  layers: 2,
  dropout: 0.2,
  batch: 32,
  seq: 64,
  validBatch: 32,
  optimizer: 'adam',
  lr: 2e-3,
  momentum: 0,
  weightDecay: 0,
  clip: 5,
  schedule: 'constant',
  warmup: 0,
  stepSize: 1000,
  gamma: 0.5,
  minLr: 0,
  steps: null,
  epochs: null,
  validEvery: 200,
  sampleEvery: 1000,
  sampleLength: 200,
  patience: 0,
  seed: 1,
  device: 'auto',
};

/** Steps when neither steps nor epochs is given. */
export const DEFAULT_STEPS = 2000;

/**
 * What `--resume` may change: the length of the run, how it reports, and the base learning rate
 * (continuing with a new lr is how a run is fine-tuned or rescued; the schedule applies to it from
 * the resumed step on). Never the model or the data.
 */
export const RESUMABLE_KEYS = ['steps', 'epochs', 'validEvery', 'sampleEvery', 'sampleLength', 'patience', 'device', 'lr'] as const;

function fail(message: string): never {
  throw rnnlmError('ERR_RNNLM_ARGUMENT', message);
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) fail(`${name} must be a positive integer, got ${v}`);
}

function nonNegativeInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) fail(`${name} must be a non-negative integer, got ${v}`);
}

function inRange(name: string, v: number, low: number, high: number, highOpen = true): void {
  if (!Number.isFinite(v) || v < low || (highOpen ? v >= high : v > high)) fail(`${name} must be in [${low}, ${high}${highOpen ? ')' : ']'}, got ${v}`);
}

export function checkLmOptions(o: LmTrainOptions): void {
  if (o.level !== 'char' && o.level !== 'word') fail(`level must be char or word, got '${String(o.level)}'`);
  if (!CELL_TYPES.includes(o.cell)) fail(`cell must be one of ${CELL_TYPES.join(', ')}, got '${String(o.cell)}'`);
  if (!OPTIMIZER_KINDS.includes(o.optimizer)) fail(`optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got '${String(o.optimizer)}'`);
  for (const key of ['embedding', 'hidden', 'layers', 'batch', 'seq', 'validBatch', 'minCount', 'validEvery', 'sampleLength'] as const) positiveInt(key, o[key]);
  for (const key of ['sampleEvery', 'patience'] as const) nonNegativeInt(key, o[key]);
  if (o.maxVocab !== null) positiveInt('maxVocab', o.maxVocab);
  checkSizes('train', { embedding: o.embedding, hidden: o.hidden, layers: o.layers, batch: o.batch, seq: o.seq, validBatch: o.validBatch, ...(o.maxVocab === null ? {} : { maxVocab: o.maxVocab }) }, 'layers');
  checkElements('train', `a batch of ${o.batch} x ${o.seq} token ids`, o.batch * o.seq);
  checkElements('train', `a validation batch of ${o.validBatch} x ${o.seq} token ids`, o.validBatch * o.seq);
  if (o.steps !== null) positiveInt('steps', o.steps);
  if (o.epochs !== null) positiveInt('epochs', o.epochs);
  nonNegativeInt('seed', o.seed);
  inRange('dropout', o.dropout, 0, 1);
  inRange('validFraction', o.validFraction, 0, 1);
  inRange('momentum', o.momentum, 0, 1);
  if (!Number.isFinite(o.lr) || o.lr <= 0) fail(`lr must be a positive number, got ${o.lr}`);
  if (!Number.isFinite(o.clip) || o.clip < 0) fail(`clip must be >= 0 (0 turns it off), got ${o.clip}`);
  if (!Number.isFinite(o.weightDecay) || o.weightDecay < 0) fail(`weight decay must be >= 0, got ${o.weightDecay}`);
  if (o.valid === null && o.validFraction <= 0) fail('without --valid, the validation fraction must be > 0');
  checkSchedule({ kind: o.schedule, lr: o.lr, warmup: o.warmup, stepSize: o.stepSize, gamma: o.gamma, minLr: o.minLr, totalSteps: 1 });
}
