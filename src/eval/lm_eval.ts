// DESIGN.md's evaluation contract: the text as ONE continuous stream, every token predicted from
// all tokens before it (the first is not predicted), the state carried across chunks.
import type { Tokenizer } from '../data/tokenizer.js';
import { rnnlmError } from '../errors.js';
import type { LanguageModel } from '../models/language_model.js';
import { scoreChunks, type Chunk } from './evaluate.js';
import { checkSizes } from '../limits/model_plan.js';
import { checkLanguageModelPlan } from '../limits/plans.js';

export interface LmEvalResult {
  tokens: number;
  /** Nats per predicted token. */
  nll: number;
  ppl: number;
  /** Bits per character: of the predicted characters (char level), or of the text's characters (word level). */
  bpc: number;
}

function* streamChunks(ids: Int32Array, chunk: number): Generator<Chunk> {
  for (let start = 0; start + 1 < ids.length; start += chunk) {
    const steps = Math.min(chunk, ids.length - 1 - start);
    yield { inputs: ids.subarray(start, start + steps), targets: ids.subarray(start + 1, start + 1 + steps), steps };
  }
}

export interface EvaluateTextOptions {
  /** Tokens scored per engine call (the state is carried across them). Default 256. */
  chunk?: number;
}

// Runs `beforeEach` before every chunk is scored: the worker's abort check (evaluateTextAsync).
function* checkedChunks(chunks: Iterable<Chunk>, beforeEach: () => void): Generator<Chunk> {
  for (const chunk of chunks) {
    beforeEach();
    yield chunk;
  }
}

export function evaluateText(model: LanguageModel, tokenizer: Tokenizer, text: string, options: EvaluateTextOptions = {}): LmEvalResult {
  return evaluateTextChecked(model, tokenizer, text, options, () => {});
}

/** @internal evaluateText calling `beforeChunk` before each chunk (it may throw to stop). */
export function evaluateTextChecked(model: LanguageModel, tokenizer: Tokenizer, text: string, options: EvaluateTextOptions, beforeChunk: () => void): LmEvalResult {
  const chunk = options.chunk ?? 256;
  if (!Number.isInteger(chunk) || chunk < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `chunk must be a positive integer, got ${chunk}`);
  checkSizes('evaluate', { chunk });
  const ids = tokenizer.encode(text);
  if (ids.length < 2) throw rnnlmError('ERR_RNNLM_DATA', `the evaluation text has ${ids.length} token(s); at least 2 are needed to predict one`);
  const device = model.embedding.weight.device;
  checkLanguageModelPlan('evaluating this text', model.config, { tokens: Math.min(chunk, ids.length - 1), optimizer: null, device });
  const score = scoreChunks(model, checkedChunks(streamChunks(ids, chunk), beforeChunk), 1);
  const bits = (score.nll * score.tokens) / Math.LN2;
  const characters = tokenizer.level === 'char' ? score.tokens : [...text].length;
  return { tokens: score.tokens, nll: score.nll, ppl: score.ppl, bpc: bits / characters };
}
