// The memory plan of each model kind: its parameters (the checkpoint's own list of tensors, so
// the count is the one a saved file will hold) and what one step of it costs per token. Trainers,
// `bench` and `eval` check a plan before they build anything.
import { classifierConfig, classifierWeightShapes } from '../checkpoint/classifier_checkpoint.js';
import { languageModelConfig } from '../checkpoint/config.js';
import { sentenceVaeConfig, sentenceVaeWeightShapes } from '../checkpoint/vae_checkpoint.js';
import { languageModelWeightShapes } from '../checkpoint/weights.js';
import type { LanguageModelConfig } from '../models/language_model.js';
import type { SentenceVAEConfig } from '../models/sentence_vae.js';
import type { SequenceClassifierConfig } from '../models/sequence_classifier.js';
import { bytesPerToken, checkMemoryPlan, gateBlocks, optimizerMoments, parameterCount } from './model_plan.js';

/** One step: how many tokens, and with which optimizer (null: no training, a forward pass only). */
export interface StepPlan {
  tokens: number;
  optimizer: string | null;
  momentum?: number;
  device: 'cpu' | 'cuda';
}

function check(purpose: string, parameters: number, perToken: number, step: StepPlan): void {
  checkMemoryPlan({
    purpose,
    parameters,
    parameterCopies: step.optimizer === null ? 1 : 2 + optimizerMoments(step.optimizer, step.momentum ?? 0),
    tokens: step.tokens,
    bytesPerToken: perToken,
    device: step.device,
  });
}

/** ERR_RNNLM_CONFIG / ERR_RNNLM_OOM unless a language model of `config` and its step fit. */
export function checkLanguageModelPlan(purpose: string, config: LanguageModelConfig, step: StepPlan): void {
  const parameters = parameterCount(purpose, languageModelWeightShapes(languageModelConfig(config, 'char')));
  const stack = { embedding: config.embedding, hidden: config.hidden, layers: config.layers, directions: 1, gates: gateBlocks(config.cell) };
  check(purpose, parameters, bytesPerToken([stack], config.vocabSize, step.optimizer !== null), step);
}

/** The same for a sentence VAE: the encoder (both directions when bidirectional) and the decoder. */
export function checkSentenceVaePlan(purpose: string, config: SentenceVAEConfig, step: StepPlan): void {
  const parameters = parameterCount(purpose, sentenceVaeWeightShapes(sentenceVaeConfig(config, 'lines')));
  const gates = gateBlocks(config.cell);
  const decoder = { embedding: config.embedding, hidden: config.hidden, layers: config.layers, directions: 1, gates };
  const stacks = config.decoderOnly ? [decoder] : [{ ...decoder, directions: config.bidirectional ? 2 : 1 }, decoder];
  check(purpose, parameters, bytesPerToken(stacks, config.vocabSize, step.optimizer !== null), step);
}

/** The same for a classifier: one stack, and class scores only once per sequence (counted per token, an upper bound). */
export function checkClassifierPlan(purpose: string, config: SequenceClassifierConfig, step: StepPlan): void {
  const labels = Array.from({ length: config.numClasses }, (_, i) => String(i));
  const parameters = parameterCount(purpose, classifierWeightShapes(classifierConfig(config, labels)));
  const stack = { embedding: config.embedding, hidden: config.hidden, layers: config.layers, directions: config.bidirectional ? 2 : 1, gates: gateBlocks(config.cell) };
  check(purpose, parameters, bytesPerToken([stack], config.numClasses, step.optimizer !== null), step);
}
