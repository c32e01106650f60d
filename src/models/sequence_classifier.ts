// SequenceClassifier: many-to-one recurrent classification (names to languages). Embedding ->
// packed RNN/LSTM/GRU (layers, optionally bidirectional) -> the final hidden state of the last
// layer, both directions concatenated -> dropout -> Linear to the classes. Sequences of unequal
// lengths go in one packed batch, so no padding step ever reaches the recurrence. Parameter names
// are the checkpoint contract: embedding.weight, rnn.<nn.LSTM names>, fc.weight, fc.bias.
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { checkRecurrentStack, createRecurrentStack, type RecurrentStackConfig } from './recurrent_stack.js';
import type { RNNBase } from '../nn/rnn.js';
import { packIds, type PackedSequence } from '../packed.js';
import { defaultGenerator, type Generator } from '../random.js';
import { tidy, type Tensor } from '../tensor.js';

export interface SequenceClassifierConfig extends RecurrentStackConfig {
  bidirectional: boolean;
  /** Dropout on the final features (and between stacked layers), training only. */
  dropout: number;
  numClasses: number;
}

export interface SequenceClassifierOptions {
  /** Source of the initial weights and of the dropout masks (default: the global generator). */
  generator?: Generator;
}

function checkConfig(config: SequenceClassifierConfig): void {
  checkRecurrentStack(config, 'SequenceClassifier');
  if (!Number.isInteger(config.numClasses) || config.numClasses < 1) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `SequenceClassifier: numClasses must be a positive integer, got ${config.numClasses}`);
  }
  if (typeof config.bidirectional !== 'boolean') {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `SequenceClassifier: bidirectional must be a boolean, got ${String(config.bidirectional)}`, 'type');
  }
}

export class SequenceClassifier extends Module {
  readonly config: Readonly<SequenceClassifierConfig>;
  readonly embedding: Embedding;
  readonly rnn: RNNBase;
  readonly fc: Linear;
  readonly #drop: Dropout;

  constructor(config: SequenceClassifierConfig, options: SequenceClassifierOptions = {}) {
    super();
    checkConfig(config);
    this.config = Object.freeze({ ...config });
    const generator = options.generator ?? defaultGenerator;
    const { embedding, rnn } = createRecurrentStack(config, { generator });
    this.embedding = this.registerModule('embedding', embedding);
    this.rnn = this.registerModule('rnn', rnn);
    this.fc = this.registerModule('fc', new Linear(this.featureSize, config.numClasses, { generator }));
    this.#drop = this.registerModule('drop', new Dropout(config.dropout, { generator }));
  }

  /** Width of the features the linear layer reads: hidden x directions. */
  get featureSize(): number {
    return this.config.hidden * (this.config.bidirectional ? 2 : 1);
  }

  /**
   * The final hidden state of the last layer, (B, D*H) in the caller's batch order: forward
   * direction first, then the reverse direction (whose "final" state is the one after reading
   * the first token), as PyTorch's `torch.cat([h_n[-2], h_n[-1]], 1)`.
   * `ids` is an int32 PackedSequence of token ids (packIds), in any length order.
   */
  features(ids: PackedSequence): Tensor {
    if (ids.data.dtype !== 'int32' || ids.data.ndim !== 1) {
      throw rnnlmError('ERR_RNNLM_SHAPE', `SequenceClassifier: packed ids must be int32 (N), got ${ids.data.dtype} [${ids.data.shape.join(', ')}]`);
    }
    return tidy(() => {
      const emb = this.embedding.forward(ids.data); // (N, E)
      const { hN } = this.rnn.forward(ids.withData(emb)); // hN (L*D, B, H)
      const directions = this.config.bidirectional ? 2 : 1;
      const [, batch = 0, hidden = 0] = hN.shape;
      const last = (this.config.layers - 1) * directions;
      const parts: Tensor[] = [];
      for (let d = 0; d < directions; d++) parts.push(F.reshape(F.sliceRows(hN, last + d, 1), [batch, hidden]));
      return parts.length === 1 ? parts[0]! : F.concatCols(parts); // (B, D*H)
    });
  }

  /** Unnormalised class scores (B, C) for packed int32 ids, rows in the caller's batch order. */
  forward(ids: PackedSequence): Tensor {
    return tidy(() => this.fc.forward(this.#drop.forward(this.features(ids))));
  }

  /**
   * Class scores (B, C) for token id sequences of any lengths (each at least 1), in the given
   * order: they are packed here, sorted by length internally and unsorted on the way out.
   */
  forwardIds(sequences: readonly (readonly number[] | Int32Array)[]): Tensor {
    const device = this.embedding.weight.device;
    const packed = packIds(sequences, { enforceSorted: false, device });
    try {
      return this.forward(packed);
    } finally {
      packed.dispose();
    }
  }
}
