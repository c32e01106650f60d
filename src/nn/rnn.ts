// RNN, LSTM and GRU with PyTorch's options, parameter names and semantics. Each layer and
// direction is one engine call over the whole packed batch (functional rnnLayer); bidirectional
// layers run both directions over the same input and concatenate their outputs; dropout applies
// to every layer's output but the last, in training mode only. Initial and final states are in
// the caller's batch order, as PyTorch's (it permutes hx with sorted/unsorted indices).
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import type { CellKind } from '../native.js';
import { PackedSequence, packPaddedSequence, padPackedSequence } from '../packed.js';
import { defaultGenerator, uniform_, type Generator } from '../random.js';
import { Tensor, zeros } from '../tensor.js';
import { hasUnfusedCells, withUnfusedCells } from './cell_path.js';
import { Module } from './module.js';

export interface RNNBaseOptions {
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bias?: boolean;
  /** Dropout probability on the outputs of every layer but the last (training only). */
  dropout?: number;
  bidirectional?: boolean;
  /** Source of the initial weights and of the dropout masks (default: the global generator). */
  generator?: Generator;
}

export interface RNNOptions extends RNNBaseOptions {
  nonlinearity?: 'tanh' | 'relu';
}

/**
 * Initial state: h0, [h0, c0] (as PyTorch's LSTM tuple) or {h0, c0}; each (L*D, B, H) in the
 * caller's batch order. Absent states are zeros.
 */
export type RnnHidden = Tensor | readonly [Tensor, Tensor] | { h0?: Tensor | null; c0?: Tensor | null } | null;

export interface RnnOutput<O> {
  /** Outputs of the last layer: packed (N, D*H), or padded (T, B, D*H) with zeros past each length. */
  output: O;
  /** (L*D, B, H) final hidden states. */
  hN: Tensor;
  /** (L*D, B, H) final cell states (LSTM), else null. */
  cN: Tensor | null;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export class RNNBase extends Module {
  readonly mode: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly #generator: Generator;

  constructor(mode: CellKind, options: RNNBaseOptions) {
    super();
    this.mode = mode;
    this.inputSize = positiveInt(options.inputSize, 'inputSize');
    this.hiddenSize = positiveInt(options.hiddenSize, 'hiddenSize');
    this.numLayers = positiveInt(options.numLayers ?? 1, 'numLayers');
    this.bias = options.bias ?? true;
    const dropout = options.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout <= 1)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `dropout must be in [0, 1], got ${dropout}`);
    }
    this.dropout = dropout;
    this.bidirectional = options.bidirectional ?? false;
    this.#generator = options.generator ?? defaultGenerator;

    const gates = this.gateCount * this.hiddenSize;
    const bound = 1 / Math.sqrt(this.hiddenSize);
    const init = (shape: number[]): Tensor => uniform_(zeros(shape), -bound, bound, this.#generator);
    // Registration order is PyTorch's (_flat_weights_names), hence also the state_dict order.
    for (let layer = 0; layer < this.numLayers; layer++) {
      const inSize = layer === 0 ? this.inputSize : this.hiddenSize * this.numDirections;
      for (let direction = 0; direction < this.numDirections; direction++) {
        const suffix = `l${layer}${direction === 1 ? '_reverse' : ''}`;
        this.registerParameter(`weight_ih_${suffix}`, init([gates, inSize]));
        this.registerParameter(`weight_hh_${suffix}`, init([gates, this.hiddenSize]));
        if (this.bias) {
          this.registerParameter(`bias_ih_${suffix}`, init([gates]));
          this.registerParameter(`bias_hh_${suffix}`, init([gates]));
        }
      }
    }
  }

  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** G: 4 for LSTM, 3 for GRU, 1 for RNN. */
  get gateCount(): number {
    return this.mode === 'lstm' ? 4 : this.mode === 'gru' ? 3 : 1;
  }

  /** The parameters of one layer and direction (0 forward, 1 reverse). */
  layerWeights(layer: number, direction: number): F.RnnLayerWeights {
    const suffix = `l${layer}${direction === 1 ? '_reverse' : ''}`;
    return {
      wIh: this.param(`weight_ih_${suffix}`),
      wHh: this.param(`weight_hh_${suffix}`),
      bIh: this.bias ? this.param(`bias_ih_${suffix}`) : null,
      bHh: this.bias ? this.param(`bias_hh_${suffix}`) : null,
    };
  }

  /** Runs over a PackedSequence; the output is packed the same way. */
  forward(input: PackedSequence, hx?: RnnHidden): RnnOutput<PackedSequence>;
  /** Runs over a padded time-major batch (T, B, inputSize), optionally with each sequence's length. */
  forward(input: Tensor, hx?: RnnHidden, lengths?: readonly number[] | Int32Array): RnnOutput<Tensor>;
  forward(
    input: PackedSequence | Tensor,
    hx: RnnHidden = null,
    lengths?: readonly number[] | Int32Array,
  ): RnnOutput<PackedSequence> | RnnOutput<Tensor> {
    const { h0, c0 } = this.normaliseHidden(hx);
    if (input instanceof PackedSequence) {
      if (lengths !== undefined) {
        throw rnnlmError('ERR_RNNLM_ARGUMENT', 'lengths apply to padded input only; a PackedSequence knows its lengths');
      }
      const r = this.run(input.data, input.batchSizes, input.sortedIndices, input.unsortedIndices, h0, c0);
      return { output: input.withData(r.output), hN: r.hN, cN: r.cN };
    }
    if (input.ndim !== 3) {
      throw rnnlmError('ERR_RNNLM_SHAPE', `padded input must be (T, B, ${this.inputSize}), got ${shapeText(input.shape)}`);
    }
    const [steps = 0, batch = 0] = input.shape;
    const width = this.numDirections * this.hiddenSize;
    if (lengths === undefined) {
      // Every sequence is full length: the padded rows already are the packed rows.
      const data = F.reshape(input, [steps * batch, input.shape[2]!]);
      const batchSizes = new Int32Array(steps).fill(batch);
      const r = this.run(data, batchSizes, null, null, h0, c0);
      data.dispose();
      const output = F.reshape(r.output, [steps, batch, width]);
      r.output.dispose();
      return { output, hN: r.hN, cN: r.cN };
    }
    const packed = packPaddedSequence(input, lengths, { enforceSorted: false });
    const r = this.run(packed.data, packed.batchSizes, packed.sortedIndices, packed.unsortedIndices, h0, c0);
    packed.dispose();
    const out = packed.withData(r.output);
    const { padded } = padPackedSequence(out, { totalLength: steps });
    out.dispose();
    return { output: padded, hN: r.hN, cN: r.cN };
  }

  private normaliseHidden(hx: RnnHidden): { h0: Tensor | null; c0: Tensor | null } {
    let h0: Tensor | null = null;
    let c0: Tensor | null = null;
    if (hx instanceof Tensor) {
      h0 = hx;
    } else if (Array.isArray(hx)) {
      [h0, c0] = hx as readonly [Tensor, Tensor];
    } else if (hx !== null && hx !== undefined) {
      const state = hx as { h0?: Tensor | null; c0?: Tensor | null };
      h0 = state.h0 ?? null;
      c0 = state.c0 ?? null;
    }
    if (c0 !== null && this.mode !== 'lstm') {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `c0 is for LSTM only; this is ${this.mode}`);
    }
    return { h0, c0 };
  }

  private checkState(state: Tensor, name: string, batch: number): void {
    const expected = [this.numLayers * this.numDirections, batch, this.hiddenSize];
    if (state.ndim !== 3 || state.shape.some((d, i) => d !== expected[i])) {
      throw rnnlmError('ERR_RNNLM_SHAPE', `${name} must be ${shapeText(expected)}, got ${shapeText(state.shape)}`);
    }
  }

  // States (L*D, B, H) in caller order -> L*D tensors (B, H) in packed (sorted) order.
  private splitState(state: Tensor, sortedIndices: Int32Array | null, batch: number): Tensor[] {
    const count = this.numLayers * this.numDirections;
    const flat = F.reshape(state, [count * batch, this.hiddenSize]);
    let rows = flat;
    if (sortedIndices !== null) {
      const idx = new Int32Array(count * batch);
      for (let k = 0; k < count; k++) for (let i = 0; i < batch; i++) idx[k * batch + i] = k * batch + sortedIndices[i]!;
      rows = F.gatherRows(flat, idx);
      flat.dispose();
    }
    if (count === 1) return [rows];
    const parts: Tensor[] = [];
    for (let k = 0; k < count; k++) parts.push(F.sliceRows(rows, k * batch, batch));
    rows.dispose();
    return parts;
  }

  // L*D tensors (B, H) in packed order -> (L*D, B, H) in caller order (consumes `parts`).
  private mergeState(parts: Tensor[], unsortedIndices: Int32Array | null, batch: number): Tensor {
    const count = parts.length;
    let rows = count === 1 ? parts[0]! : F.concatRows(parts);
    if (count > 1) for (const p of parts) p.dispose();
    if (unsortedIndices !== null) {
      const idx = new Int32Array(count * batch);
      for (let k = 0; k < count; k++) for (let j = 0; j < batch; j++) idx[k * batch + j] = k * batch + unsortedIndices[j]!;
      const reordered = F.gatherRows(rows, idx);
      rows.dispose();
      rows = reordered;
    }
    const out = F.reshape(rows, [count, batch, this.hiddenSize]);
    rows.dispose();
    return out;
  }

  private run(
    data: Tensor,
    batchSizes: Int32Array,
    sortedIndices: Int32Array | null,
    unsortedIndices: Int32Array | null,
    h0: Tensor | null,
    c0: Tensor | null,
  ): { output: Tensor; hN: Tensor; cN: Tensor | null } {
    if (data.ndim !== 2 || data.shape[1] !== this.inputSize) {
      throw rnnlmError('ERR_RNNLM_SHAPE', `input rows must be (N, ${this.inputSize}), got ${shapeText(data.shape)}`);
    }
    const batch = batchSizes[0] ?? 0;
    if (h0 !== null) this.checkState(h0, 'h0', batch);
    if (c0 !== null) this.checkState(c0, 'c0', batch);
    const h0s = h0 !== null ? this.splitState(h0, sortedIndices, batch) : null;
    const c0s = c0 !== null ? this.splitState(c0, sortedIndices, batch) : null;
    const hNs: Tensor[] = [];
    const cNs: Tensor[] = [];
    let x = data;
    try {
      for (let layer = 0; layer < this.numLayers; layer++) {
        const outs: Tensor[] = [];
        for (let direction = 0; direction < this.numDirections; direction++) {
          const k = layer * this.numDirections + direction;
          const run = (): F.RnnLayerResult =>
            F.rnnLayer(x, batchSizes, this.layerWeights(layer, direction), {
              cell: this.mode,
              reverse: direction === 1,
              h0: h0s?.[k] ?? null,
              c0: c0s?.[k] ?? null,
            });
          const r = hasUnfusedCells(this) ? withUnfusedCells(run) : run();
          outs.push(r.y);
          hNs.push(r.hN);
          if (r.cN !== null) cNs.push(r.cN);
        }
        let next = outs.length === 1 ? outs[0]! : F.concatCols(outs);
        if (outs.length > 1) for (const o of outs) o.dispose();
        // Layers hold what backward needs; the intermediate handles can go at once.
        if (x !== data) x.dispose();
        if (layer < this.numLayers - 1 && this.dropout > 0 && this.training) {
          const dropped = F.dropout(next, this.dropout, true, this.#generator);
          next.dispose();
          next = dropped;
        }
        x = next;
      }
    } catch (error) {
      if (x !== data) x.dispose();
      for (const t of [...hNs, ...cNs]) t.dispose();
      throw error;
    } finally {
      for (const t of [...(h0s ?? []), ...(c0s ?? [])]) t.dispose();
    }
    const hN = this.mergeState(hNs, unsortedIndices, batch);
    const cN = cNs.length > 0 ? this.mergeState(cNs, unsortedIndices, batch) : null;
    return { output: x, hN, cN };
  }
}

/** Elman RNN: h' = tanh (or relu)(W_ih x + b_ih + W_hh h + b_hh). */
export class RNN extends RNNBase {
  constructor(options: RNNOptions) {
    const nonlinearity = options.nonlinearity ?? 'tanh';
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu') {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `nonlinearity must be 'tanh' or 'relu', got '${String(nonlinearity)}'`);
    }
    super(nonlinearity === 'relu' ? 'rnn_relu' : 'rnn_tanh', options);
  }
}

/** LSTM, gates i, f, g, o. */
export class LSTM extends RNNBase {
  constructor(options: RNNBaseOptions) {
    super('lstm', options);
  }
}

/** GRU, gates r, z, n. */
export class GRU extends RNNBase {
  constructor(options: RNNBaseOptions) {
    super('gru', options);
  }
}
