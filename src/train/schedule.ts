// Learning-rate schedules as pure functions of the step, so that a resumed run recomputes the
// same rate from the saved step instead of carrying scheduler state.
import { rnnlmError } from '../errors.js';

export type ScheduleKind = 'constant' | 'step' | 'cosine';
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['constant', 'step', 'cosine'];

export interface ScheduleOptions {
  kind: ScheduleKind;
  /** The peak rate, reached at the end of warm-up. */
  lr: number;
  /** Linear warm-up from lr/warmup to lr over this many steps (0: none). */
  warmup: number;
  /** 'step': multiply by gamma every stepSize steps (counted after warm-up). */
  stepSize: number;
  gamma: number;
  /** 'cosine': the floor the rate decays to at totalSteps. */
  minLr: number;
  totalSteps: number;
}

export function checkSchedule(options: ScheduleOptions): void {
  if (!SCHEDULE_KINDS.includes(options.kind)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `schedule must be one of ${SCHEDULE_KINDS.join(', ')}, got '${String(options.kind)}'`);
  }
  const finiteNonNegative: [string, number][] = [['lr', options.lr], ['minLr', options.minLr], ['gamma', options.gamma]];
  for (const [name, v] of finiteNonNegative) {
    if (!Number.isFinite(v) || v < 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `${name} must be a finite non-negative number, got ${v}`);
  }
  if (!Number.isInteger(options.warmup) || options.warmup < 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `warmup must be a non-negative integer, got ${options.warmup}`);
  if (!Number.isInteger(options.stepSize) || options.stepSize < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `step size must be a positive integer, got ${options.stepSize}`);
}

/** The rate for 0-based `step` (the step about to be taken). */
export function learningRate(options: ScheduleOptions, step: number): number {
  const { lr, warmup } = options;
  if (step < warmup) return (lr * (step + 1)) / warmup;
  const after = step - warmup;
  switch (options.kind) {
    case 'constant':
      return lr;
    case 'step':
      return lr * options.gamma ** Math.floor(after / options.stepSize);
    case 'cosine': {
      const span = Math.max(1, options.totalSteps - warmup);
      const progress = Math.min(1, after / span);
      return options.minLr + (lr - options.minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
  }
}
