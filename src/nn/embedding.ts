// Embedding: a lookup table (num, dim), initialised N(0, 1) as PyTorch does.
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import { defaultGenerator, normal_, type Generator } from '../random.js';
import { zeros, type Tensor } from '../tensor.js';
import { Module } from './module.js';

export interface EmbeddingOptions {
  generator?: Generator;
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    for (const [name, v] of [['numEmbeddings', numEmbeddings], ['embeddingDim', embeddingDim]] as const) {
      if (!Number.isInteger(v) || v < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `Embedding: ${name} must be a positive integer, got ${v}`);
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const weight = zeros([numEmbeddings, embeddingDim]);
    normal_(weight, 0, 1, options.generator ?? defaultGenerator);
    this.registerParameter('weight', weight);
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  /** int32 ids of any shape S -> S ++ (embeddingDim). Ids out of range throw ERR_RNNLM_INDEX. */
  forward(ids: Tensor): Tensor {
    return F.embedding(this.weight, ids);
  }
}
