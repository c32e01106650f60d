// Building a tokenizer of either level: from training text, or from a checkpoint's vocab.json.
import { rnnlmError } from '../errors.js';
import { CharTokenizer } from './char_tokenizer.js';
import type { Tokenizer, TokenizerLevel } from './tokenizer.js';
import { checkSpecials, checkTokens } from './vocab_check.js';
import { WordTokenizer, type WordTokenizerOptions } from './word_tokenizer.js';

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
