// The messages between the main thread and a model's worker (model_worker.ts). The worker holds
// a copy of one LanguageModel's weights and runs the synchronous generate / evaluateText on it,
// one job at a time in the order they were posted. A job's abort flag is shared memory: the
// worker is busy in synchronous engine calls and reads no messages until the job ends.
import type { ErrorCode } from '../errors.js';
import type { LanguageModelConfig } from '../models/language_model.js';
import type { SafeTensor } from '../io/safetensors.js';
import type { VocabJSON } from '../data/tokenizer.js';
import type { Device } from '../tensor.js';
import type { GenerateOptions } from '../sample/generate.js';
import type { EvaluateTextOptions, LmEvalResult } from '../eval/lm_eval.js';

/** generate's options that cross to the worker (the callback stays on the main thread). */
export type WorkerGenerateOptions = Omit<GenerateOptions, 'onText'>;

/** A job's abort flag: element 0 becomes 1 when the caller aborts. */
export type AbortFlag = Int32Array;

export type ToWorker =
  /** Replaces the worker's model (its weights changed, or first use). Buffers are transferred. */
  | { type: 'weights'; config: LanguageModelConfig; device: Device; tensors: [string, SafeTensor][] }
  /** A tokenizer the worker keeps under `id` for later jobs. */
  | { type: 'tokenizer'; id: number; vocab: VocabJSON }
  | { type: 'generate'; job: number; tokenizer: number; options: WorkerGenerateOptions; abort: AbortFlag }
  | { type: 'evaluate'; job: number; tokenizer: number; text: string; options: EvaluateTextOptions; abort: AbortFlag }
  /** Free the model and end the worker (after the job it is running, whose flag is set). */
  | { type: 'close' };

/** An error as it crosses threads (the rnnlm code kept). */
export interface WorkerError {
  name: string;
  message: string;
  code: ErrorCode | null;
}

export type FromWorker =
  | { type: 'piece'; job: number; text: string }
  | { type: 'generated'; job: number; text: string }
  | { type: 'evaluated'; job: number; result: LmEvalResult }
  | { type: 'failed'; job: number; error: WorkerError };

export function isAborted(flag: AbortFlag): boolean {
  return Atomics.load(flag, 0) === 1;
}
