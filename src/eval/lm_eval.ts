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

export function evaluateText(model: LanguageModel, tokenizer: Tokenizer, text: string, options: { chunk?: number } = {}): LmEvalResult {
  const chunk = options.chunk ?? 256;
  checkSizes('evaluate', { chunk });
  const ids = tokenizer.encode(text);
  if (ids.length < 2) throw rnnlmError('ERR_RNNLM_DATA', `the evaluation text has ${ids.length} token(s); at least 2 are needed to predict one`);
  const device = model.embedding.weight.device;
  checkLanguageModelPlan('evaluating this text', model.config, { tokens: Math.min(chunk, ids.length - 1), optimizer: null, device });
  const score = scoreChunks(model, streamChunks(ids, chunk), 1);
  const bits = (score.nll * score.tokens) / Math.LN2;
  const characters = tokenizer.level === 'char' ? score.tokens : [...text].length;
  return { tokens: score.tokens, nll: score.nll, ppl: score.ppl, bpc: bits / characters };
}
