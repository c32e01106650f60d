// The job's communicator for data-parallel training: rank and size from Open MPI's mpirun, host
// collectives over MPI, CUDA tensors over NCCL, and a deadline on every collective (a rank that
// does not arrive ends the job with one line naming it). The engine does the work in one call
// per collective (native/distributed/comm.cpp); see docs/distributed.md.
import { rnnlmError } from '../errors.js';
import { native } from '../native.js';
import { handleOf, type Tensor } from '../tensor.js';
import { mpirunWorldSize, resolveBucketBytes, resolveTimeoutMs } from './launch.js';

export { distributedInfo, describeCommSupport, type DistributedInfo, type CommLibrarySupport } from './info.js';
export { DEFAULT_BUCKET_BYTES, DEFAULT_TIMEOUT_MS, mpirunWorldSize } from './launch.js';

export type CommBackend = 'mpi' | 'nccl';

export interface Communicator {
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  readonly localSize: number;
  /** 'nccl' when device is cuda, else 'mpi'. */
  readonly backend: CommBackend;
  /** The deadline of every collective, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * Sums the tensors element-wise across ranks, in place (CPU tensors via MPI, CUDA tensors via
   * NCCL), packed into buckets of ~25 MB in the engine; then multiplies by `scale` (e.g. 1/size to
   * average). Every rank must pass tensors of the same shapes in the same order (checked: a
   * mismatch ends the job).
   */
  allReduceSum_(tensors: readonly Tensor[], scale?: number): void;
  /** Sums small host numbers across ranks (loss sums, token counts, a stop flag, squared norms) in float64. */
  allReduceNumbers(values: readonly number[]): number[];
  /** Copies root's tensors into every rank's (initial weights, in place). */
  broadcast_(tensors: readonly Tensor[], root?: number): void;
  /** Root's JSON-serialisable value on every rank (e.g. the run folder name, a config). */
  broadcastJson<T>(value: T, root?: number): T;
  barrier(): void;
  /** Ends every rank of the job now with this message (MPI_Abort); never returns. */
  abort(message: string): never;
  /** A last guarded barrier, then NCCL's and MPI's shutdown; idempotent (also run at a clean exit). */
  finalize(): void;
}

export interface DistributedOptions {
  device: 'cpu' | 'cuda';
  /** Deadline of every collective (default $RNNLM_DIST_TIMEOUT_MS, else 120000). */
  timeoutMs?: number;
  /** All-reduce / broadcast bucket size in bytes (default $RNNLM_DIST_BUCKET_BYTES, else 25 MiB). */
  bucketBytes?: number;
}

function bump(tensors: readonly Tensor[]): void {
  for (const t of tensors) t._version += 1;
}

class MpiCommunicator implements Communicator {
  #finalized = false;

  constructor(
    readonly rank: number,
    readonly size: number,
    readonly localRank: number,
    readonly localSize: number,
    readonly backend: CommBackend,
    readonly timeoutMs: number,
  ) {}

  allReduceSum_(tensors: readonly Tensor[], scale = 1): void {
    if (!Number.isFinite(scale)) throw rnnlmError('ERR_RNNLM_ARGUMENT', `allReduceSum_: scale must be finite, got ${scale}`);
    native().distAllReduceSum_(tensors.map((t) => handleOf(t, 'allReduceSum_')), scale);
    bump(tensors);
  }

  allReduceNumbers(values: readonly number[]): number[] {
    return Array.from(native().distAllReduceNumbers(Float64Array.from(values)));
  }

  broadcast_(tensors: readonly Tensor[], root = 0): void {
    native().distBroadcast_(tensors.map((t) => handleOf(t, 'broadcast_')), root);
    if (this.rank !== root) bump(tensors);
  }

  broadcastJson<T>(value: T, root = 0): T {
    let text = '';
    if (this.rank === root) {
      const json = JSON.stringify(value);
      if (json === undefined) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'broadcastJson: the value is not JSON-serialisable');
      text = json;
    }
    return JSON.parse(native().distBroadcastString(text, root)) as T;
  }

  barrier(): void {
    native().distBarrier();
  }

  abort(message: string): never {
    native().distAbort(message);
    throw rnnlmError('ERR_RNNLM_INTERNAL', 'MPI_Abort returned');
  }

  finalize(): void {
    if (this.#finalized) return;
    this.#finalized = true;
    native().distFinalize();
  }
}

let current: MpiCommunicator | null = null;

/**
 * The job's communicator when this process was started by mpirun (OMPI_COMM_WORLD_SIZE in the
 * environment), else null. The first call starts MPI (and, for device 'cuda', selects this local
 * rank's GPU and joins NCCL: call it before anything uses device 'cuda'); later calls return the
 * same communicator. Throws ERR_RNNLM_DISTRIBUTED when MPI (or NCCL, for cuda) is unusable.
 *
 * At a clean exit (code 0) the communicator is finalized; a rank that exits with an error skips
 * that, so that mpirun ends the whole job at once instead of the others waiting for it.
 */
export function initDistributed(options: DistributedOptions): Communicator | null {
  if (current !== null) return current;
  if (mpirunWorldSize() === null) return null;
  const timeoutMs = resolveTimeoutMs(options.timeoutMs);
  const bucketBytes = resolveBucketBytes(options.bucketBytes);
  const world = native().distInit({ cuda: options.device === 'cuda', timeoutMs, bucketBytes });
  const comm = new MpiCommunicator(world.rank, world.size, world.localRank, world.localSize, world.nccl ? 'nccl' : 'mpi', timeoutMs);
  current = comm;
  process.once('exit', (code) => {
    // 130: an interrupted run, which every rank ended at the same step (the trainers agree on it).
    if (code !== 0 && code !== 130) {
      // No MPI_Finalize: mpirun sees the rank end without it and stops every other rank now.
      process.stderr.write(`rnnlm: rank ${comm.rank} exited with code ${code}; mpirun ends the job\n`);
      return;
    }
    try {
      comm.finalize();
    } catch (error) {
      process.stderr.write(`rnnlm: finalizing MPI failed: ${String(error)}\n`);
    }
  });
  return comm;
}
