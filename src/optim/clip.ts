// Gradient-norm utilities, as torch.nn.utils.clip_grad_norm_: the global L2 norm over every
// gradient, scaled by min(1, maxNorm / (norm + 1e-6)) in one engine call.
import { rnnlmError } from '../errors.js';
import { native } from '../native.js';
import { fromHandle, type Tensor } from '../tensor.js';

function gradsOf(params: Iterable<Tensor>): Tensor[] {
  const grads: Tensor[] = [];
  for (const p of params) if (p.grad !== null && !p.grad.isDisposed) grads.push(p.grad);
  return grads;
}

function checkMaxNorm(maxNorm: number): void {
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `maxNorm must be a non-negative number, got ${maxNorm}`);
  }
}

/**
 * Clips the gradients of `params` in place to a global L2 norm of at most `maxNorm`; returns the
 * norm before clipping (0 when no parameter has a gradient). Reads one number back from the
 * device; clipGradNormTensor avoids that.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  const norm = clipGradNormTensor(params, maxNorm);
  try {
    return norm.item();
  } finally {
    norm.dispose();
  }
}

/** clipGradNorm returning the norm as a 0-d tensor on the gradients' device. */
export function clipGradNormTensor(params: Iterable<Tensor>, maxNorm: number): Tensor {
  checkMaxNorm(maxNorm);
  const grads = gradsOf(params);
  if (grads.length === 0) return fromHandle(native().zeros([], 'float32', 'cpu'), []);
  const norm = native().clipGradNorm_(grads.map((g) => g._native()), maxNorm);
  const view = norm.reshape([]);
  norm.dispose();
  return fromHandle(view, []);
}

/** The global L2 norm of `tensors`, as a 0-d tensor (not differentiable). */
export function globalNorm(tensors: readonly Tensor[]): Tensor {
  const norm = native().globalNorm(tensors.map((t) => t._native()));
  const view = norm.reshape([]);
  norm.dispose();
  return fromHandle(view, []);
}
