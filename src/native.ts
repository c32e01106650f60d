// Loads the native addon (build/Release/rnnlm.node, or $RNNLM_ADDON) and describes its surface.
// The addon is loaded on first use rather than at import time, so that code paths which never
// touch tensors (printing help, reading a config) work even before the addon is built.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type DType = 'float32' | 'int32';
export type Device = 'cpu' | 'cuda';
export type CellKind = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';

/** One engine tensor. Every use after dispose() throws an Error with code ERR_RNNLM_DISPOSED. */
export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DType;
  readonly device: Device;
  readonly numel: number;
  readonly byteLength: number;
  readonly disposed: boolean;
  /** Copies to host memory: a new ArrayBuffer, or into `target` (which is returned). */
  toArrayBuffer(): ArrayBuffer;
  toArrayBuffer<T extends Float32Array | Int32Array>(target: T): T;
  /** A new handle on the same storage with another shape (one dimension may be -1). */
  reshape(shape: readonly number[]): NativeTensor;
  /** Drops this handle's reference to the storage now; idempotent. */
  dispose(): void;
}

export interface NativeLayerSpec {
  cell: CellKind;
  reverse: boolean;
  fused: boolean;
  batchSizes: Int32Array;
}

export interface NativeLayerWeights {
  wIh: NativeTensor;
  wHh: NativeTensor;
  bIh: NativeTensor | null;
  bHh: NativeTensor | null;
}

export interface NativeLayerForward {
  y: NativeTensor;
  hN: NativeTensor;
  cN: NativeTensor | null;
  workspace: NativeTensor;
}

export interface NativeLayerGradients {
  dx: NativeTensor;
  dh0: NativeTensor;
  dc0: NativeTensor | null;
  dwIh: NativeTensor;
  dwHh: NativeTensor;
  dbIh: NativeTensor | null;
  dbHh: NativeTensor | null;
}

export interface NativeAdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupledWeightDecay: boolean;
  step: number;
}

export interface NativeSgdOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  step: number;
}

export interface NativeRmspropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

export interface NativeInfo {
  /** The CPU backend's description, e.g. "cpu (OpenBLAS 0.3.21, 2 threads)". */
  backend: string;
  blas: string;
  gemmProvider: 'blas' | 'builtin';
  threads: number;
  cudaCompiled: boolean;
  /** The CUDA kernels run on the CPU emulator (the parity-test build). */
  cudaEmulated: boolean;
  /** Why CUDA is not usable in this process, or null when it is. */
  cudaReason: string | null;
}

/** The CUDA caching allocator's counters. */
export interface CudaMemoryStats {
  /** cudaMalloc calls so far. */
  deviceAllocations: number;
  deviceFrees: number;
  /** Requests served from the cache. */
  cacheHits: number;
  reservedBytes: number;
  inUseBytes: number;
  cachedBytes: number;
}

type Seed = number | bigint;

/** Autoregressive decoding (teacher forcing below 1, free-running inference); see autoregressiveDecodeForward. */
export interface NativeDecodeSpec {
  cell: CellKind;
  fused?: boolean;
  batchSizes: Int32Array;
  /** Probability that a row at step t >= 1 reads the true token rather than its own prediction. */
  teacherRatio: number;
  /** 0: argmax predictions; > 0: draws from softmax(logits / temperature). */
  temperature: number;
  seed: Seed;
  offset: Seed;
  /** >= 0: stop once every sequence has predicted this id (inference); -1: run every step. */
  stopId?: number;
}

export interface NativeDecodeWeights {
  embedding: NativeTensor;
  layers: NativeLayerWeights[];
  outW: NativeTensor;
  outB: NativeTensor | null;
}

export interface NativeDecodeForward {
  /** The steps that ran (all of spec.batchSizes, or a prefix when stopId stopped early). */
  batchSizes: Int32Array;
  /** (N) int32: the id each packed row read. */
  inputs: NativeTensor;
  /** (N) int32: the model's pick at each packed row. */
  predicted: NativeTensor;
  /** (N, E) the first layer's input. */
  x: NativeTensor;
  /** (N, V) */
  logits: NativeTensor;
  layers: NativeLayerForward[];
}

export interface NativeDecodeGradients {
  dEmbedding: NativeTensor;
  layers: Omit<NativeLayerGradients, 'dx'>[];
  dOutW: NativeTensor;
  dOutB: NativeTensor | null;
}

/** MPI or NCCL support as the addon reports it (src/distributed/info.ts). */
export interface NativeCommLibrary {
  compiled: boolean;
  available: boolean;
  library: string | null;
  version: string | null;
  reason: string | null;
}

export interface NativeDistWorld {
  rank: number;
  size: number;
  localRank: number;
  localSize: number;
  /** The NCCL communicator was joined (device 'cuda'). */
  nccl: boolean;
}

/** The functions the addon exports (one per engine op, camelCase; in-place ops keep their `_`). */
export interface NativeAddon {
  empty(shape: readonly number[], dtype: DType, device: Device): NativeTensor;
  zeros(shape: readonly number[], dtype: DType, device: Device): NativeTensor;
  fromTypedArray(data: Float32Array | Int32Array, shape: readonly number[], device: Device): NativeTensor;
  toDevice(x: NativeTensor, device: Device): NativeTensor;
  clone(x: NativeTensor): NativeTensor;

  fill_(x: NativeTensor, value: number): void;
  add_(dst: NativeTensor, src: NativeTensor, alpha: number): void;
  scale_(x: NativeTensor, alpha: number): void;
  mul(a: NativeTensor, b: NativeTensor): NativeTensor;
  sumAll(x: NativeTensor): NativeTensor;
  gatherRows(x: NativeTensor, idx: NativeTensor): NativeTensor;
  scatterAddRows_(dst: NativeTensor, idx: NativeTensor, src: NativeTensor): void;
  concatCols(parts: readonly NativeTensor[]): NativeTensor;
  sliceCols(x: NativeTensor, start: number, width: number): NativeTensor;
  concatRows(parts: readonly NativeTensor[]): NativeTensor;
  sliceRows(x: NativeTensor, start: number, count: number): NativeTensor;

  uniform_(x: NativeTensor, low: number, high: number, seed: Seed, offset: Seed): void;
  normal_(x: NativeTensor, mean: number, std: number, seed: Seed, offset: Seed): void;

  embeddingForward(weight: NativeTensor, ids: NativeTensor): NativeTensor;
  embeddingBackward(dy: NativeTensor, ids: NativeTensor, vocab: number): NativeTensor;
  linearForward(x: NativeTensor, w: NativeTensor, b: NativeTensor | null): NativeTensor;
  linearBackward(
    dy: NativeTensor,
    x: NativeTensor,
    w: NativeTensor,
    hasBias: boolean,
    needDx: boolean,
  ): { dx: NativeTensor | null; dw: NativeTensor; db: NativeTensor | null };
  dropoutForward(x: NativeTensor, p: number, seed: Seed, offset: Seed): { y: NativeTensor; mask: NativeTensor };

  rnnLayerForward(
    spec: NativeLayerSpec,
    x: NativeTensor,
    weights: NativeLayerWeights,
    h0: NativeTensor | null,
    c0: NativeTensor | null,
  ): NativeLayerForward;
  rnnLayerBackward(
    spec: NativeLayerSpec,
    x: NativeTensor,
    weights: NativeLayerWeights,
    h0: NativeTensor | null,
    c0: NativeTensor | null,
    forward: NativeLayerForward,
    dy: NativeTensor,
    dhN: NativeTensor | null,
    dcN: NativeTensor | null,
  ): NativeLayerGradients;

  softmaxNll(
    logits: NativeTensor,
    targets: NativeTensor,
    ignoreIndex: number,
    reduction: 'mean' | 'sum',
  ): { loss: NativeTensor; count: NativeTensor; dlogits: NativeTensor };
  logSoftmax(logits: NativeTensor): NativeTensor;

  /** The CUDA allocator's counters; null in a build without CUDA. */
  cudaMemory(): CudaMemoryStats | null;
  /** Returns the cached device blocks to the driver. */
  cudaEmptyCache(): void;

  /** e^x element-wise. */
  exp(x: NativeTensor): NativeTensor;
  /** mean, logv (B, Z) -> (B): KL(N(mean, e^logv) || N(0, I)) per row. */
  gaussianKl(mean: NativeTensor, logv: NativeTensor): NativeTensor;
  gaussianKlBackward(mean: NativeTensor, logv: NativeTensor, dkl: NativeTensor): { dmean: NativeTensor; dlogv: NativeTensor };
  /** One decoding step's picks: predicted (M) and the ids read next, chosen (K, or M without teacher). */
  decodePick(
    logits: NativeTensor,
    teacher: NativeTensor | null,
    teacherRatio: number,
    temperature: number,
    seed: Seed,
    offset: Seed,
    indexBase: number,
  ): { predicted: NativeTensor; chosen: NativeTensor };
  /**
   * Runs embedding -> stacked unidirectional recurrent layers -> output projection -> pick step
   * by step over a packed batch, each step reading the previous step's pick (one call).
   */
  autoregressiveDecodeForward(
    spec: NativeDecodeSpec,
    inputs: NativeTensor,
    weights: NativeDecodeWeights,
    h0: readonly (NativeTensor | null)[] | null,
    c0: readonly (NativeTensor | null)[] | null,
    inputMask: NativeTensor | null,
  ): NativeDecodeForward;
  autoregressiveDecodeBackward(
    spec: NativeDecodeSpec,
    weights: NativeDecodeWeights,
    h0: readonly (NativeTensor | null)[] | null,
    c0: readonly (NativeTensor | null)[] | null,
    inputMask: NativeTensor | null,
    forward: Pick<NativeDecodeForward, 'batchSizes' | 'inputs' | 'x' | 'layers'>,
    dlogits: NativeTensor,
  ): NativeDecodeGradients;

  globalNorm(tensors: readonly NativeTensor[]): NativeTensor;
  clipGradNorm_(tensors: readonly NativeTensor[], maxNorm: number): NativeTensor;
  adamStep_(param: NativeTensor, grad: NativeTensor, expAvg: NativeTensor, expAvgSq: NativeTensor, options: NativeAdamOptions): void;
  sgdStep_(param: NativeTensor, grad: NativeTensor, momentumBuffer: NativeTensor | null, options: NativeSgdOptions): void;
  rmspropStep_(
    param: NativeTensor,
    grad: NativeTensor,
    squareAvg: NativeTensor,
    gradAvg: NativeTensor | null,
    momentumBuffer: NativeTensor | null,
    options: NativeRmspropOptions,
  ): void;

  info(): NativeInfo;
  setGemmProvider(provider: 'blas' | 'builtin'): void;
  /** The backend's description, or null when the device cannot be used here. */
  deviceDescribe(device: Device): string | null;
  /** Live engine storages and their bytes; `handles`: NativeTensor objects not yet finalized. */
  liveStorage(): { count: number; bytes: number; handles: number };

  // Data-parallel collectives (native/distributed/comm.h; src/distributed/comm.ts wraps them).
  distInfo(): { mpi: NativeCommLibrary; nccl: NativeCommLibrary };
  distInit(options: { cuda: boolean; timeoutMs: number; bucketBytes: number }): NativeDistWorld;
  distAllReduceSum_(tensors: readonly NativeTensor[], scale: number): void;
  distAllReduceNumbers(values: Float64Array): Float64Array;
  distBroadcast_(tensors: readonly NativeTensor[], root: number): void;
  distBroadcastString(value: string, root: number): string;
  distBarrier(): void;
  distAbort(message: string): never;
  distFinalize(): void;
}

let loaded: NativeAddon | null = null;

/** Where the addon is looked for: $RNNLM_ADDON, else build/Release/rnnlm.node in the package. */
export function addonPath(): string {
  const override = process.env['RNNLM_ADDON'];
  if (override !== undefined && override !== '') return override;
  // This file sits one level below the package root both as src/native.ts and dist/native.js.
  return fileURLToPath(new URL('../build/Release/rnnlm.node', import.meta.url));
}

/** The addon, loaded on first call. Throws an Error with code ERR_RNNLM_ADDON when missing. */
export function native(): NativeAddon {
  if (loaded !== null) return loaded;
  const path = addonPath();
  if (!existsSync(path)) {
    const error = new Error(
      `rnnlm: the native addon was not found at ${path}. ` +
        'Build it with `npm install` (or `npm run build:native` in a source checkout), ' +
        'or point RNNLM_ADDON at a built rnnlm.node.',
    );
    Object.assign(error, { code: 'ERR_RNNLM_ADDON' });
    throw error;
  }
  const require = createRequire(import.meta.url);
  try {
    loaded = require(path) as NativeAddon;
  } catch (cause) {
    const error = new Error(
      `rnnlm: the native addon at ${path} failed to load (${String(cause)}). ` +
        'Rebuild it for this Node version with `npm run build:native`.',
      { cause },
    );
    Object.assign(error, { code: 'ERR_RNNLM_ADDON' });
    throw error;
  }
  return loaded;
}
