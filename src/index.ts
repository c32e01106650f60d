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
export {
  LanguageModel,
  detachState,
  disposeState,
  CELL_TYPES,
  type CellType,
  type LanguageModelConfig,
  type LanguageModelOptions,
  type LanguageModelState,
  type LanguageModelOutput,
} from './models/language_model.js';
export * from './data/index.js';
export * from './checkpoint/index.js';
export { LanguageModelTrainer, type TrainReporter, type TrainStartInfo, type StepRecord, type ValidationRecord, type TrainSummary, type TrainStatus, type RunOptions, type ParallelOptions } from './train/lm_trainer.js';
export { initDistributed, distributedInfo, type Communicator, type DistributedOptions, type DistributedInfo } from './distributed/comm.js';
export type { Collective } from './train/data_parallel.js';
export { LM_DEFAULTS, type LmTrainOptions, type OptimizerKind } from './train/lm_options.js';
export { learningRate, type ScheduleKind, type ScheduleOptions } from './train/schedule.js';
export { createProgress, type ProgressReporter, type ProgressOptions } from './train/progress.js';
export { MetricsWriter, readMetrics, type MetricRecord } from './train/metrics.js';
export { plotRun, type PlotOptions } from './plot/curves.js';
export { renderChart, type Panel, type Series } from './plot/svg_chart.js';
export { generate, type GenerateOptions } from './sample/generate.js';
export { pickToken, SampleRandom, type PickOptions } from './sample/pick.js';
export { evaluateText, type EvaluateTextOptions, type LmEvalResult } from './eval/lm_eval.js';
export * from './async/index.js';
export { scoreChunks, type Score } from './eval/evaluate.js';
export { resolveDevice, type DeviceRequest, type DeviceChoice } from './runtime.js';
export * from './classify/index.js';
export { SequenceClassifier, type SequenceClassifierConfig, type SequenceClassifierOptions } from './models/sequence_classifier.js';
export { saveClassifier, loadClassifier, type LoadedClassifier } from './checkpoint/classifier_checkpoint.js';
export { renderConfusionHeatmap } from './plot/heatmap.js';
export { SentenceVAE, type SentenceVAEConfig, type SentenceVAEOptions } from './models/sentence_vae.js';
export * from './vae/index.js';
export { saveSentenceVae, loadSentenceVae, type LoadedSentenceVae, type LoadSentenceVaeOptions } from './checkpoint/vae_checkpoint.js';
