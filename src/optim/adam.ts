// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), as torch.optim.Adam / AdamW:
// bias-corrected moments, L2 weight decay added to the gradient (Adam) or decoupled (AdamW).
import { native } from '../native.js';
import type { Tensor } from '../tensor.js';
import {
  Optimizer,
  booleanParam,
  checkNonNegative,
  checkUnitInterval,
  numberParam,
  type Hyperparameters,
  type ParamState,
} from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  /** AdamW's decoupled weight decay (p -= lr * wd * p) instead of L2 in the gradient. */
  decoupledWeightDecay?: boolean;
}

export class Adam extends Optimizer {
  beta1 = 0.9;
  beta2 = 0.999;
  eps = 1e-8;
  weightDecay = 0;
  decoupledWeightDecay = false;

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, options.lr ?? 1e-3);
    this.setHyperparameters({
      lr: this.lr,
      beta1: options.betas?.[0] ?? 0.9,
      beta2: options.betas?.[1] ?? 0.999,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      decoupledWeightDecay: options.decoupledWeightDecay ?? false,
    });
  }

  get name(): string {
    return 'Adam';
  }

  hyperparameters(): Hyperparameters {
    return {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      decoupledWeightDecay: this.decoupledWeightDecay,
    };
  }

  protected setHyperparameters(values: Hyperparameters): void {
    const lr = numberParam(values, 'lr');
    const beta1 = numberParam(values, 'beta1');
    const beta2 = numberParam(values, 'beta2');
    const eps = numberParam(values, 'eps');
    const weightDecay = numberParam(values, 'weightDecay');
    const decoupled = booleanParam(values, 'decoupledWeightDecay');
    checkNonNegative('lr', lr);
    checkUnitInterval('beta1', beta1);
    checkUnitInterval('beta2', beta2);
    checkNonNegative('eps', eps);
    checkNonNegative('weightDecay', weightDecay);
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.decoupledWeightDecay = decoupled;
  }

  protected bufferNames(): string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected update(param: Tensor, grad: Tensor, state: ParamState): void {
    native().adamStep_(param._native(), grad._native(), state.buffers['exp_avg']!._native(), state.buffers['exp_avg_sq']!._native(), {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      decoupledWeightDecay: this.decoupledWeightDecay,
      step: state.step,
    });
  }
}

/** Adam with decoupled weight decay (default 0.01, as torch.optim.AdamW). */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: Omit<AdamOptions, 'decoupledWeightDecay'> = {}) {
    super(params, { weightDecay: 1e-2, ...options, decoupledWeightDecay: true });
  }

  override get name(): string {
    return 'AdamW';
  }
}
