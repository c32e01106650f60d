// The classification loss: cross-entropy, optionally class-weighted as PyTorch's
// nn.CrossEntropyLoss(weight=w): sum_i w[y_i] * nll_i / sum_i w[y_i]. The engine's fused
// softmax-NLL has no weight argument, so the weighted mean is built from differentiable ops:
// one summed softmax-NLL per class present in the batch, over that class's rows, scaled by its
// weight. That is C small calls at most, and the logits' gradient stays exact.
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import { fromInt32Array, tidy, type Tensor } from '../tensor.js';

/** 'balanced' weights as scikit-learn's: n_examples / (n_classes * n_examples_of_class). */
export function balancedClassWeights(labels: ArrayLike<number>, numClasses: number): Float32Array {
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]! += 1;
  const present = counts.filter((c) => c > 0).length;
  const weights = new Float32Array(numClasses);
  // A class absent from the training labels never appears as a target: its weight is moot, 0.
  for (let c = 0; c < numClasses; c++) weights[c] = counts[c]! > 0 ? labels.length / (present * counts[c]!) : 0;
  return weights;
}

/**
 * Mean cross-entropy of `logits` (B, C) against class ids `targets` (B), weighted by
 * `classWeights` (C) when given. Returns a 0-d loss on the logits' device.
 */
export function classificationLoss(logits: Tensor, targets: Int32Array, classWeights: Float32Array | null = null): Tensor {
  if (logits.ndim !== 2 || logits.shape[0] !== targets.length) {
    throw rnnlmError('ERR_RNNLM_SHAPE', `classificationLoss: logits must be (${targets.length}, C), got [${logits.shape.join(', ')}]`);
  }
  const numClasses = logits.shape[1]!;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= numClasses) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `classificationLoss: target ${i} is ${t}, outside [0, ${numClasses})`);
    }
  }
  const device = logits.device;
  if (classWeights === null) {
    return tidy(() => F.crossEntropy(logits, fromInt32Array(targets, [targets.length], { device })));
  }
  if (classWeights.length !== numClasses) {
    throw rnnlmError('ERR_RNNLM_SHAPE', `classificationLoss: ${classWeights.length} class weights for ${numClasses} classes`);
  }
  const rowsOf = new Map<number, number[]>();
  let total = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    let rows = rowsOf.get(t);
    if (rows === undefined) rowsOf.set(t, (rows = []));
    rows.push(i);
    total += classWeights[t]!;
  }
  if (!(total > 0)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', 'classificationLoss: the targets of this batch all have weight 0');
  }
  return tidy(() => {
    let sum: Tensor | null = null;
    for (const [c, rows] of [...rowsOf].sort((a, b) => a[0] - b[0])) {
      const w = classWeights[c]!;
      if (w === 0) continue;
      const part = F.gatherRows(logits, rows); // (n_c, C)
      const targetsOf = fromInt32Array(new Int32Array(rows.length).fill(c), [rows.length], { device });
      const { loss, count } = F.softmaxNll(part, targetsOf, { reduction: 'sum' });
      count.dispose();
      const term = F.scale(loss, w / total);
      sum = sum === null ? term : F.add(sum, term);
    }
    return sum!;
  });
}
