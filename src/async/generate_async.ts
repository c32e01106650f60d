// generate off the main thread: the model's worker runs the synchronous generate on a copy of
// the weights, so the text for a seed is exactly generate's, and the event loop stays free.
import type { Tokenizer } from '../data/tokenizer.js';
import { rnnlmError } from '../errors.js';
import type { LanguageModel } from '../models/language_model.js';
import type { GenerateOptions } from '../sample/generate.js';
import { runJob, type JobEnd } from './model_worker_client.js';
import type { WorkerGenerateOptions } from './protocol.js';

export interface GenerateAsyncOptions extends GenerateOptions {
  /** Aborting rejects with ERR_RNNLM_ABORTED (an AbortError) and stops the worker at its next token. */
  signal?: AbortSignal;
}

// The options that cross to the worker, copied field by field (a callback or a signal cannot).
function workerOptions(options: GenerateOptions): WorkerGenerateOptions {
  const out: WorkerGenerateOptions = {};
  if (options.prime !== undefined) out.prime = options.prime;
  if (options.length !== undefined) out.length = options.length;
  if (options.seed !== undefined) out.seed = options.seed;
  if (options.temperature !== undefined) out.temperature = options.temperature;
  if (options.topK !== undefined) out.topK = options.topK;
  if (options.topP !== undefined) out.topP = options.topP;
  if (options.greedy !== undefined) out.greedy = options.greedy;
  return out;
}

function generatedText(end: Exclude<JobEnd, { type: 'failed' }>): string {
  if (end.type !== 'generated') throw rnnlmError('ERR_RNNLM_INTERNAL', `the worker answered a generation with '${end.type}'`);
  return end.text;
}

/**
 * generate(model, tokenizer, options) in the model's worker: resolves to the same text (the
 * prime plus the continuation). `onText` receives the pieces on this thread as they arrive.
 * Calls on one model run one after another in call order, each as if alone.
 */
export function generateAsync(model: LanguageModel, tokenizer: Tokenizer, options: GenerateAsyncOptions = {}): Promise<string> {
  return runJob({
    model,
    tokenizer,
    signal: options.signal,
    onPiece: options.onText,
    build: (job, tokenizerId, abort) => ({ type: 'generate', job, tokenizer: tokenizerId, options: workerOptions(options), abort }),
    result: generatedText,
  });
}

/**
 * The text of generateAsync as it is produced, piece by piece (the prime first, then one piece
 * per token; empty pieces are skipped): `for await (const piece of generateStream(...))`.
 * Leaving the loop early stops the generation; an abort of `signal` throws ERR_RNNLM_ABORTED.
 */
export async function* generateStream(model: LanguageModel, tokenizer: Tokenizer, options: GenerateAsyncOptions = {}): AsyncGenerator<string, void, undefined> {
  const pieces: string[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  let failure: { error: unknown } | null = null;
  const stop = new AbortController();
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  const { onText, ...rest } = options;
  const done = generateAsync(model, tokenizer, {
    ...rest,
    signal,
    onText: (piece) => {
      onText?.(piece);
      if (piece !== '') pieces.push(piece);
      notify();
    },
  }).then(
    () => {
      ended = true;
      notify();
    },
    (error: unknown) => {
      failure = { error };
      notify();
    },
  );
  try {
    for (;;) {
      while (pieces.length > 0) yield pieces.shift()!;
      if (failure !== null) throw (failure as { error: unknown }).error;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    // A consumer that stopped early (break, return, a throw) ends the worker's job too.
    if (!ended && failure === null) stop.abort();
    await done;
  }
}
