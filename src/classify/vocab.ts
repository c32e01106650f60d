// The classifier's character vocabulary. Unlike a character language model, whose vocabulary is
// the whole alphabet of its text and which rightly refuses anything else, a classifier is asked
// about text it has never seen: a name with an accent that no training name had must still get
// an answer. So id 0 is reserved for unknown characters: special "unk", stored as the single
// character U+FFFD (the Unicode replacement character, whose meaning is exactly "a character
// that could not be represented"), because vocab.json's char level holds one character per
// token. The embedding row of id 0 is trained only by U+FFFD itself, should the data hold it;
// otherwise it stays at its initial value, a neutral random vector, like PyTorch examples'
// <unk> rows that no training token hits.
import { rnnlmError } from '../errors.js';
import { describeCharacter } from '../data/char_tokenizer.js';
import type { VocabJSON } from '../data/tokenizer.js';
import { tokenizerFromJSON } from '../data/tokenizer_factory.js';

/** The character standing for every unknown character (id 0). */
export const UNK_CHAR = '\uFFFD';
export const UNK_ID = 0;

export interface EncodedText {
  ids: Int32Array;
  /** Distinct characters of the text that are not in the vocabulary (each read as <unk>). */
  unknown: string[];
}

export class ClassifierVocab {
  readonly tokens: readonly string[];
  readonly #ids: Map<number, number>;

  /** `tokens[0]` must be UNK_CHAR; the others distinct single characters. */
  constructor(tokens: readonly string[]) {
    if (tokens[0] !== UNK_CHAR) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `ClassifierVocab: token 0 must be the unknown-character token U+FFFD`);
    }
    this.tokens = Object.freeze([...tokens]);
    this.#ids = new Map();
    tokens.forEach((t, id) => {
      const cp = t.codePointAt(0);
      if (cp === undefined || String.fromCodePoint(cp) !== t) {
        throw rnnlmError('ERR_RNNLM_ARGUMENT', `ClassifierVocab: token ${id} (${JSON.stringify(t)}) is not exactly one character`);
      }
      if (this.#ids.has(cp)) throw rnnlmError('ERR_RNNLM_ARGUMENT', `ClassifierVocab: token ${id} (${JSON.stringify(t)}) is a duplicate`);
      this.#ids.set(cp, id);
    });
  }

  /** <unk> then the distinct characters (code points) of `texts`, ascending. */
  static fromTexts(texts: Iterable<string>): ClassifierVocab {
    const points = new Set<number>();
    for (const text of texts) for (const ch of text) points.add(ch.codePointAt(0)!);
    points.delete(UNK_CHAR.codePointAt(0)!);
    const sorted = [...points].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp));
    return new ClassifierVocab([UNK_CHAR, ...sorted]);
  }

  /**
   * From a checkpoint's vocab.json: a valid char-level vocabulary (see tokenizerFromJSON) whose
   * special "unk" is id 0. Problems are ERR_RNNLM_CHECKPOINT naming `source`.
   */
  static fromJSON(json: unknown, source: string): ClassifierVocab {
    const checked = tokenizerFromJSON(json, source).toJSON();
    if (checked.level !== 'char') {
      throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: a classifier's vocabulary is char level, got "${checked.level}"`);
    }
    if (checked.specials['unk'] !== UNK_ID || checked.tokens[UNK_ID] !== UNK_CHAR) {
      throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: a classifier's vocabulary needs the special "unk" as token 0 ("\\uFFFD")`);
    }
    return new ClassifierVocab(checked.tokens);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Code points to ids; characters outside the vocabulary become <unk> and are listed. */
  encode(text: string): EncodedText {
    const ids: number[] = [];
    const unknown = new Set<string>();
    for (const ch of text) {
      const id = this.#ids.get(ch.codePointAt(0)!);
      if (id === undefined) unknown.add(ch);
      ids.push(id ?? UNK_ID);
    }
    return { ids: Int32Array.from(ids), unknown: [...unknown] };
  }

  toJSON(): VocabJSON {
    return { level: 'char', tokens: [...this.tokens], specials: { unk: UNK_ID } };
  }
}

/** "'é' (U+00E9), 'ß' (U+00DF)": unknown characters for a message. */
export function describeCharacters(chars: readonly string[]): string {
  return chars.map((c) => describeCharacter(c.codePointAt(0)!)).join(', ');
}
