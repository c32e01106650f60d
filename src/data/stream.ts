// Token streams for truncated backpropagation through time, laid out as char-rnn and PyTorch's
// word_language_model do: the ids are cut into B contiguous streams that are read in parallel,
// chunk after chunk, with the hidden state carried from one chunk to the next. Positions are
// plain numbers so that a trainer can save them and resume at exactly the same chunk.
import { rnnlmError } from '../errors.js';

/** One chunk, time-major: element [t * B + b] is stream b at step t. */
export interface Chunk {
  /** (T, B) input ids. */
  inputs: Int32Array;
  /** (T, B) target ids: the inputs shifted by one step. */
  targets: Int32Array;
  /** T, the number of time steps (the last chunk of an epoch may be shorter than `seq`). */
  steps: number;
}

export interface EvalChunk extends Chunk {
  /** Index in the ids of the first input of this chunk. */
  position: number;
}

export class TokenStream {
  /** B, the number of parallel streams. */
  readonly batch: number;
  /** L, the length of each stream; ids beyond B * L are dropped. */
  readonly length: number;
  private readonly ids: Int32Array;

  /**
   * Stream b is ids[b * L, (b + 1) * L) with L = floor(ids.length / batch).
   * Throws ERR_RNNLM_ARGUMENT for a bad batch, ERR_RNNLM_DATA when L < 2 (no target to predict).
   */
  constructor(ids: Int32Array, batch: number) {
    if (!(ids instanceof Int32Array)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', 'TokenStream: ids must be an Int32Array', 'type');
    }
    checkPositiveInteger(batch, 'the batch size');
    const length = Math.floor(ids.length / batch);
    if (length < 2) {
      throw rnnlmError(
        'ERR_RNNLM_DATA',
        `${ids.length} tokens are too few for ${batch} parallel streams: each stream needs at least 2 tokens ` +
          `(use a smaller batch or more data)`,
      );
    }
    this.batch = batch;
    this.length = length;
    this.ids = ids.subarray(0, batch * length);
  }

  /** Predicted tokens per epoch: (L - 1) * B. */
  get targetsPerEpoch(): number {
    return (this.length - 1) * this.batch;
  }

  /** Chunks in one pass over the streams: ceil((L - 1) / seq). */
  chunksPerEpoch(seq: number): number {
    checkPositiveInteger(seq, 'the sequence length');
    return Math.ceil((this.length - 1) / seq);
  }

  /** Start positions of the chunks of one epoch: 0, seq, 2 seq, ... (all < L - 1). */
  chunkStarts(seq: number): number[] {
    const count = this.chunksPerEpoch(seq);
    const starts = new Array<number>(count);
    for (let i = 0; i < count; i++) starts[i] = i * seq;
    return starts;
  }

  /**
   * The chunk starting at `position` (0 <= position < L - 1): steps = min(seq, L - 1 - position),
   * inputs[t * B + b] = stream b at position + t, targets the same one step later.
   */
  chunk(position: number, seq: number): Chunk {
    checkPositiveInteger(seq, 'the sequence length');
    const L = this.length;
    if (!Number.isInteger(position) || position < 0 || position >= L - 1) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `chunk position must be an integer in [0, ${L - 1}), got ${String(position)}`);
    }
    const B = this.batch;
    const steps = Math.min(seq, L - 1 - position);
    const inputs = new Int32Array(steps * B);
    const targets = new Int32Array(steps * B);
    for (let b = 0; b < B; b++) {
      const base = b * L + position;
      for (let t = 0; t < steps; t++) {
        inputs[t * B + b] = this.ids[base + t]!;
        targets[t * B + b] = this.ids[base + t + 1]!;
      }
    }
    return { inputs, targets, steps };
  }
}

/**
 * Walks `ids` as ONE continuous stream (B = 1) in chunks of at most `seq` steps, as evaluation
 * does: carry the hidden state across chunks and every token but the first is predicted exactly
 * once (the targets of all chunks together are ids[1..n)). Arguments are checked at the call,
 * not at the first iteration. Throws ERR_RNNLM_DATA when there are fewer than 2 tokens.
 */
export function evalStream(ids: Int32Array, seq: number): IterableIterator<EvalChunk> {
  if (!(ids instanceof Int32Array)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', 'evalStream: ids must be an Int32Array', 'type');
  }
  checkPositiveInteger(seq, 'the sequence length');
  if (ids.length < 2) {
    throw rnnlmError('ERR_RNNLM_DATA', `evaluation needs at least 2 tokens (the first is not predicted), got ${ids.length}`);
  }
  return walk(ids, seq);
}

function* walk(ids: Int32Array, seq: number): IterableIterator<EvalChunk> {
  for (let position = 0; position < ids.length - 1; position += seq) {
    const steps = Math.min(seq, ids.length - 1 - position);
    // Copies (slice), not views: callers may hand them to the engine or keep them.
    yield {
      inputs: ids.slice(position, position + steps),
      targets: ids.slice(position + 1, position + 1 + steps),
      steps,
      position,
    };
  }
}

function checkPositiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${what} must be a positive integer, got ${String(value)}`);
  }
}
