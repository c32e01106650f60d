// Word-level tokenizer with the Penn Treebank conventions of PyTorch's word_language_model:
// each line is split on whitespace and gets an <eos> at its end. Every line counts, blank ones
// included (a blank line is a lone <eos>, as Python's `line.split() + ['<eos>']` gives); a final
// line without a newline still gets its <eos>, and a text ending in "\n" has no extra empty line.
//
// Ids: <unk> = 0 and <eos> = 1, then the words by descending count, ties in order of first
// appearance, so that the same text always gives the same ids. A literal "<unk>" or "<eos>" in
// the text (PTB has "<unk>") is that special, not a word of its own.
import { rnnlmError } from '../errors.js';
import { Detokenizer, LINE_BREAK } from './detokenize.js';
import type { IncrementalDecoder, Tokenizer, VocabJSON } from './tokenizer.js';
import { checkId, checkSpecials, checkTokens, EOS, UNK, type Fail } from './vocab_check.js';

export const UNK_TOKEN = '<unk>';
export const EOS_TOKEN = '<eos>';

export interface WordTokenizerOptions {
  /** Words seen fewer times than this become <unk> (default 1: keep every word). */
  minCount?: number;
  /**
   * Largest vocabulary, the specials included (PTB's is 10,000); the rarest words beyond it
   * become <unk>. Default: no limit.
   */
  maxVocab?: number;
}

const WHITESPACE = /\s+/;

/**
 * Calls `onWord` for every whitespace-separated word and `onLineEnd` at the end of every line
 * (see the header for which lines count).
 */
export function forEachWord(text: string, onWord: (word: string) => void, onLineEnd: () => void): void {
  const n = text.length;
  let start = 0;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    if (end > start) {
      for (const word of text.slice(start, end).split(WHITESPACE)) if (word.length > 0) onWord(word);
    }
    onLineEnd();
    start = end + 1;
  }
}

/** The tokens of `text` as strings, <eos> included (for inspection and tests). */
export function splitWords(text: string): string[] {
  const out: string[] = [];
  forEachWord(text, (w) => out.push(w), () => out.push(EOS_TOKEN));
  return out;
}

export class WordTokenizer implements Tokenizer {
  readonly level = 'word' as const;
  readonly specials: Readonly<Record<string, number>>;
  readonly unkId: number;
  readonly eosId: number;
  private readonly tokens: readonly string[];
  private readonly index = new Map<string, number>();

  /**
   * @param tokens words in id order (ERR_RNNLM_ARGUMENT when empty, duplicated or with whitespace).
   * @param specials at least { unk, eos }.
   */
  constructor(tokens: readonly string[], specials: Record<string, number>) {
    const fail: Fail = (message) => rnnlmError('ERR_RNNLM_ARGUMENT', `WordTokenizer: ${message}`);
    this.tokens = checkTokens(tokens, 'word', fail);
    this.specials = Object.freeze(checkSpecials(specials, this.tokens.length, 'word', fail));
    this.unkId = this.specials[UNK]!;
    this.eosId = this.specials[EOS]!;
    this.tokens.forEach((token, id) => this.index.set(token, id));
  }

  /** The vocabulary of `text` (see the header for the order and the specials). */
  static fromText(text: string, options: WordTokenizerOptions = {}): WordTokenizer {
    if (typeof text !== 'string') throw rnnlmError('ERR_RNNLM_ARGUMENT', 'WordTokenizer.fromText: text must be a string', 'type');
    const minCount = options.minCount ?? 1;
    if (!Number.isInteger(minCount) || minCount < 1) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `minCount must be a positive integer, got ${String(minCount)}`);
    }
    const maxVocab = options.maxVocab;
    if (maxVocab !== undefined && (!Number.isInteger(maxVocab) || maxVocab < 2)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `maxVocab must be an integer of at least 2 (<unk> and <eos>), got ${String(maxVocab)}`);
    }
    // A Map keeps insertion order, i.e. first appearance, which the stable sort keeps for ties.
    const counts = new Map<string, number>();
    let words = 0;
    forEachWord(
      text,
      (word) => {
        words++;
        counts.set(word, (counts.get(word) ?? 0) + 1);
      },
      () => {},
    );
    if (words === 0) throw rnnlmError('ERR_RNNLM_DATA', 'cannot build a word vocabulary: the text has no words');
    counts.delete(UNK_TOKEN);
    counts.delete(EOS_TOKEN);
    let kept = [...counts].filter(([, count]) => count >= minCount).sort((a, b) => b[1] - a[1]);
    if (maxVocab !== undefined) kept = kept.slice(0, maxVocab - 2);
    return new WordTokenizer([UNK_TOKEN, EOS_TOKEN, ...kept.map(([word]) => word)], { [UNK]: 0, [EOS]: 1 });
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  /** Words to ids, <eos> at each line end; words outside the vocabulary become <unk>. */
  encode(text: string, _source?: string): Int32Array {
    let out = new Int32Array(Math.max(16, text.length >> 2));
    let n = 0;
    const push = (id: number): void => {
      if (n === out.length) {
        const grown = new Int32Array(out.length * 2);
        grown.set(out);
        out = grown;
      }
      out[n++] = id;
    };
    const unk = this.unkId;
    forEachWord(
      text,
      (word) => push(this.index.get(word) ?? unk),
      () => push(this.eosId),
    );
    return out.slice(0, n);
  }

  decode(ids: ArrayLike<number>): string {
    const joiner = new Detokenizer();
    let out = '';
    for (let i = 0; i < ids.length; i++) out += joiner.push(this.piece(ids[i]!));
    return out;
  }

  token(id: number): string {
    checkId(id, this.tokens.length);
    return this.tokens[id]!;
  }

  decoder(): IncrementalDecoder {
    const joiner = new Detokenizer();
    return { push: (id: number) => joiner.push(this.piece(id)) };
  }

  toJSON(): VocabJSON {
    return { level: 'word', tokens: [...this.tokens], specials: { ...this.specials } };
  }

  /** The id of a word, or undefined when it is not in the vocabulary. */
  idOf(word: string): number | undefined {
    return this.index.get(word);
  }

  private piece(id: number): string {
    const token = this.token(id);
    return id === this.eosId ? LINE_BREAK : token;
  }
}
