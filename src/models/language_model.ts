// LanguageModel: Embedding -> stacked RNN/LSTM/GRU -> Linear, the model of PyTorch's
// word_language_model example and of char-rnn. Dropout (training only) applies to the
// embeddings, between stacked layers, and to the last layer's outputs. Parameter names are the
// checkpoint contract: embedding.weight, rnn.<nn.LSTM names>, decoder.weight, decoder.bias.
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { CELL_TYPES, type CellType } from '../nn/create_rnn.js';
import { checkRecurrentStack, createRecurrentStack, type RecurrentStackConfig } from './recurrent_stack.js';
import type { RNNBase } from '../nn/rnn.js';
import { defaultGenerator, type Generator } from '../random.js';
import { tidy, zeros, type Tensor } from '../tensor.js';

export { CELL_TYPES, type CellType };

/** Sizes, cell and dropout (between stacked layers and before the decoder); one direction. */
export type LanguageModelConfig = Omit<RecurrentStackConfig, 'bidirectional'>;

export interface LanguageModelOptions {
  /** Source of the initial weights and of the dropout masks (default: the global generator). */
  generator?: Generator;
}

/** The recurrent state carried between chunks: h (L, B, H), and c (L, B, H) for an LSTM. */
export interface LanguageModelState {
  h: Tensor;
  c: Tensor | null;
}

export interface LanguageModelOutput {
  /** (T*B, V) unnormalised scores, row t*B + b for step t of stream b. */
  logits: Tensor;
  state: LanguageModelState;
}

export class LanguageModel extends Module {
  readonly config: Readonly<LanguageModelConfig>;
  readonly embedding: Embedding;
  readonly rnn: RNNBase;
  readonly decoder: Linear;
  readonly #drop: Dropout;

  constructor(config: LanguageModelConfig, options: LanguageModelOptions = {}) {
    super();
    checkRecurrentStack(config, 'LanguageModel');
    this.config = Object.freeze({ ...config });
    const generator = options.generator ?? defaultGenerator;
    const { embedding, rnn } = createRecurrentStack(config, { generator });
    this.embedding = this.registerModule('embedding', embedding);
    this.rnn = this.registerModule('rnn', rnn);
    this.decoder = this.registerModule('decoder', new Linear(config.hidden, config.vocabSize, { generator }));
    this.#drop = this.registerModule('drop', new Dropout(config.dropout, { generator }));
  }

  /**
   * ids (T, B) int32 -> logits (T*B, V) and the final state. `state` (from the previous chunk)
   * defaults to zeros; pass it detached to truncate backpropagation at the chunk boundary.
   */
  forward(ids: Tensor, state: LanguageModelState | null = null): LanguageModelOutput {
    if (ids.ndim !== 2 || ids.dtype !== 'int32') {
      throw rnnlmError('ERR_RNNLM_SHAPE', `LanguageModel: ids must be int32 (T, B), got ${ids.dtype} [${ids.shape.join(', ')}]`);
    }
    const [steps = 0, batch = 0] = ids.shape;
    return tidy(() => {
      const emb = this.#drop.forward(this.embedding.forward(ids)); // (T, B, E)
      const hx = state === null ? null : { h0: state.h, c0: state.c };
      const { output, hN, cN } = this.rnn.forward(emb, hx); // output (T, B, H)
      const flat = F.reshape(this.#drop.forward(output), [steps * batch, this.config.hidden]);
      const logits = this.decoder.forward(flat); // (T*B, V)
      return { logits, state: { h: hN, c: cN } };
    });
  }

  /** A zero state for `batch` streams. */
  initialState(batch: number): LanguageModelState {
    const shape = [this.config.layers, batch, this.config.hidden];
    const device = this.embedding.weight.device;
    return { h: zeros(shape, { device }), c: this.config.cell === 'lstm' ? zeros(shape, { device }) : null };
  }
}

/** Detached copies of a state (truncated BPTT); the input state is left to its owner. */
export function detachState(state: LanguageModelState): LanguageModelState {
  return { h: state.h.detach(), c: state.c === null ? null : state.c.detach() };
}

export function disposeState(state: LanguageModelState | null): void {
  if (state === null) return;
  state.h.dispose();
  state.c?.dispose();
}
