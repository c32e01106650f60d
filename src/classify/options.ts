// The settings of a classifier training run, their defaults and their checks. The defaults are
// the classic names-to-language recipe at a size a laptop CPU trains in a few minutes: a
// bidirectional GRU over character embeddings, Adam, length-bucketed batches.
import { checkSizes } from '../limits/model_plan.js';
import { rnnlmError } from '../errors.js';
import { CELL_TYPES, type CellType } from '../models/language_model.js';
import type { DeviceRequest } from '../runtime.js';

export type ClassWeighting = 'none' | 'balanced';
export const CLASS_WEIGHTINGS: readonly ClassWeighting[] = ['none', 'balanced'];

export interface ClassifierTrainOptions {
  /** A folder of LABEL.txt files or a CSV file. */
  data: string;
  /** CSV column headers. */
  textColumn: string;
  labelColumn: string;
  /** Share of every label held out for testing (stratified). */
  testFraction: number;
  cell: CellType;
  embedding: number;
  hidden: number;
  layers: number;
  bidirectional: boolean;
  /** On the final features, and between stacked layers. */
  dropout: number;
  batch: number;
  epochs: number;
  /** Adam's learning rate. */
  lr: number;
  weightDecay: number;
  /** Global gradient-norm limit; 0 turns clipping off. */
  clip: number;
  /** 'balanced' weighs each class's loss by n / (C * n_c) (scikit-learn's rule). */
  classWeights: ClassWeighting;
  /** Seeds the split, the initial weights, the batch order and the dropout masks. */
  seed: number;
  device: DeviceRequest;
}

export const CLASSIFIER_DEFAULTS: Omit<ClassifierTrainOptions, 'data'> = {
  textColumn: 'text',
  labelColumn: 'label',
  testFraction: 0.2,
  cell: 'gru',
  embedding: 64,
  hidden: 128,
  layers: 1,
  bidirectional: true,
  dropout: 0.3,
  batch: 64,
  epochs: 15,
  lr: 3e-3,
  weightDecay: 0,
  clip: 5,
  classWeights: 'none',
  seed: 1,
  device: 'auto',
};

function fail(message: string): never {
  throw rnnlmError('ERR_RNNLM_ARGUMENT', message);
}

/** Throws ERR_RNNLM_ARGUMENT naming the first bad setting. */
export function checkClassifierOptions(o: ClassifierTrainOptions): void {
  if (typeof o.data !== 'string' || o.data === '') fail('the training data must be given: a folder of LABEL.txt files or a CSV file (--data)');
  for (const key of ['embedding', 'hidden', 'layers', 'batch', 'epochs'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) fail(`${key} must be a positive integer, got ${o[key]}`);
  }
  checkSizes('classify train', { embedding: o.embedding, hidden: o.hidden, layers: o.layers, batch: o.batch }, 'layers');
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) fail(`seed must be a non-negative integer, got ${o.seed}`);
  if (!(o.testFraction > 0 && o.testFraction < 1)) fail(`testFraction must be in (0, 1), got ${o.testFraction}`);
  if (!(o.dropout >= 0 && o.dropout < 1)) fail(`dropout must be in [0, 1), got ${o.dropout}`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) fail(`lr must be a positive number, got ${o.lr}`);
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) fail(`weightDecay must be >= 0, got ${o.weightDecay}`);
  if (!(o.clip >= 0 && Number.isFinite(o.clip))) fail(`clip must be >= 0, got ${o.clip}`);
  if (!CELL_TYPES.includes(o.cell)) fail(`cell must be one of ${CELL_TYPES.join(', ')}, got '${String(o.cell)}'`);
  if (typeof o.bidirectional !== 'boolean') fail(`bidirectional must be true or false, got ${String(o.bidirectional)}`);
  if (!CLASS_WEIGHTINGS.includes(o.classWeights)) fail(`classWeights must be one of ${CLASS_WEIGHTINGS.join(', ')}, got '${String(o.classWeights)}'`);
  if (!['auto', 'cpu', 'cuda'].includes(o.device)) fail(`device must be auto, cpu or cuda, got '${String(o.device)}'`);
  for (const key of ['textColumn', 'labelColumn'] as const) {
    if (typeof o[key] !== 'string' || o[key].trim() === '') fail(`${key} must be a non-empty column name`);
  }
}
