// SGD with optional momentum, dampening, Nesterov momentum and L2 weight decay, as torch.optim.SGD.
import { rnnlmError } from '../errors.js';
import { native } from '../native.js';
import type { Tensor } from '../tensor.js';
import {
  Optimizer,
  booleanParam,
  checkNonNegative,
  numberParam,
  type Hyperparameters,
  type ParamState,
} from './optimizer.js';

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  momentum = 0;
  dampening = 0;
  weightDecay = 0;
  nesterov = false;

  constructor(params: Iterable<Tensor>, options: SGDOptions = {}) {
    super(params, options.lr ?? 1e-3);
    this.setHyperparameters({
      lr: this.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
    });
  }

  get name(): string {
    return 'SGD';
  }

  hyperparameters(): Hyperparameters {
    return { lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }

  protected setHyperparameters(values: Hyperparameters): void {
    const lr = numberParam(values, 'lr');
    const momentum = numberParam(values, 'momentum');
    const dampening = numberParam(values, 'dampening');
    const weightDecay = numberParam(values, 'weightDecay');
    const nesterov = booleanParam(values, 'nesterov');
    checkNonNegative('lr', lr);
    checkNonNegative('momentum', momentum);
    checkNonNegative('weightDecay', weightDecay);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', 'Nesterov momentum requires a momentum and zero dampening');
    }
    this.lr = lr;
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  protected bufferNames(h: Hyperparameters): string[] {
    return numberParam(h, 'momentum') !== 0 ? ['momentum_buffer'] : [];
  }

  protected update(param: Tensor, grad: Tensor, state: ParamState): void {
    const buffer = this.momentum !== 0 ? state.buffers['momentum_buffer']! : null;
    native().sgdStep_(param._native(), grad._native(), buffer !== null ? buffer._native() : null, {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      step: state.step,
    });
  }
}
