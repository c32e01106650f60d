// Packed sequences, as torch.nn.utils.rnn: time-major rows where step t holds batchSizes[t]
// rows, the sequences sorted by decreasing length (stably). The index bookkeeping is done on the
// host (it is small); the data moves with gatherRows, whose -1 index yields zero rows, so
// packing and padding are differentiable.
import { rnnlmError } from './errors.js';
import * as F from './functional.js';
import { fromFloat32Array, fromInt32Array, Tensor, type Device } from './tensor.js';

export class PackedSequence {
  /**
   * @param data (N, ...) rows, time-major.
   * @param batchSizes rows per time step, non-increasing.
   * @param sortedIndices sortedIndices[i] is the original batch position of sorted sequence i
   *   (null when the batch was already sorted).
   * @param unsortedIndices the inverse permutation: sorted position of original sequence j.
   */
  constructor(
    readonly data: Tensor,
    readonly batchSizes: Int32Array,
    readonly sortedIndices: Int32Array | null = null,
    readonly unsortedIndices: Int32Array | null = null,
  ) {}

  /** Number of sequences. */
  get batchSize(): number {
    return this.batchSizes[0] ?? 0;
  }

  /** Length of the longest sequence. */
  get maxLength(): number {
    return this.batchSizes.length;
  }

  /** The same layout around other data (e.g. the embeddings of packed token ids). */
  withData(data: Tensor): PackedSequence {
    return new PackedSequence(data, this.batchSizes, this.sortedIndices, this.unsortedIndices);
  }

  /** Sequence lengths in the original batch order. */
  lengths(): Int32Array {
    return lengthsOf(this.batchSizes, this.unsortedIndices);
  }

  dispose(): void {
    this.data.dispose();
  }
}

export type Lengths = readonly number[] | Int32Array | Tensor;

interface Layout {
  batchSizes: Int32Array;
  /** order[i]: original position of the i-th sequence in packed order. */
  order: Int32Array;
  sortedIndices: Int32Array | null;
  unsortedIndices: Int32Array | null;
  /** Packed row offset of each time step. */
  offsets: Int32Array;
}

function toLengths(lengths: Lengths, where: string): Int32Array {
  const values = lengths instanceof Tensor ? lengths.toArray() : Array.from(lengths);
  for (const v of values) {
    if (!Number.isInteger(v) || v < 1) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `${where}: every sequence length must be a positive integer, got ${v}`);
    }
  }
  return Int32Array.from(values);
}

function layoutFor(lengths: Int32Array, enforceSorted: boolean, where: string): Layout {
  const count = lengths.length;
  if (count === 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `${where}: no sequences`);
  let order: Int32Array;
  let sortedIndices: Int32Array | null = null;
  let unsortedIndices: Int32Array | null = null;
  if (enforceSorted) {
    for (let i = 1; i < count; i++) {
      if (lengths[i]! > lengths[i - 1]!) {
        throw rnnlmError(
          'ERR_RNNLM_ARGUMENT',
          `${where}: lengths must be sorted in decreasing order with enforceSorted (got ${lengths[i - 1]} then ${lengths[i]}); pass enforceSorted: false`,
        );
      }
    }
    order = Int32Array.from({ length: count }, (_, i) => i);
  } else {
    // Array.prototype.sort is stable, so equal lengths keep their batch order.
    const idx = Array.from({ length: count }, (_, i) => i).sort((a, b) => lengths[b]! - lengths[a]!);
    order = Int32Array.from(idx);
    sortedIndices = order;
    unsortedIndices = new Int32Array(count);
    for (let i = 0; i < count; i++) unsortedIndices[order[i]!] = i;
  }
  const maxLength = lengths[order[0]!]!;
  const batchSizes = new Int32Array(maxLength);
  for (let i = 0; i < count; i++) {
    const len = lengths[order[i]!]!;
    for (let t = 0; t < len; t++) batchSizes[t]! += 1;
  }
  const offsets = new Int32Array(maxLength);
  for (let t = 1; t < maxLength; t++) offsets[t] = offsets[t - 1]! + batchSizes[t - 1]!;
  return { batchSizes, order, sortedIndices, unsortedIndices, offsets };
}

function offsetsOf(batchSizes: Int32Array): Int32Array {
  const offsets = new Int32Array(batchSizes.length);
  for (let t = 1; t < batchSizes.length; t++) offsets[t] = offsets[t - 1]! + batchSizes[t - 1]!;
  return offsets;
}

function lengthsOf(batchSizes: Int32Array, unsortedIndices: Int32Array | null): Int32Array {
  const count = batchSizes[0] ?? 0;
  const sorted = new Int32Array(count);
  for (let t = 0; t < batchSizes.length; t++) for (let i = 0; i < batchSizes[t]!; i++) sorted[i]! += 1;
  if (unsortedIndices === null) return sorted;
  return Int32Array.from(unsortedIndices, (i) => sorted[i]!);
}

// Rows of `source` (R, ...) picked by `idx` (-1 = zero row); differentiable for float data.
function pickRows(source: Tensor, idx: Int32Array): Tensor {
  return F.gatherRows(source, idx);
}

export interface PackOptions {
  /** Require lengths sorted in decreasing order (default true, as PyTorch). */
  enforceSorted?: boolean;
  /** The padded input is (B, T, ...) instead of (T, B, ...). */
  batchFirst?: boolean;
}

/** Packs a padded batch (T, B, ...) (or (B, T, ...) with batchFirst) given each sequence's length. */
export function packPaddedSequence(input: Tensor, lengths: Lengths, options: PackOptions = {}): PackedSequence {
  const where = 'packPaddedSequence';
  const batchFirst = options.batchFirst ?? false;
  if (input.ndim < 2) throw rnnlmError('ERR_RNNLM_SHAPE', `${where}: input must be (T, B, ...), got [${input.shape.join(', ')}]`);
  const steps = input.shape[batchFirst ? 1 : 0]!;
  const batch = input.shape[batchFirst ? 0 : 1]!;
  const lens = toLengths(lengths, where);
  if (lens.length !== batch) {
    throw rnnlmError('ERR_RNNLM_SHAPE', `${where}: ${lens.length} lengths for a batch of ${batch}`);
  }
  const layout = layoutFor(lens, options.enforceSorted ?? true, where);
  if (layout.batchSizes.length > steps) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${where}: a length of ${layout.batchSizes.length} exceeds the ${steps} padded steps`);
  }
  const total = layout.offsets[layout.offsets.length - 1]! + layout.batchSizes[layout.batchSizes.length - 1]!;
  const idx = new Int32Array(total);
  for (let t = 0; t < layout.batchSizes.length; t++) {
    for (let i = 0; i < layout.batchSizes[t]!; i++) {
      const j = layout.order[i]!;
      idx[layout.offsets[t]! + i] = batchFirst ? j * steps + t : t * batch + j;
    }
  }
  const rows = F.reshape(input, [steps * batch, ...input.shape.slice(2)]);
  const data = pickRows(rows, idx);
  rows.dispose();
  return new PackedSequence(data, layout.batchSizes, layout.sortedIndices, layout.unsortedIndices);
}

export interface PadOptions {
  /** Produce (B, T, ...) instead of (T, B, ...). */
  batchFirst?: boolean;
  /** Value of the padded positions (default 0). */
  paddingValue?: number;
  /** Pad to this many steps (at least the longest sequence). */
  totalLength?: number;
}

/** Unpacks to a padded batch plus the lengths, both in the original batch order. */
export function padPackedSequence(sequence: PackedSequence, options: PadOptions = {}): { padded: Tensor; lengths: Int32Array } {
  const where = 'padPackedSequence';
  const { batchSizes, unsortedIndices, data } = sequence;
  const maxLength = batchSizes.length;
  const steps = options.totalLength ?? maxLength;
  if (!Number.isInteger(steps) || steps < maxLength) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${where}: totalLength ${steps} is less than the longest sequence (${maxLength})`);
  }
  const batchFirst = options.batchFirst ?? false;
  const batch = sequence.batchSize;
  const offsets = offsetsOf(batchSizes);
  const idx = new Int32Array(steps * batch).fill(-1);
  for (let t = 0; t < maxLength; t++) {
    for (let j = 0; j < batch; j++) {
      const i = unsortedIndices !== null ? unsortedIndices[j]! : j;
      if (i < batchSizes[t]!) idx[batchFirst ? j * steps + t : t * batch + j] = offsets[t]! + i;
    }
  }
  const rest = data.shape.slice(1);
  const flat = pickRows(data, idx);
  let filled = flat;
  const paddingValue = options.paddingValue ?? 0;
  if (paddingValue !== 0) filled = fillPadding(flat, idx, paddingValue);
  const padded = F.reshape(filled, batchFirst ? [batch, steps, ...rest] : [steps, batch, ...rest]);
  if (filled !== flat) filled.dispose();
  flat.dispose();
  return { padded, lengths: lengthsOf(batchSizes, unsortedIndices) };
}

// Adds `value` to the rows where idx is -1 (which the gather left at zero).
function fillPadding(flat: Tensor, idx: Int32Array, value: number): Tensor {
  const width = idx.length > 0 ? flat.numel / idx.length : 0;
  if (flat.dtype === 'int32') {
    const data = flat.toInt32Array();
    for (let m = 0; m < idx.length; m++) if (idx[m]! < 0) data.fill(value, m * width, (m + 1) * width);
    return fromInt32Array(data, flat.shape, { device: flat.device });
  }
  const constant = new Float32Array(flat.numel);
  for (let m = 0; m < idx.length; m++) if (idx[m]! < 0) constant.fill(value, m * width, (m + 1) * width);
  const padding = fromFloat32Array(constant, flat.shape, { device: flat.device });
  const out = F.add(flat, padding);
  padding.dispose();
  return out;
}

/** Packs a list of sequences (L_i, ...) (all with the same trailing dimensions). */
export function packSequence(sequences: readonly Tensor[], options: { enforceSorted?: boolean } = {}): PackedSequence {
  const where = 'packSequence';
  if (sequences.length === 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `${where}: no sequences`);
  const lens = toLengths(sequences.map((s) => s.shape[0] ?? 0), where);
  const layout = layoutFor(lens, options.enforceSorted ?? true, where);
  const starts = new Int32Array(lens.length);
  for (let j = 1; j < lens.length; j++) starts[j] = starts[j - 1]! + lens[j - 1]!;
  const total = starts[lens.length - 1]! + lens[lens.length - 1]!;
  const idx = new Int32Array(total);
  for (let t = 0; t < layout.batchSizes.length; t++) {
    for (let i = 0; i < layout.batchSizes[t]!; i++) idx[layout.offsets[t]! + i] = starts[layout.order[i]!]! + t;
  }
  const all = sequences.length === 1 ? sequences[0]! : F.concatRows(sequences);
  const data = pickRows(all, idx);
  if (all !== sequences[0]) all.dispose();
  return new PackedSequence(data, layout.batchSizes, layout.sortedIndices, layout.unsortedIndices);
}

export interface PackIdsOptions {
  /** Require sequences sorted by decreasing length (default false: they are sorted here). */
  enforceSorted?: boolean;
  device?: Device;
}

/**
 * Packs token id sequences into an int32 PackedSequence (data of shape (N)), built on the host.
 * Unlike packSequence it sorts by default, since id batches rarely come sorted. Sequences of
 * equal lengths pack identically, so inputs and their shifted targets line up row for row.
 */
export function packIds(sequences: readonly (readonly number[] | Int32Array)[], options: PackIdsOptions = {}): PackedSequence {
  const where = 'packIds';
  if (sequences.length === 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `${where}: no sequences`);
  const lens = toLengths(sequences.map((s) => s.length), where);
  const layout = layoutFor(lens, options.enforceSorted ?? false, where);
  const total = layout.offsets[layout.offsets.length - 1]! + layout.batchSizes[layout.batchSizes.length - 1]!;
  const data = new Int32Array(total);
  for (let t = 0; t < layout.batchSizes.length; t++) {
    for (let i = 0; i < layout.batchSizes[t]!; i++) {
      const seq = sequences[layout.order[i]!]!;
      const id = seq[t]!;
      if (!Number.isInteger(id) || id < -2147483648 || id > 2147483647) {
        throw rnnlmError('ERR_RNNLM_ARGUMENT', `${where}: token id ${id} is not a 32-bit integer`);
      }
      data[layout.offsets[t]! + i] = id;
    }
  }
  const tensor = fromInt32Array(data, [total], { device: options.device ?? 'cpu' });
  return new PackedSequence(tensor, layout.batchSizes, layout.sortedIndices, layout.unsortedIndices);
}
