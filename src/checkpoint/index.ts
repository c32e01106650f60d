// Checkpoint folders: saving, reading and validating them, and loading language models.
export {
  CONFIG_FILE,
  MODEL_FILE,
  OPTIMIZER_FILE,
  TRAINER_FILE,
  VOCAB_FILE,
  readCheckpoint,
  resolveCheckpointDir,
  saveCheckpoint,
  type Checkpoint,
  type CheckpointContents,
  type ReadCheckpointOptions,
  type TrainerCheckpoint,
} from './checkpoint.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  TOKEN_LEVELS,
  languageModelConfig,
  languageModelConfigOf,
  parseCheckpointConfig,
  parseLanguageModelConfig,
  parseVocab,
  type CheckpointConfig,
  type CheckpointKind,
  type LanguageModelCheckpointConfig,
  type TokenLevel,
  type VocabJSON,
} from './config.js';
export {
  loadLanguageModel,
  saveLanguageModel,
  type LoadLanguageModelOptions,
  type LoadedLanguageModel,
  type SaveLanguageModelOptions,
} from './lm_checkpoint.js';
export { firstNonFinite, float32Data, fromSafeTensor, toSafeTensor, type SavedTensor } from './tensors.js';
export { checkWeights, languageModelWeightShapes, type ExpectedTensor } from './weights.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  type DecodedSafetensors,
  type SafeDType,
  type SafeData,
  type SafeTensor,
} from '../io/safetensors.js';
export { writeDirAtomic, writeFileAtomic } from '../io/atomic.js';
