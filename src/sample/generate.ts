// Text generation from a LanguageModel: the priming text runs through the model in one chunk,
// then one token at a time is picked and fed back, streaming the decoded text as it grows.
// Sampling picks each token here (one engine call per layer and token: not a training hot path);
// greedy generation runs inside the engine's autoregressive decode op (greedy.ts), the same
// steps with the same ids, and streams the text once decoded.
import { noGrad } from '../autograd.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { rnnlmError } from '../errors.js';
import { disposeState, type LanguageModel, type LanguageModelState } from '../models/language_model.js';
import { fromInt32Array, tidy, type Tensor } from '../tensor.js';
import { greedyContinuation } from './greedy.js';
import { checkPickOptions, pickToken, SampleRandom, type PickOptions } from './pick.js';

export interface GenerateOptions extends PickOptions {
  /** Text the model reads first; the output continues it. Empty: start at a line boundary. */
  prime?: string;
  /** Tokens to generate (characters or words). */
  length?: number;
  seed?: number;
  /** Receives the text as it is produced (the prime first). */
  onText?: (piece: string) => void;
}

// Ids that start generation: the prime without the end-of-line marker a word tokenizer adds to
// an unterminated last line (the continuation should go on in that line), or a line boundary.
function primeIds(tokenizer: Tokenizer, prime: string): number[] {
  const ids = prime === '' ? [] : Array.from(tokenizer.encode(prime));
  if (tokenizer.level === 'word') {
    const eos = tokenizer.specials.eos;
    if (ids.length > 0 && !prime.endsWith('\n') && ids[ids.length - 1] === eos) ids.pop();
    if (ids.length === 0 && eos !== undefined) ids.push(eos);
  } else if (ids.length === 0) {
    const newline = tokenizer.toJSON().tokens.indexOf('\n');
    ids.push(newline >= 0 ? newline : 0);
  }
  return ids;
}

/** Generates `length` tokens after `prime`; returns the prime plus the continuation as text. */
export function generate(model: LanguageModel, tokenizer: Tokenizer, options: GenerateOptions = {}): string {
  checkPickOptions(options);
  const length = options.length ?? 200;
  if (!Number.isInteger(length) || length < 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `length must be a non-negative integer, got ${length}`);
  const prime = options.prime ?? '';
  const random = new SampleRandom(options.seed ?? 1);
  const wasTraining = model.training;
  model.eval();
  const emit = options.onText ?? ((): void => {});
  emit(prime);
  const decoder = tokenizer.decoder();
  let continuation = '';
  // A word-level continuation of an unterminated prime needs a space before its first word.
  const joiner = prime !== '' && tokenizer.level === 'word' && !/\s$/.test(prime) ? ' ' : '';
  let state: LanguageModelState | null = null;
  const device = model.embedding.weight.device;
  const emitToken = (id: number, i: number): void => {
    const piece = (i === 0 ? joiner : '') + decoder.push(id);
    continuation += piece;
    emit(piece);
  };
  if (options.greedy === true) {
    try {
      greedyContinuation(model, primeIds(tokenizer, prime), length).forEach(emitToken);
    } finally {
      model.train(wasTraining);
    }
    return prime + continuation;
  }
  try {
    noGrad(() => {
      let input = primeIds(tokenizer, prime);
      for (let i = 0; i < length; i++) {
        const previous: LanguageModelState | null = state;
        const { row, next } = tidy(() => {
          const ids: Tensor = fromInt32Array(Int32Array.from(input), [input.length, 1], { device });
          const out = model.forward(ids, previous);
          // The last step's scores: row (T-1) of the (T, V) logits.
          const all = out.logits.toFloat32Array();
          const vocab = model.config.vocabSize;
          return { row: all.slice(all.length - vocab), next: out.state };
        });
        disposeState(previous);
        state = next;
        const id = pickToken(row, options, random);
        input = [id];
        emitToken(id, i);
      }
    });
  } finally {
    disposeState(state);
    model.train(wasTraining);
  }
  return prime + continuation;
}
