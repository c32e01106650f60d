// The sentence VAE's vocabulary: the four specials of the reference implementation first
// (<pad> 0, <unk> 1, <sos> 2, <eos> 3), then the words of the training sentences by descending
// count (ties in order of first appearance, so the same data always give the same ids). Words
// seen fewer than `minCount` times become <unk>. Saved as a word-level vocab.json whose specials
// name all four.
import { rnnlmError } from '../errors.js';
import type { VocabJSON } from '../data/tokenizer.js';
import { checkSpecials, checkTokens, type Fail } from '../data/vocab_check.js';
import type { VaeSpecials } from '../models/sentence_vae.js';

export const PAD_TOKEN = '<pad>';
export const UNK_TOKEN = '<unk>';
export const SOS_TOKEN = '<sos>';
export const EOS_TOKEN = '<eos>';
const SPECIAL_TOKENS = [PAD_TOKEN, UNK_TOKEN, SOS_TOKEN, EOS_TOKEN] as const;
const SPECIAL_NAMES = ['pad', 'unk', 'sos', 'eos'] as const;

export interface SentenceVocabOptions {
  /** Words seen fewer times than this become <unk> (default 1: keep every word). */
  minCount?: number;
}

export class SentenceVocab {
  readonly tokens: readonly string[];
  readonly specials: Readonly<VaeSpecials>;
  readonly #index = new Map<string, number>();

  /** `tokens` in id order; `specials` must name pad, unk, sos and eos. */
  constructor(tokens: readonly string[], specials: VaeSpecials, fail: Fail = (m) => rnnlmError('ERR_RNNLM_ARGUMENT', `SentenceVocab: ${m}`)) {
    this.tokens = Object.freeze(checkTokens(tokens, 'word', fail));
    const checked = checkSpecials(specials, this.tokens.length, 'word', fail);
    for (const name of SPECIAL_NAMES) if (!(name in checked)) throw fail(`a sentence-VAE vocabulary needs the special "${name}"`);
    this.specials = Object.freeze({ pad: checked.pad!, unk: checked.unk!, sos: checked.sos!, eos: checked.eos! });
    this.tokens.forEach((t, i) => this.#index.set(t, i));
  }

  /** The vocabulary of tokenised training sentences (see the header). */
  static fromSentences(sentences: readonly (readonly string[])[], options: SentenceVocabOptions = {}): SentenceVocab {
    const minCount = options.minCount ?? 1;
    if (!Number.isInteger(minCount) || minCount < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `minCount must be a positive integer, got ${minCount}`);
    const counts = new Map<string, number>();
    for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
    for (const t of SPECIAL_TOKENS) counts.delete(t);
    if (counts.size === 0) throw rnnlmError('ERR_RNNLM_DATA', 'cannot build a vocabulary: the training sentences have no words');
    // Array.prototype.sort is stable: equal counts keep their order of first appearance.
    const words = [...counts].filter(([, n]) => n >= minCount).sort((a, b) => b[1] - a[1]).map(([w]) => w);
    if (words.length === 0) throw rnnlmError('ERR_RNNLM_DATA', `no word of the training sentences is seen at least ${minCount} times (--min-count)`);
    return new SentenceVocab([...SPECIAL_TOKENS, ...words], { pad: 0, unk: 1, sos: 2, eos: 3 });
  }

  /** Checks a saved vocab.json (ERR_RNNLM_CHECKPOINT naming `source`). */
  static fromJSON(json: unknown, source: string): SentenceVocab {
    const fail: Fail = (m) => rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: ${m}`);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('the vocabulary must be a JSON object with level, tokens and specials');
    const { level, tokens, specials } = json as Record<string, unknown>;
    if (level !== 'word') throw fail(`"level" must be "word" for a sentence VAE, got ${JSON.stringify(level) ?? 'nothing'}`);
    return new SentenceVocab(tokens as string[], specials as VaeSpecials, fail);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Word ids of a tokenised sentence; unknown words (and literal specials) are <unk>. */
  encode(words: readonly string[]): Int32Array {
    const out = new Int32Array(words.length);
    const { unk, pad, sos, eos } = this.specials;
    for (let i = 0; i < words.length; i++) {
      const id = this.#index.get(words[i]!);
      out[i] = id === undefined || id === pad || id === sos || id === eos ? unk : id;
    }
    return out;
  }

  /** How many of `words` are not in the vocabulary (literal "<unk>" included). */
  unknownCount(words: readonly string[]): number {
    let n = 0;
    for (const w of words) {
      const id = this.#index.get(w);
      if (id === undefined || id === this.specials.unk) n++;
    }
    return n;
  }

  token(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) throw rnnlmError('ERR_RNNLM_ARGUMENT', `token id ${id} is out of range [0, ${this.tokens.length})`);
    return this.tokens[id]!;
  }

  /** Ids to a sentence: the words joined by spaces. */
  decode(ids: ArrayLike<number>): string {
    const words: string[] = [];
    for (let i = 0; i < ids.length; i++) words.push(this.token(ids[i]!));
    return words.join(' ');
  }

  toJSON(): VocabJSON {
    return { level: 'word', tokens: [...this.tokens], specials: { ...this.specials } };
  }
}
