// One optimizer update, guarded the same way in every trainer: nothing is updated when the loss
// or the gradient norm is not finite, so RUN/last stays the last good state and the run stops
// with ERR_RNNLM_NAN.
import { existsSync } from 'node:fs';
import { backward } from '../autograd.js';
import { rnnlmError } from '../errors.js';
import { clipGradNorm, type Optimizer } from '../optim/index.js';
import { scale } from '../functional.js';
import { tidy, type Tensor } from '../tensor.js';
import type { Collective } from './data_parallel.js';

export interface StepForward<T> {
  /** The scalar that is minimised. */
  loss: Tensor;
  /** What the trainer keeps from the step, taken after the update (inside its tidy scope). */
  keep: () => T;
  /**
   * Targets the loss counted (0-d), read only when the loss is not finite: a mean over no targets
   * is NaN, and that is bad data (ERR_RNNLM_DATA "no tokens to score"), not a diverged run.
   */
  scored?: Tensor;
}

export interface StepResult<T> {
  loss: number;
  /** The norm before clipping; null without clipping. */
  gradNorm: number | null;
  kept: T;
}

/** A data-parallel step: the ranks and this rank's share of the step's normaliser (its examples / all ranks'). */
export interface StepCollective {
  collective: Collective;
  share: number;
}

/**
 * Zero the gradients, forward, backward, clip (when `clip` > 0), update. When the loss or the
 * norm is not finite, the gradients are zeroed again and `diverged(what)` is thrown, `what`
 * naming the bad value ("the loss is NaN").
 *
 * Data-parallel (`parallel`): the ranks agree on the loss first (the share-weighted sum, NaN on
 * every rank when it is on one, so all take the same branch), each backpropagates its loss times
 * its share, and the gradients are summed across ranks before clipping: every rank then clips by
 * the same global norm and takes the same update.
 */
export function guardedStep<T>(
  optimizer: Optimizer,
  params: Iterable<Tensor>,
  clip: number,
  forward: () => StepForward<T>,
  diverged: (what: string) => Error,
  parallel: StepCollective | null = null,
): StepResult<T> {
  const paramList = [...params];
  const result = tidy(() => {
    optimizer.zeroGrad();
    const out = forward();
    let loss = out.loss.item();
    if (!Number.isFinite(loss) && out.scored !== undefined && out.scored.item() === 0) {
      throw rnnlmError('ERR_RNNLM_DATA', 'no tokens to score: every target of this batch is the ignore index; nothing was updated');
    }
    if (parallel !== null) {
      const finite = Number.isFinite(loss);
      const [weighted = Number.NaN, bad = 1] = parallel.collective.allReduceNumbers([finite ? loss * parallel.share : 0, finite ? 0 : 1]);
      loss = bad > 0 ? Number.NaN : weighted;
    }
    if (!Number.isFinite(loss)) return { loss, gradNorm: null, ok: false as const };
    if (parallel === null) {
      backward(out.loss);
    } else {
      backward(scale(out.loss, parallel.share));
      parallel.collective.allReduceSum_(paramList.map((p) => gradientOf(p)));
    }
    const gradNorm = clip > 0 ? clipGradNorm(paramList, clip) : null;
    if (gradNorm !== null && !Number.isFinite(gradNorm)) return { loss, gradNorm, ok: false as const };
    optimizer.step();
    return { loss, gradNorm, ok: true as const, kept: out.keep() };
  });
  if (!result.ok) {
    optimizer.zeroGrad();
    throw diverged(Number.isFinite(result.loss) ? `the gradient norm is ${result.gradNorm}` : `the loss is ${result.loss}`);
  }
  return { loss: result.loss, gradNorm: result.gradNorm, kept: result.kept };
}

// Every parameter of the three models receives a gradient each step; a missing one would leave
// the ranks reducing lists of different lengths.
function gradientOf(p: Tensor): Tensor {
  if (p.grad === null) throw rnnlmError('ERR_RNNLM_INTERNAL', 'data-parallel step: a parameter received no gradient');
  return p.grad;
}

/**
 * ERR_RNNLM_NAN for a run that diverged: `what` happened; RUN/last (`lastDir`, when given and
 * already written) holds the last good state.
 */
export function divergedError(what: string, lastDir: string | null): Error {
  const kept = lastDir !== null && existsSync(lastDir) ? ` ${lastDir} holds the last good state.` : '';
  return rnnlmError('ERR_RNNLM_NAN', `training diverged: ${what}.${kept} Try a lower --lr or a --clip.`);
}
