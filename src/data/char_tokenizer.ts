// Character-level tokenizer, as char-rnn: the vocabulary is the set of characters of the training
// text, sorted, with no specials (tiny-shakespeare gives 65). Characters are Unicode code points,
// not UTF-16 units, so an emoji is one token and never half a surrogate pair.
import { rnnlmError } from '../errors.js';
import type { IncrementalDecoder, Tokenizer, VocabJSON } from './tokenizer.js';
import { checkId, checkSpecials, checkTokens, type Fail } from './vocab_check.js';

const NOT_IN_VOCAB = -1;

export class CharTokenizer implements Tokenizer {
  readonly level = 'char' as const;
  readonly specials: Readonly<Record<string, number>>;
  private readonly tokens: readonly string[];
  // Code point -> id: a dense table for the Basic Multilingual Plane (where nearly all text
  // lives, so encoding a corpus is one array read per character), a map for the rest.
  private readonly bmp = new Int32Array(0x10000).fill(NOT_IN_VOCAB);
  private readonly astral = new Map<number, number>();

  /**
   * @param tokens one character per id (ERR_RNNLM_ARGUMENT when empty, duplicated or longer).
   * @param specials named ids; none for vocabularies built from text.
   */
  constructor(tokens: readonly string[], specials: Record<string, number> = {}) {
    const fail: Fail = (message) => rnnlmError('ERR_RNNLM_ARGUMENT', `CharTokenizer: ${message}`);
    this.tokens = checkTokens(tokens, 'char', fail);
    this.specials = Object.freeze(checkSpecials(specials, this.tokens.length, 'char', fail));
    this.tokens.forEach((token, id) => {
      const cp = token.codePointAt(0)!;
      if (cp < 0x10000) this.bmp[cp] = id;
      else this.astral.set(cp, id);
    });
  }

  /** The vocabulary of `text`: its distinct code points in ascending order. */
  static fromText(text: string): CharTokenizer {
    if (typeof text !== 'string') throw rnnlmError('ERR_RNNLM_ARGUMENT', 'CharTokenizer.fromText: text must be a string', 'type');
    const points = new Set<number>();
    for (const ch of text) points.add(ch.codePointAt(0)!);
    if (points.size === 0) throw rnnlmError('ERR_RNNLM_DATA', 'cannot build a character vocabulary from empty text');
    const sorted = [...points].sort((a, b) => a - b);
    return new CharTokenizer(sorted.map((cp) => String.fromCodePoint(cp)));
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  encode(text: string, source?: string): Int32Array {
    const out = new Int32Array(text.length);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const start = i;
      let cp = text.charCodeAt(i);
      let id: number;
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          i++;
        }
      }
      if (cp < 0x10000) id = this.bmp[cp]!;
      else id = this.astral.get(cp) ?? NOT_IN_VOCAB;
      if (id === NOT_IN_VOCAB) throw this.unknownCharacter(text, start, cp, source);
      out[n++] = id;
    }
    return n === out.length ? out : out.slice(0, n);
  }

  decode(ids: ArrayLike<number>): string {
    let out = '';
    for (let i = 0; i < ids.length; i++) out += this.token(ids[i]!);
    return out;
  }

  token(id: number): string {
    checkId(id, this.tokens.length);
    return this.tokens[id]!;
  }

  decoder(): IncrementalDecoder {
    return { push: (id: number) => this.token(id) };
  }

  toJSON(): VocabJSON {
    return { level: 'char', tokens: [...this.tokens], specials: { ...this.specials } };
  }

  private unknownCharacter(text: string, index: number, cp: number, source: string | undefined): Error {
    const lineStart = text.lastIndexOf('\n', index - 1) + 1;
    let line = 1;
    for (let i = 0; i < lineStart; i++) if (text.charCodeAt(i) === 10) line++;
    let column = 1;
    for (const _ of text.slice(lineStart, index)) column++;
    const where = `line ${line}, column ${column}${source !== undefined ? ` of ${source}` : ''}`;
    return rnnlmError(
      'ERR_RNNLM_DATA',
      `the character ${describeCharacter(cp)} at ${where} is not in the vocabulary (${this.tokens.length} characters): ` +
        `the data does not match the checkpoint's vocabulary`,
    );
  }
}

/** A character for a message: itself and its code point when visible, else only the code point. */
export function describeCharacter(cp: number): string {
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const ch = String.fromCodePoint(cp);
  // Letters, digits, punctuation and symbols show; spaces, controls, format characters and
  // lone combining marks would print as nothing (or break the message), so only the code is shown.
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) ? `'${ch}' (${hex})` : hex;
}
