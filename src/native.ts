// Finds, tests and loads the native addon, and describes its surface. The addon is loaded on
// first use rather than at import time, so that code paths which never touch tensors (printing
// help, reading a config) work even where no addon can load.
//
// Candidates, in order (docs/install.md):
//   1. $RNNLM_ADDON, when set: the only candidate (a test pointing at an emulator build must never
//      silently run on another binary).
//   2. The source build in this package, build/Release/rnnlm.node (a clone, or an install that
//      compiled: RNNLM_BUILD_FROM_SOURCE=1, or no prebuilt package fitted).
//   3. The prebuilt platform packages (optionalDependencies): @rnnlm/linux-x64-cuda first when
//      this machine has an NVIDIA driver and that binary finds a usable GPU, then
//      @rnnlm/linux-x64, then @rnnlm/linux-x64-cuda on the CPU (it runs without a GPU too).
// Each candidate is loaded and runs one tiny op before it is used; one that fails is skipped
// with its reason, and when none loads the error (ERR_RNNLM_ADDON) lists every reason.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  /** The BLAS library file in use ('' for none, or when the build does not know it). */
  blasLibrary: string;
  /** Why this BLAS (linked at build time, found with dlopen, RNNLM_BLAS_LIBRARY) or why none. */
  blasReason: string;
  gemmProvider: 'blas' | 'builtin';
  threads: number;
  /** A portable build (prebuilt packages): CPU kernels chosen at run time. */
  portable: boolean;
  /** The CPU kernel variant in use: 'native' (a -march=native build), 'avx512', 'avx2', 'x86-64-v2'. */
  cpuKernels: string;
  /** Why that variant (the CPU's flags, or RNNLM_CPU_KERNELS). */
  cpuKernelsReason: string;
  /** The CPU features the choice looked at ('-' in a native build). */
  cpuFlags: string;
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

/** Where the addon in use came from. */
export type AddonSource = 'RNNLM_ADDON' | 'source build' | 'prebuilt package';

export interface AddonCandidate {
  path: string;
  source: AddonSource;
  /** The platform package's name, for a prebuilt binary. */
  packageName: string | null;
}

export interface AddonOrigin extends AddonCandidate {
  /** Candidates tried before this one, and why each was skipped. */
  skipped: (AddonCandidate & { reason: string })[];
}

/** The platform packages for this machine, most wanted first (see the top of this file). */
export const PREBUILT_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  'linux-x64-glibc': ['@rnnlm/linux-x64-cuda', '@rnnlm/linux-x64'],
};

/** 'linux-x64-glibc' and the like: the key of PREBUILT_PACKAGES this process matches. */
export function platformKey(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const libc = process.platform === 'linux' ? (report?.header?.glibcVersionRuntime ? 'glibc' : 'musl') : '';
  return [process.platform, process.arch, libc].filter((part) => part !== '').join('-');
}

// The package root: this file sits one level below it as src/native.ts and as dist/native.js.
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** build/Release/rnnlm.node in this package (a source build). */
export function sourceBuildPath(): string {
  return join(packageRoot, 'build', 'Release', 'rnnlm.node');
}

/** The installed platform packages' binaries for this machine, in PREBUILT_PACKAGES order. */
export function prebuiltCandidates(): AddonCandidate[] {
  const out: AddonCandidate[] = [];
  for (const name of PREBUILT_PACKAGES[platformKey()] ?? []) {
    let manifest: string;
    try {
      manifest = require.resolve(`${name}/package.json`);
    } catch {
      continue;  // not installed (npm skips optional dependencies for other platforms)
    }
    out.push({ path: join(dirname(manifest), 'rnnlm.node'), source: 'prebuilt package', packageName: name });
  }
  return out;
}

/** Every candidate, in the order they are tried. */
export function addonCandidates(): AddonCandidate[] {
  const override = process.env['RNNLM_ADDON'];
  if (override !== undefined && override !== '') return [{ path: override, source: 'RNNLM_ADDON', packageName: null }];
  const local: AddonCandidate = { path: sourceBuildPath(), source: 'source build', packageName: null };
  return [local, ...prebuiltCandidates()];
}

/** Loads one binary and runs one tiny op on it; throws with the reason when it cannot be used. */
export function probeAddon(path: string): NativeAddon {
  if (!existsSync(path)) throw new Error('not found');
  let addon: NativeAddon;
  try {
    addon = require(path) as NativeAddon;
  } catch (cause) {
    throw new Error(`failed to load (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)})`);
  }
  try {
    const t = addon.fromTypedArray(new Float32Array([1, 2]), [2], 'cpu');
    addon.scale_(t, 2);
    const out = t.toArrayBuffer(new Float32Array(2));
    t.dispose();
    if (out[0] !== 2 || out[1] !== 4) throw new Error(`2 * [1, 2] gave [${out.join(', ')}]`);
  } catch (cause) {
    throw new Error(`loads, but a test op failed (${cause instanceof Error ? cause.message : String(cause)})`);
  }
  return addon;
}

// An NVIDIA driver on this machine: then the CUDA package is worth trying first.
function nvidiaDriverPresent(): boolean {
  return existsSync('/proc/driver/nvidia/version');
}

let loaded: NativeAddon | null = null;
let origin: AddonOrigin | null = null;

/** Where the addon in use was loaded from, or null before the first load. */
export function addonOrigin(): AddonOrigin | null {
  return origin;
}

/** The addon file in use (or, before the first load, the first candidate). */
export function addonPath(): string {
  return origin?.path ?? addonCandidates()[0]!.path;
}

function addonError(skipped: AddonOrigin['skipped']): Error {
  const explicit = skipped.length === 1 && skipped[0]!.source === 'RNNLM_ADDON';
  const tried = skipped.map((s) => `${s.source} ${s.path}: ${s.reason}`).join('; ');
  const hint = explicit
    ? 'Point RNNLM_ADDON at a working rnnlm.node, or unset it.'
    : `No prebuilt package fits ${platformKey()}${(PREBUILT_PACKAGES[platformKey()] ?? []).length > 0 ? ' or none is installed' : ''}: ` +
      'build from source with `RNNLM_BUILD_FROM_SOURCE=1 npm rebuild rnnlm` (needs CMake and a C++ compiler; ' +
      '`npm run build:native` in a clone), or set RNNLM_ADDON.';
  const error = new Error(`no usable native addon (tried ${tried}). ${hint}`);
  return Object.assign(error, { code: 'ERR_RNNLM_ADDON' });
}

/** The addon, loaded (and tested) on first call. Throws an Error with code ERR_RNNLM_ADDON when none works. */
export function native(): NativeAddon {
  if (loaded !== null) return loaded;
  const skipped: AddonOrigin['skipped'] = [];
  let cpuFallback: { candidate: AddonCandidate; addon: NativeAddon } | null = null;
  for (const candidate of addonCandidates()) {
    const cudaPackage = candidate.packageName?.endsWith('-cuda') ?? false;
    if (cudaPackage && !nvidiaDriverPresent() && cpuFallback === null) {
      // Without a driver the CUDA binary could only run on the CPU: try the CPU package first.
      skipped.push({ ...candidate, reason: 'no NVIDIA driver here (/proc/driver/nvidia): the CPU package is preferred' });
      continue;
    }
    let addon: NativeAddon;
    try {
      addon = probeAddon(candidate.path);
    } catch (error) {
      skipped.push({ ...candidate, reason: (error as Error).message });
      continue;
    }
    if (cudaPackage && addon.deviceDescribe('cuda') === null) {
      skipped.push({ ...candidate, reason: `loads, but ${addon.info().cudaReason ?? 'no usable GPU'}: the CPU package is preferred` });
      cpuFallback ??= { candidate, addon };
      continue;
    }
    return accept(candidate, addon, skipped);
  }
  // Only a CUDA package without a GPU (or without a driver) is left: it runs on the CPU as well.
  if (cpuFallback !== null) {
    const { candidate, addon } = cpuFallback;
    return accept(candidate, addon, skipped.filter((s) => s.path !== candidate.path));
  }
  const cuda = skipped.find((s) => s.packageName?.endsWith('-cuda') && s.reason.startsWith('no NVIDIA driver'));
  if (cuda !== undefined) {
    try {
      const addon = probeAddon(cuda.path);
      return accept(cuda, addon, skipped.filter((s) => s !== cuda));
    } catch (error) {
      cuda.reason = (error as Error).message;
    }
  }
  throw addonError(skipped);
}

function accept(candidate: AddonCandidate, addon: NativeAddon, skipped: AddonOrigin['skipped']): NativeAddon {
  loaded = addon;
  origin = { path: candidate.path, source: candidate.source, packageName: candidate.packageName, skipped };
  return addon;
}
