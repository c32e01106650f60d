// Data-parallel training, the trainers' side (PyTorch DDP's semantics): every rank holds the same
// weights and optimizer state, reads its own share of each global batch, and the gradients are
// summed across ranks, each rank's weighted by its share of the step's normaliser, so that N ranks
// at --batch B take the step one process at batch N x B takes. Rank 0 alone writes. The
// communicator (src/distributed/) is used through this interface only.
import { rnnlmError } from '../errors.js';
import { Generator, randn } from '../random.js';
import type { Chunk } from '../data/stream.js';
import { fromFloat32Array, type Tensor } from '../tensor.js';

/** The collectives a trainer needs; src/distributed's Communicator provides them. */
export interface Collective {
  readonly rank: number;
  readonly size: number;
  /** Sums the tensors across ranks in place, then multiplies by `scale`. */
  allReduceSum_(tensors: readonly Tensor[], scale?: number): void;
  /** Sums small numbers across ranks (float64). */
  allReduceNumbers(values: readonly number[]): number[];
  /** Copies root's tensors into every rank's. */
  broadcast_(tensors: readonly Tensor[], root?: number): void;
  /** Root's value on every rank. */
  broadcastJson<T>(value: T, root?: number): T;
}

/** Whether this process writes the run's files: the only process, or rank 0. */
export function isWriter(collective: Collective | null): boolean {
  return collective === null || collective.rank === 0;
}

/** Every rank's `value` (a safe integer or any finite number), in rank order. */
export function gatherNumbers(collective: Collective, value: number): number[] {
  const slots = new Array<number>(collective.size).fill(0);
  slots[collective.rank] = value;
  return collective.allReduceNumbers(slots);
}

/**
 * Rank r draws its dropout masks from the run's seed at an offset r x 2^40 past rank 0's: one seed,
 * streams that differ per rank and never overlap (2^40 draws per rank and run).
 */
export const RANK_STREAM_STRIDE = 2 ** 40;

/** Moves `generator` (already past the weights' initialisation) to this rank's stream. */
export function enterRankStream(generator: Generator, collective: Collective | null): void {
  if (collective === null || collective.rank === 0) return;
  const state = generator.getState();
  generator.setState({ ...state, offset: state.offset + collective.rank * RANK_STREAM_STRIDE });
}

/** What a data-parallel run saves beside trainer.json's state, so that every rank resumes its own stream. */
export interface SavedDistribution {
  worldSize: number;
  /** Each rank's generator offset, in rank order (rank 0's is also trainer.json's generator). */
  generatorOffsets: number[];
}

/** The record to save (collective: every rank must call it). */
export function snapshotDistribution(collective: Collective, generator: Generator): SavedDistribution {
  return { worldSize: collective.size, generatorOffsets: gatherNumbers(collective, generator.getState().offset) };
}

/**
 * ERR_RNNLM_ARGUMENT unless a run saved by `saved` (undefined: a single process) resumes with the
 * same number of processes; then puts this rank's generator on its saved offset.
 */
export function resumeDistribution(saved: unknown, collective: Collective | null, generator: Generator, runDir: string): void {
  const record = saved as Partial<SavedDistribution> | undefined;
  const savedSize = record?.worldSize ?? 1;
  const size = collective?.size ?? 1;
  if (savedSize !== size) {
    throw rnnlmError(
      'ERR_RNNLM_ARGUMENT',
      `the run in ${runDir} was trained by ${savedSize} process${savedSize > 1 ? 'es' : ''} and resumes with ${size}; resume it with the same number (mpirun -np ${savedSize} or --nproc ${savedSize}): each rank's data share and dropout stream depend on it`,
    );
  }
  if (collective === null || collective.size === 1) return;
  const offsets = record?.generatorOffsets;
  const offset = Array.isArray(offsets) ? offsets[collective.rank] : undefined;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
    throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${runDir}: trainer state lacks rank ${collective.rank}'s generator offset`);
  }
  generator.setState({ ...generator.getState(), offset: offset as number });
}

/** Rank 0's answer on every rank: a run folder, or the error (as its message and code) it refused with. */
export function agreeOnRoot<T>(collective: Collective | null, decide: () => T): T {
  if (collective === null || collective.size === 1) return decide();
  let answer: { value: T } | { error: string; code: string } | null = null;
  if (collective.rank === 0) {
    try {
      answer = { value: decide() };
    } catch (error) {
      const e = error as Error & { code?: string };
      answer = { error: e.message, code: e.code ?? 'ERR_RNNLM_INTERNAL' };
    }
  }
  const agreed = collective.broadcastJson(answer);
  if (agreed === null) throw rnnlmError('ERR_RNNLM_INTERNAL', 'rank 0 sent no answer');
  if ('error' in agreed) throw Object.assign(new Error(agreed.error), { code: agreed.code });
  return agreed.value;
}

/**
 * This rank's columns of a time-major chunk of all ranks' streams side by side: (T, size x batch)
 * -> (T, batch), columns [rank x batch, (rank + 1) x batch).
 */
export function rankChunk(chunk: Chunk, collective: Collective, batch: number): Chunk {
  const all = batch * collective.size;
  const inputs = new Int32Array(chunk.steps * batch);
  const targets = new Int32Array(chunk.steps * batch);
  for (let t = 0; t < chunk.steps; t++) {
    const from = t * all + collective.rank * batch;
    inputs.set(chunk.inputs.subarray(from, from + batch), t * batch);
    targets.set(chunk.targets.subarray(from, from + batch), t * batch);
  }
  return { inputs, targets, steps: chunk.steps };
}

/**
 * A state (L, batch, H) of every rank put side by side: (L, size x batch, H) on every rank, the
 * layout one process at size x batch streams has (collective; read back through the host, which
 * is cheap for a state and happens only when a checkpoint is saved).
 */
export function allRanksColumns(state: Tensor, collective: Collective): Tensor {
  const [layers = 0, batch = 0, hidden = 0] = state.shape;
  const all = batch * collective.size;
  const local = state.toFloat32Array();
  const global = new Float32Array(layers * all * hidden);
  for (let l = 0; l < layers; l++) {
    global.set(local.subarray(l * batch * hidden, (l + 1) * batch * hidden), (l * all + collective.rank * batch) * hidden);
  }
  const out = fromFloat32Array(global, [layers, all, hidden], { device: state.device });
  collective.allReduceSum_([out]);
  return out;
}

/** This rank's columns (L, batch, H) of a state of all ranks (L, size x batch, H). */
export function rankColumns(state: Tensor, collective: Collective, batch: number): Tensor {
  const [layers = 0, all = 0, hidden = 0] = state.shape;
  if (all !== batch * collective.size) {
    throw rnnlmError('ERR_RNNLM_CHECKPOINT', `the saved recurrent state holds ${all} streams, not ${collective.size} ranks x ${batch}`);
  }
  const global = state.toFloat32Array();
  const local = new Float32Array(layers * batch * hidden);
  for (let l = 0; l < layers; l++) {
    local.set(global.subarray((l * all + collective.rank * batch) * hidden, (l * all + (collective.rank + 1) * batch) * hidden), l * batch * hidden);
  }
  return fromFloat32Array(local, [layers, batch, hidden], { device: state.device });
}

/**
 * This rank's part of a global batch of examples (positions [rank x batch, (rank + 1) x batch))
 * and its share of the batch's normaliser, `weight` summed over its examples / over all of them
 * (the example count, or class weights). A rank whose part is empty (a short last batch) steps on
 * the batch's first example with share 0: it contributes zero gradients and keeps the ranks in
 * step.
 */
export function rankPart<T>(batch: readonly T[], collective: Collective, perRank: number, weight: (item: T) => number = () => 1): { items: T[]; share: number } {
  const items = batch.slice(collective.rank * perRank, (collective.rank + 1) * perRank);
  const total = batch.reduce((sum, item) => sum + weight(item), 0);
  if (items.length === 0) return { items: batch.slice(0, 1), share: 0 };
  return { items, share: items.reduce((sum, item) => sum + weight(item), 0) / total };
}

/**
 * Rows [start, start + count) of the noise (total, width) one process would draw for the whole
 * global batch: drawn from rank 0's position of the stream (this rank's offset less its stride),
 * and this rank's generator then moves past the whole draw, as every rank's does. Without other
 * draws (dropout 0) the ranks' streams stay in step and the rows are exactly one process's.
 */
export function globalNoiseRows(generator: Generator, collective: Collective, total: number, width: number, start: number, count: number, device: Tensor['device']): Tensor {
  const state = generator.getState();
  const from = state.offset - collective.rank * RANK_STREAM_STRIDE;
  const view = new Generator(BigInt(state.seed));
  view.setState({ seed: state.seed, offset: from });
  const all = randn([total, width], { generator: view });
  generator.setState({ ...state, offset: state.offset + (view.getState().offset - from) });
  try {
    const rows = all.toFloat32Array().subarray(start * width, (start + count) * width);
    return fromFloat32Array(rows.slice(), [count, width], { device });
  } finally {
    all.dispose();
  }
}
