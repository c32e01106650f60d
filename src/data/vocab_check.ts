// Validation of a vocabulary, shared by the tokenizer constructors (bad arguments) and by
// tokenizerFromJSON (a broken checkpoint): the caller chooses the error through `fail`.
import { rnnlmError } from '../errors.js';

export type Fail = (message: string) => Error;

/** Names of the word-level specials. */
export const UNK = 'unk';
export const EOS = 'eos';

/** Checks that `tokens` is a list of distinct, well-formed tokens of the level; returns a copy. */
export function checkTokens(tokens: unknown, level: 'char' | 'word', fail: Fail): string[] {
  if (!Array.isArray(tokens)) throw fail(`"tokens" must be an array of strings, got ${typeOf(tokens)}`);
  if (tokens.length === 0) throw fail('the vocabulary has no tokens');
  const seen = new Map<string, number>();
  const out: string[] = new Array<string>(tokens.length);
  for (let id = 0; id < tokens.length; id++) {
    const token: unknown = tokens[id];
    if (typeof token !== 'string') throw fail(`token ${id} must be a string, got ${typeOf(token)}`);
    if (token.length === 0) throw fail(`token ${id} is an empty string`);
    if (level === 'char' && codePointLength(token) !== 1) {
      throw fail(`token ${id} (${JSON.stringify(token)}) of a char-level vocabulary must be exactly one character`);
    }
    if (level === 'word' && /\s/u.test(token)) {
      throw fail(`token ${id} (${JSON.stringify(token)}) of a word-level vocabulary contains whitespace`);
    }
    const previous = seen.get(token);
    if (previous !== undefined) throw fail(`token ${id} (${JSON.stringify(token)}) duplicates token ${previous}`);
    seen.set(token, id);
    out[id] = token;
  }
  return out;
}

/**
 * Checks specials: an object of distinct integer ids in [0, vocabSize); the word level needs
 * `unk` and `eos`. Returns a copy.
 */
export function checkSpecials(specials: unknown, vocabSize: number, level: 'char' | 'word', fail: Fail): Record<string, number> {
  if (typeof specials !== 'object' || specials === null || Array.isArray(specials)) {
    throw fail(`"specials" must be an object of name: id, got ${typeOf(specials)}`);
  }
  const out: Record<string, number> = {};
  const byId = new Map<number, string>();
  for (const [name, id] of Object.entries(specials)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw fail(`special "${name}" must be a token id in [0, ${vocabSize}), got ${JSON.stringify(id)}`);
    }
    const other = byId.get(id);
    if (other !== undefined) throw fail(`specials "${other}" and "${name}" share the id ${id}`);
    byId.set(id, name);
    out[name] = id;
  }
  if (level === 'word') {
    for (const name of [UNK, EOS]) {
      if (!(name in out)) throw fail(`a word-level vocabulary needs the special "${name}"`);
    }
  }
  return out;
}

export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Throws ERR_RNNLM_ARGUMENT unless `id` is a token id of a vocabulary of `vocabSize` tokens. */
export function checkId(id: number, vocabSize: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `token id ${String(id)} is out of range [0, ${vocabSize})`);
  }
}
