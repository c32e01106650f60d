// The sentence VAE's public surface: training, its options, data, scoring and decoding helpers.
export { SentenceVaeTrainer, VAE_RESUMABLE_KEYS, type VaeReporter, type VaeStartInfo, type VaeStepRecord, type VaeEpochRecord, type VaeSplitRecord, type VaeTrainSummary } from './trainer.js';
export { VAE_DEFAULTS, type VaeTrainOptions } from './options.js';
export { klWeight, ANNEAL_KINDS, type AnnealKind, type AnnealOptions } from './anneal.js';
export { SentenceVocab, PAD_TOKEN, SOS_TOKEN, type SentenceVocabOptions } from './vocab.js';
export { readSentences, sentencesOf, SENTENCE_FORMATS, type SentenceFormat } from './sentences.js';
export { evaluateVae, type VaeScore, type EvaluateVaeOptions } from './evaluate.js';
export { sampleSentences, interpolateSentences, reconstructSentences, tokenizeSentence, type DecodedSentence, type SampleOptions as VaeSampleOptions } from './inference.js';
