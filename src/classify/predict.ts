// Inference with a SequenceClassifier: class probabilities for texts (predict), and the metrics
// of a labelled data set (eval). Both run in eval mode without recording a graph, in batches
// sorted by length so that packing wastes nothing.
import { noGrad } from '../autograd.js';
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import type { SequenceClassifier } from '../models/sequence_classifier.js';
import { tidy } from '../tensor.js';
import { sortedBatches } from './batches.js';
import { normalizeText, type Example } from './data.js';
import { classificationReport, confusionMatrix, type ClassificationReport } from './metrics.js';
import type { ClassifierVocab } from './vocab.js';

export const DEFAULT_EVAL_BATCH = 256;

export interface Prediction {
  label: string;
  probability: number;
}

export interface ClassifiedText {
  /** The text as classified (trimmed, NFC). */
  text: string;
  /** The `top` most probable labels, most probable first. */
  predictions: Prediction[];
  /** Characters not in the vocabulary, each read as <unk>. */
  unknown: string[];
}

/**
 * Log-probabilities (n, C) of each id sequence, in the given order, as a flat row-major array.
 * The model is switched to eval mode for the call and back to its mode after.
 */
export function classLogProbabilities(model: SequenceClassifier, sequences: readonly Int32Array[], batch = DEFAULT_EVAL_BATCH): Float32Array {
  const classes = model.config.numClasses;
  const out = new Float32Array(sequences.length * classes);
  if (sequences.length === 0) return out;
  const wasTraining = model.training;
  model.eval();
  try {
    const lengths = sequences.map((s) => s.length);
    const all = Array.from({ length: sequences.length }, (_, i) => i);
    for (const part of sortedBatches(all, lengths, batch)) {
      const rows = noGrad(() =>
        tidy(() => F.logSoftmax(model.forwardIds(part.map((i) => sequences[i]!))).toFloat32Array()),
      );
      part.forEach((i, r) => out.set(rows.subarray(r * classes, (r + 1) * classes), i * classes));
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}

function encodeAll(vocab: ClassifierVocab, texts: readonly string[]): { ids: Int32Array[]; unknown: string[][] } {
  const ids: Int32Array[] = [];
  const unknown: string[][] = [];
  texts.forEach((raw, i) => {
    if (typeof raw !== 'string') throw rnnlmError('ERR_RNNLM_ARGUMENT', `text ${i} is not a string`, 'type');
    const text = normalizeText(raw);
    if (text === '') {
      const which = texts.length > 1 ? `text ${i + 1} of ${texts.length}` : 'the text';
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `${which} is empty (or only spaces): there is nothing to classify`);
    }
    const e = vocab.encode(text);
    ids.push(e.ids);
    unknown.push(e.unknown);
  });
  return { ids, unknown };
}

/**
 * The `top` (default 1) most probable labels of each text with their probabilities. Texts are
 * trimmed and put in NFC; characters the model never saw are read as <unk> (and listed); an
 * empty text is ERR_RNNLM_ARGUMENT.
 */
export function classifyTexts(
  model: SequenceClassifier,
  vocab: ClassifierVocab,
  labels: readonly string[],
  texts: readonly string[],
  options: { top?: number; batch?: number } = {},
): ClassifiedText[] {
  const classes = model.config.numClasses;
  if (labels.length !== classes) throw rnnlmError('ERR_RNNLM_ARGUMENT', `classifyTexts: ${labels.length} labels for ${classes} classes`);
  const top = options.top ?? 1;
  if (!Number.isInteger(top) || top < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `top must be a positive integer, got ${top}`);
  const { ids, unknown } = encodeAll(vocab, texts);
  const logp = classLogProbabilities(model, ids, options.batch);
  return texts.map((text, i) => {
    const row = Array.from(logp.subarray(i * classes, (i + 1) * classes), (v, c) => ({ c, p: Math.exp(v) }));
    // Highest probability first; ties by class id, so the order never depends on the sort.
    row.sort((a, b) => b.p - a.p || a.c - b.c);
    return {
      text: normalizeText(text),
      predictions: row.slice(0, Math.min(top, classes)).map((r) => ({ label: labels[r.c]!, probability: r.p })),
      unknown: unknown[i]!,
    };
  });
}

export interface EvaluationResult extends ClassificationReport {
  /** Mean cross-entropy (nats) of the true labels. */
  loss: number;
  /** Predicted class of each example, in the examples' order. */
  predicted: Int32Array;
  /** Examples with at least one character outside the vocabulary. */
  examplesWithUnknown: number;
}

/** Accuracy, macro-F1, per-class figures, confusion matrix and mean loss over `examples`. */
export function evaluateClassifier(
  model: SequenceClassifier,
  vocab: ClassifierVocab,
  labels: readonly string[],
  examples: readonly Example[],
  options: { batch?: number } = {},
): EvaluationResult {
  const classes = model.config.numClasses;
  if (labels.length !== classes) throw rnnlmError('ERR_RNNLM_ARGUMENT', `evaluateClassifier: ${labels.length} labels for ${classes} classes`);
  if (examples.length === 0) throw rnnlmError('ERR_RNNLM_DATA', 'evaluateClassifier: no examples');
  const { ids, unknown } = encodeAll(vocab, examples.map((e) => e.text));
  const logp = classLogProbabilities(model, ids, options.batch);
  const predicted = new Int32Array(examples.length);
  const truth = new Int32Array(examples.length);
  let nll = 0;
  examples.forEach((e, i) => {
    if (!(e.label >= 0 && e.label < classes)) throw rnnlmError('ERR_RNNLM_ARGUMENT', `example ${i}: label ${e.label} is outside [0, ${classes})`);
    let best = 0;
    for (let c = 1; c < classes; c++) if (logp[i * classes + c]! > logp[i * classes + best]!) best = c;
    predicted[i] = best;
    truth[i] = e.label;
    nll -= logp[i * classes + e.label]!;
  });
  const report = classificationReport(confusionMatrix(truth, predicted, classes), labels);
  return { ...report, loss: nll / examples.length, predicted, examplesWithUnknown: unknown.filter((u) => u.length > 0).length };
}
