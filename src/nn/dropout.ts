// Dropout: active in training mode only (eval() makes it the identity).
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import { defaultGenerator, type Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

export class Dropout extends Module {
  readonly p: number;
  readonly #generator: Generator;

  constructor(p = 0.5, options: { generator?: Generator } = {}) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `Dropout: p must be in [0, 1], got ${p}`);
    }
    this.p = p;
    this.#generator = options.generator ?? defaultGenerator;
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, this.#generator);
  }
}
