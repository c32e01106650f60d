// Classification metrics from a confusion matrix: accuracy, per-class precision, recall and F1,
// and their unweighted mean over classes (macro-F1), as scikit-learn's f1_score(average='macro')
// computes it: over the classes that occur in the true labels or the predictions, with 0 for a
// class that is never predicted correctly (no division by zero).
import { rnnlmError } from '../errors.js';

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Examples whose true label is this class. */
  support: number;
}

export interface ClassificationReport {
  examples: number;
  accuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[t][p]: examples of true class t predicted as p. */
  confusion: number[][];
  labels: string[];
}

/** confusion[t][p] counts of examples with true class t predicted as p. */
export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, numClasses: number): number[][] {
  if (truth.length !== predicted.length) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `confusionMatrix: ${truth.length} true labels but ${predicted.length} predictions`);
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `confusionMatrix: class ids ${t}, ${p} at ${i} are outside [0, ${numClasses})`);
    }
    m[t]![p]! += 1;
  }
  return m;
}

/** Accuracy, macro-F1 and per-class figures of a confusion matrix (rows true, columns predicted). */
export function classificationReport(confusion: readonly (readonly number[])[], labels: readonly string[]): ClassificationReport {
  const c = labels.length;
  if (confusion.length !== c || confusion.some((row) => row.length !== c)) {
    throw rnnlmError('ERR_RNNLM_SHAPE', `classificationReport: the confusion matrix must be ${c} x ${c}`);
  }
  let total = 0;
  let correct = 0;
  const perClass: ClassMetrics[] = [];
  let f1Sum = 0;
  let f1Count = 0;
  for (let k = 0; k < c; k++) {
    let support = 0;
    let predictedAs = 0;
    for (let j = 0; j < c; j++) {
      support += confusion[k]![j]!;
      predictedAs += confusion[j]![k]!;
    }
    const tp = confusion[k]![k]!;
    total += support;
    correct += tp;
    const precision = predictedAs > 0 ? tp / predictedAs : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ label: labels[k]!, precision, recall, f1, support });
    if (support > 0 || predictedAs > 0) {
      f1Sum += f1;
      f1Count += 1;
    }
  }
  return {
    examples: total,
    accuracy: total > 0 ? correct / total : 0,
    macroF1: f1Count > 0 ? f1Sum / f1Count : 0,
    perClass,
    confusion: confusion.map((row) => [...row]),
    labels: [...labels],
  };
}
