// The tokenizer contract shared by training, sampling, evaluation and checkpoints. A vocabulary
// is saved as the checkpoint's vocab.json (VocabJSON) and must load back to the same ids.
// The two tokenizers implement it (char_tokenizer.ts, word_tokenizer.ts); tokenizer_factory.ts
// builds one from text or from vocab.json.

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
