// Sequence classification: data, vocabulary, split, batches, loss, metrics, training, inference.
export { readClassificationData, normalizeText, type ClassificationData, type Example, type ReadClassificationOptions } from './data.js';
export { parseCsv, type CsvRow } from './csv.js';
export { ClassifierVocab, UNK_CHAR, UNK_ID, describeCharacters, type EncodedText } from './vocab.js';
export { stratifiedSplit, type IndexSplit } from './split.js';
export { shuffleInPlace } from '../sample/pick.js';
export { bucketedBatches, sortedBatches, POOL_BATCHES } from './batches.js';
export { classificationLoss, balancedClassWeights } from './loss.js';
export { confusionMatrix, classificationReport, type ClassMetrics, type ClassificationReport } from './metrics.js';
export {
  classifyTexts,
  evaluateClassifier,
  classLogProbabilities,
  DEFAULT_EVAL_BATCH,
  type ClassifiedText,
  type Prediction,
  type EvaluationResult,
} from './predict.js';
export { CLASSIFIER_DEFAULTS, CLASS_WEIGHTINGS, checkClassifierOptions, type ClassifierTrainOptions, type ClassWeighting } from './options.js';
export { writeSplitFiles, csvField, SPLIT_FILE, TEST_CSV_FILE, SPLIT_FORMAT, type SplitJSON } from './split_files.js';
export {
  ClassifierTrainer,
  type ClassifierReporter,
  type ClassifierStartInfo,
  type ClassifierStepRecord,
  type ClassifierEpochRecord,
  type ClassifierTrainSummary,
} from './trainer.js';
