// rnnlm: recurrent neural language models for Node.js on a native engine.
export {
  Tensor,
  tensor,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  fromFloat32Array,
  fromInt32Array,
  tidy,
  keep,
  liveTensors,
  nativeMemory,
  type Shape,
  type DType,
  type Device,
  type TensorOptions,
  type NestedNumbers,
} from './tensor.js';
export { backward, noGrad, enableGrad, isGradEnabled } from './autograd.js';
export * as F from './functional.js';
export {
  embedding,
  linear,
  dropout,
  rnnLayer,
  softmaxNll,
  crossEntropy,
  logSoftmax,
  mul,
  add,
  sub,
  scale,
  sumAll,
  gatherRows,
  concatCols,
  sliceCols,
  concatRows,
  sliceRows,
  reshape,
  type RnnLayerWeights,
  type RnnLayerOptions,
  type RnnLayerResult,
  type SoftmaxNllOptions,
  type Reduction,
  type IndexLike,
} from './functional.js';
export { Generator, defaultGenerator, manualSeed, uniform_, normal_, rand, randn, DEFAULT_SEED, type GeneratorState, type RandomOptions } from './random.js';
export {
  PackedSequence,
  packPaddedSequence,
  padPackedSequence,
  packSequence,
  packIds,
  type PackOptions,
  type PadOptions,
  type PackIdsOptions,
  type Lengths,
} from './packed.js';
export * from './nn/index.js';
export * from './optim/index.js';
export { info, isDeviceAvailable, setGemmProvider, type RuntimeInfo } from './runtime.js';
export { isRnnlmError, type ErrorCode, type RnnlmError } from './errors.js';
export type { CellKind } from './native.js';
