// The front that the language model and the classifier share: Embedding (V, E), then a stacked
// RNN with nn.LSTM's rule that dropout acts between layers only. Created in this order, so the
// generator draws the embedding's weights first, as a PyTorch __init__ building nn.Embedding
// then nn.LSTM does.
import { rnnlmError } from '../errors.js';
import { checkCellType, createRnn, type CellType } from '../nn/create_rnn.js';
import { Embedding } from '../nn/embedding.js';
import type { RNNBase } from '../nn/rnn.js';
import type { Generator } from '../random.js';

export interface RecurrentStackConfig {
  vocabSize: number;
  embedding: number;
  hidden: number;
  layers: number;
  cell: CellType;
  dropout: number;
  bidirectional?: boolean;
}

/** ERR_RNNLM_ARGUMENT, naming `owner`, for a size that is not a positive integer, a bad cell or dropout. */
export function checkRecurrentStack(config: RecurrentStackConfig, owner: string): void {
  for (const key of ['vocabSize', 'embedding', 'hidden', 'layers'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `${owner}: ${key} must be a positive integer, got ${v}`);
  }
  checkCellType(config.cell, owner);
  if (typeof config.dropout !== 'number' || !(config.dropout >= 0 && config.dropout < 1)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${owner}: dropout must be in [0, 1), got ${config.dropout}`);
  }
}

/** The embedding and the RNN of a checked config (the caller registers them). */
export function createRecurrentStack(config: RecurrentStackConfig, options: { generator: Generator }): { embedding: Embedding; rnn: RNNBase } {
  const { generator } = options;
  const embedding = new Embedding(config.vocabSize, config.embedding, { generator });
  const rnn = createRnn(config.cell, {
    inputSize: config.embedding,
    hiddenSize: config.hidden,
    numLayers: config.layers,
    bidirectional: config.bidirectional ?? false,
    // nn.LSTM's own dropout acts between stacked layers only; one layer has none to apply.
    dropout: config.layers > 1 ? config.dropout : 0,
    generator,
  });
  return { embedding, rnn };
}
