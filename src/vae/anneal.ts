// KL annealing (Bowman et al. 2016): the KL term's weight rises from 0 to 1 over training, so
// that the decoder first learns to use z before the KL pressure pushes q(z|x) to the prior.
import { rnnlmError } from '../errors.js';

export type AnnealKind = 'logistic' | 'linear' | 'none';
export const ANNEAL_KINDS: readonly AnnealKind[] = ['logistic', 'linear', 'none'];

export interface AnnealOptions {
  kind: AnnealKind;
  /** Logistic steepness. */
  k: number;
  /** Logistic midpoint (weight 0.5), or the linear ramp's length, in optimizer steps. */
  x0: number;
}

/**
 * The KL weight at optimizer step `step` (0-based: the steps taken before this one), as the
 * reference: logistic 1 / (1 + e^(-k (step - x0))), linear min(1, step / x0), none 1.
 */
export function klWeight(options: AnnealOptions, step: number): number {
  switch (options.kind) {
    case 'logistic':
      return 1 / (1 + Math.exp(-options.k * (step - options.x0)));
    case 'linear':
      return Math.min(1, step / options.x0);
    case 'none':
      return 1;
    default:
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `anneal must be one of ${ANNEAL_KINDS.join(', ')}, got '${String(options.kind)}'`);
  }
}
