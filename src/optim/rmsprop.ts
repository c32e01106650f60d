// RMSprop (Hinton's lecture 6e), as torch.optim.RMSprop: optional centering, momentum and L2
// weight decay.
import { native, type NativeTensor } from '../native.js';
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

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
}

export class RMSprop extends Optimizer {
  alpha = 0.99;
  eps = 1e-8;
  weightDecay = 0;
  momentum = 0;
  centered = false;

  constructor(params: Iterable<Tensor>, options: RMSpropOptions = {}) {
    super(params, options.lr ?? 1e-2);
    this.setHyperparameters({
      lr: this.lr,
      alpha: options.alpha ?? 0.99,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      momentum: options.momentum ?? 0,
      centered: options.centered ?? false,
    });
  }

  get name(): string {
    return 'RMSprop';
  }

  hyperparameters(): Hyperparameters {
    return {
      lr: this.lr,
      alpha: this.alpha,
      eps: this.eps,
      weightDecay: this.weightDecay,
      momentum: this.momentum,
      centered: this.centered,
    };
  }

  protected setHyperparameters(values: Hyperparameters): void {
    const lr = numberParam(values, 'lr');
    const alpha = numberParam(values, 'alpha');
    const eps = numberParam(values, 'eps');
    const weightDecay = numberParam(values, 'weightDecay');
    const momentum = numberParam(values, 'momentum');
    const centered = booleanParam(values, 'centered');
    checkNonNegative('lr', lr);
    checkUnitInterval('alpha', alpha);
    checkNonNegative('eps', eps);
    checkNonNegative('weightDecay', weightDecay);
    checkNonNegative('momentum', momentum);
    this.lr = lr;
    this.alpha = alpha;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.momentum = momentum;
    this.centered = centered;
  }

  protected bufferNames(h: Hyperparameters): string[] {
    const names = ['square_avg'];
    if (numberParam(h, 'momentum') > 0) names.push('momentum_buffer');
    if (booleanParam(h, 'centered')) names.push('grad_avg');
    return names;
  }

  protected update(param: Tensor, grad: Tensor, state: ParamState): void {
    const optional = (name: string): NativeTensor | null => state.buffers[name]?._native() ?? null;
    native().rmspropStep_(
      param._native(),
      grad._native(),
      state.buffers['square_avg']!._native(),
      this.centered ? optional('grad_avg') : null,
      this.momentum > 0 ? optional('momentum_buffer') : null,
      {
        lr: this.lr,
        alpha: this.alpha,
        eps: this.eps,
        weightDecay: this.weightDecay,
        momentum: this.momentum,
        centered: this.centered,
      },
    );
  }
}
