// Linear: y = x W^T + b with PyTorch's default initialisation, weight and bias both
// U(-1/sqrt(in), 1/sqrt(in)).
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import { defaultGenerator, uniform_, type Generator } from '../random.js';
import { zeros, type Tensor } from '../tensor.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  generator?: Generator;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `Linear: ${name} must be a positive integer, got ${v}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.hasBias = options.bias ?? true;
    const generator = options.generator ?? defaultGenerator;
    const bound = 1 / Math.sqrt(inFeatures);
    this.registerParameter('weight', uniform_(zeros([outFeatures, inFeatures]), -bound, bound, generator));
    if (this.hasBias) this.registerParameter('bias', uniform_(zeros([outFeatures]), -bound, bound, generator));
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  get bias(): Tensor | null {
    return this.hasBias ? this.param('bias') : null;
  }

  /** x (..., inFeatures) -> (..., outFeatures). */
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}
