// The tokenizer contract shared by training, sampling, evaluation and checkpoints. A vocabulary
// is saved as the checkpoint's vocab.json (VocabJSON) and must load back to the same ids.
import { rnnlmError } from '../errors.js';
import { CharTokenizer } from './char_tokenizer.js';
import { checkSpecials, checkTokens } from './vocab_check.js';
import { WordTokenizer, type WordTokenizerOptions } from './word_tokenizer.js';

export type TokenizerLevel = 'char' | 'word';

/** vocab.json: tokens in id order; specials by name (word level: { unk, eos }). */
export interface VocabJSON {
  level: TokenizerLevel;
  tokens: string[];
  specials: Record<string, number>;
}

/** Turns ids into text one id at a time, for printing samples as they are drawn. */
export interface IncrementalDecoder {
  /** The text to append for this id (word level: with the space before it, if any). */
  push(id: number): string;
}

export interface Tokenizer {
  readonly level: TokenizerLevel;
  readonly vocabSize: number;
  /** Special tokens by name (char level: none). */
  readonly specials: Readonly<Record<string, number>>;
  /**
   * Text to ids. `source` (a file name) only improves error messages. Char level throws
   * ERR_RNNLM_DATA for a character outside the vocabulary; word level maps unknown words to <unk>.
   */
  encode(text: string, source?: string): Int32Array;
  /** Ids to text (word level: detokenised, <eos> as a newline). ERR_RNNLM_ARGUMENT for a bad id. */
  decode(ids: ArrayLike<number>): string;
  /** The token of one id, as stored in vocab.json. ERR_RNNLM_ARGUMENT for a bad id. */
  token(id: number): string;
  /** A fresh incremental decoder: pushing ids one by one yields the same text as decode(). */
  decoder(): IncrementalDecoder;
  toJSON(): VocabJSON;
}

/** Builds the tokenizer of a level from training text (options apply to the word level only). */
export function tokenizerFromText(text: string, level: TokenizerLevel, options: WordTokenizerOptions = {}): Tokenizer {
  if (level === 'char') return CharTokenizer.fromText(text);
  if (level === 'word') return WordTokenizer.fromText(text, options);
  throw rnnlmError('ERR_RNNLM_ARGUMENT', `the tokenizer level must be 'char' or 'word', got ${JSON.stringify(level)}`);
}

/**
 * Rebuilds a tokenizer from parsed vocab.json. Everything is checked (types, empty or duplicate
 * tokens, char tokens that are not one character, word tokens with whitespace, specials out of
 * range or shared, word level without unk/eos); failures are ERR_RNNLM_CHECKPOINT naming `source`.
 */
export function tokenizerFromJSON(json: unknown, source: string): Tokenizer {
  const fail = (message: string): Error => rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: ${message}`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw fail('the vocabulary must be a JSON object with level, tokens and specials');
  }
  const { level, tokens, specials } = json as Record<string, unknown>;
  if (level !== 'char' && level !== 'word') {
    throw fail(`"level" must be "char" or "word", got ${JSON.stringify(level) ?? 'nothing'}`);
  }
  const checkedTokens = checkTokens(tokens, level, fail);
  const checkedSpecials = checkSpecials(specials, checkedTokens.length, level, fail);
  return level === 'char' ? new CharTokenizer(checkedTokens, checkedSpecials) : new WordTokenizer(checkedTokens, checkedSpecials);
}
