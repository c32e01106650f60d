// evaluateText off the main thread, in the model's worker (same numbers as the synchronous call).
import type { Tokenizer } from '../data/tokenizer.js';
import { rnnlmError } from '../errors.js';
import type { EvaluateTextOptions, LmEvalResult } from '../eval/lm_eval.js';
import type { LanguageModel } from '../models/language_model.js';
import { runJob } from './model_worker_client.js';

export interface EvaluateTextAsyncOptions extends EvaluateTextOptions {
  /** Aborting rejects with ERR_RNNLM_ABORTED (an AbortError) and stops the worker at its next chunk. */
  signal?: AbortSignal;
}

/** evaluateText(model, tokenizer, text, options) in the model's worker; resolves to the same result. */
export function evaluateTextAsync(model: LanguageModel, tokenizer: Tokenizer, text: string, options: EvaluateTextAsyncOptions = {}): Promise<LmEvalResult> {
  const forWorker: EvaluateTextOptions = options.chunk === undefined ? {} : { chunk: options.chunk };
  return runJob({
    model,
    tokenizer,
    signal: options.signal,
    build: (job, tokenizerId, abort) => ({ type: 'evaluate', job, tokenizer: tokenizerId, text, options: forWorker, abort }),
    result: (end) => {
      if (end.type !== 'evaluated') throw rnnlmError('ERR_RNNLM_INTERNAL', `the worker answered an evaluation with '${end.type}'`);
      return end.result;
    },
  });
}
