// Optimizer: the shared bookkeeping of the optimizers (one parameter group): per-parameter state
// (step count and moment tensors, allocated on first use and kept outside tidy scopes),
// zeroGrad, and a state dict from which training resumes exactly.
import { noGrad } from '../autograd.js';
import { rnnlmError } from '../errors.js';
import { native } from '../native.js';
import { fromHandle, keep, zeros, type Tensor } from '../tensor.js';

export interface ParamState {
  /** Updates applied to this parameter. */
  step: number;
  /** Named state tensors (e.g. exp_avg, exp_avg_sq), shaped like the parameter. */
  buffers: Record<string, Tensor>;
}

export type Hyperparameters = Record<string, number | boolean>;

export interface OptimizerStateDict {
  /** The optimizer's class name ('Adam', 'AdamW', 'SGD', 'RMSprop'). */
  optimizer: string;
  hyperparameters: Hyperparameters;
  /** One entry per parameter, in order; null for parameters never updated. */
  state: (ParamState | null)[];
}

export abstract class Optimizer {
  readonly params: readonly Tensor[];
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  protected readonly state: (ParamState | null)[];

  constructor(params: Iterable<Tensor>, lr: number) {
    this.params = [...params];
    const seen = new Set<Tensor>();
    for (const p of this.params) {
      if (seen.has(p)) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'a parameter appears twice in the optimizer');
      seen.add(p);
      if (p.dtype !== 'float32') throw rnnlmError('ERR_RNNLM_DTYPE', 'optimizer parameters must be float32');
      if (!p.isLeaf) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'optimizer parameters must be leaf tensors');
    }
    checkNonNegative('lr', lr);
    this.lr = lr;
    this.state = this.params.map(() => null);
  }

  /** The class name recorded in state dicts. */
  abstract get name(): string;
  /** Every hyperparameter (lr included), as saved in state dicts. */
  abstract hyperparameters(): Hyperparameters;
  /** Validates all of `values`, then applies them (so a bad value changes nothing). */
  protected abstract setHyperparameters(values: Hyperparameters): void;
  /** The state tensors kept per parameter under hyperparameters `h`. */
  protected abstract bufferNames(h: Hyperparameters): string[];
  /** Applies one update to parameter i, whose state is `state` (step already incremented). */
  protected abstract update(param: Tensor, grad: Tensor, state: ParamState): void;

  /** Updates every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      this.params.forEach((p, i) => {
        if (p.grad === null || p.isDisposed) return;
        let state = this.state[i];
        if (state === null || state === undefined) {
          state = { step: 0, buffers: {} };
          this.state[i] = state;
        }
        // Buffers start at zero; one can appear later if a hyperparameter changes (momentum).
        for (const name of this.bufferNames(this.hyperparameters())) {
          state.buffers[name] ??= keep(zeros(p.shape, { device: p.device }));
        }
        state.step += 1;
        this.update(p, p.grad, state);
        p._version += 1;
      });
    });
  }

  /** Clears gradients: frees them (default, as PyTorch's set_to_none) or fills them with zeros. */
  zeroGrad(setToNone = true): void {
    for (const p of this.params) {
      if (p.grad === null) continue;
      if (setToNone) {
        p.grad.dispose();
        p.grad = null;
      } else {
        native().fill_(p.grad._native(), 0);
      }
    }
  }

  /**
   * Step counts and state tensors (the live ones: save them, do not dispose them) plus the
   * hyperparameters; loadStateDict() of it continues training exactly.
   */
  stateDict(): OptimizerStateDict {
    return {
      optimizer: this.name,
      hyperparameters: this.hyperparameters(),
      state: this.state.map((s) => (s === null ? null : { step: s.step, buffers: { ...s.buffers } })),
    };
  }

  /** Restores a state dict (copying its tensors to each parameter's device). */
  loadStateDict(dict: OptimizerStateDict): void {
    if (dict.optimizer !== this.name) {
      throw rnnlmError('ERR_RNNLM_STATE', `optimizer state is for ${dict.optimizer}, this is ${this.name}`);
    }
    if (dict.state.length !== this.params.length) {
      throw rnnlmError('ERR_RNNLM_STATE', `optimizer state has ${dict.state.length} parameters, this optimizer ${this.params.length}`);
    }
    // Validate all, then replace: a failed load leaves the optimizer as it was.
    const hyper = { ...this.hyperparameters(), ...dict.hyperparameters };
    const names = this.bufferNames(hyper);
    dict.state.forEach((s, i) => {
      if (s === null) return;
      const p = this.params[i]!;
      if (!Number.isInteger(s.step) || s.step < 0) throw rnnlmError('ERR_RNNLM_STATE', `parameter ${i}: bad step ${s.step}`);
      for (const name of names) {
        const t = s.buffers[name];
        if (t === undefined) throw rnnlmError('ERR_RNNLM_STATE', `parameter ${i}: missing state '${name}'`);
        if (t.isDisposed) throw rnnlmError('ERR_RNNLM_DISPOSED', `parameter ${i}: state '${name}' is disposed`);
        if (t.shape.length !== p.shape.length || t.shape.some((d, j) => d !== p.shape[j])) {
          throw rnnlmError(
            'ERR_RNNLM_SHAPE',
            `parameter ${i}: state '${name}' has shape [${t.shape.join(', ')}], the parameter [${p.shape.join(', ')}]`,
          );
        }
      }
    });
    this.setHyperparameters(hyper);
    this.disposeState();
    dict.state.forEach((s, i) => {
      if (s === null) return;
      const p = this.params[i]!;
      const buffers: Record<string, Tensor> = {};
      for (const name of names) {
        const source = s.buffers[name]!;
        const h = source.device === p.device ? native().clone(source._native()) : native().toDevice(source._native(), p.device);
        buffers[name] = keep(fromHandle(h, p.shape));
      }
      this.state[i] = { step: s.step, buffers };
    });
  }

  /** Frees the optimizer state (not the parameters). */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    this.state.forEach((s, i) => {
      if (s !== null) for (const t of Object.values(s.buffers)) t.dispose();
      this.state[i] = null;
    });
  }
}

export function checkNonNegative(name: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${name} must be a finite non-negative number, got ${value}`);
  }
}

export function checkUnitInterval(name: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${name} must be in [0, 1), got ${value}`);
  }
}

/** Reads hyperparameter `key` as a number (for setHyperparameters). */
export function numberParam(values: Hyperparameters, key: string): number {
  const v = values[key];
  if (typeof v !== 'number') throw rnnlmError('ERR_RNNLM_ARGUMENT', `hyperparameter ${key} must be a number`);
  return v;
}

/** Reads hyperparameter `key` as a boolean (for setHyperparameters). */
export function booleanParam(values: Hyperparameters, key: string): boolean {
  const v = values[key];
  if (typeof v !== 'boolean') throw rnnlmError('ERR_RNNLM_ARGUMENT', `hyperparameter ${key} must be a boolean`);
  return v;
}
