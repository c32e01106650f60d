// The token ids a language-model run trains and validates on: read the text (or the bundled
// corpus), build or reuse the vocabulary, split off validation, and fingerprint the result so
// that a resumed run can prove it sees the same data.
import { resolve } from 'node:path';
import { defaultCorpus, readCorpus, splitTrainValid, CharTokenizer, WordTokenizer, type Tokenizer } from '../data/index.js';
import type { SkippedFile } from '../data/reader.js';
import { rnnlmError } from '../errors.js';
import { fingerprint } from '../data/fingerprint.js';
import type { LmTrainOptions } from './lm_options.js';

export interface LmData {
  tokenizer: Tokenizer;
  train: Int32Array;
  valid: Int32Array;
  /** Where the text came from, for messages and the run's record. */
  source: string;
  /** FNV-1a over both id sequences: equal data gives an equal fingerprint. */
  fingerprint: string;
  /** Files of the data folders left out (binary, empty), to be reported once. */
  skipped: SkippedFile[];
}

/**
 * Loads the run's data. With `tokenizer` (a resumed run or a checkpoint's vocabulary) the text
 * is encoded with it; otherwise the vocabulary is built from the training text alone.
 */
export function loadLmData(options: LmTrainOptions, tokenizer: Tokenizer | null = null): LmData {
  const skipped: SkippedFile[] = [];
  const read = (path: string): string => {
    const corpus = readCorpus(path);
    skipped.push(...corpus.skipped);
    return corpus.text;
  };
  const corpus = options.data === null ? { text: defaultCorpus().text, source: 'moby-dick (bundled)' } : { text: read(options.data), source: resolve(options.data) };
  let trainText = corpus.text;
  let validText: string;
  if (options.valid !== null) {
    validText = read(options.valid);
  } else {
    const split = splitTrainValid(corpus.text, options.validFraction, options.level);
    trainText = split.train;
    validText = split.valid;
  }
  const tok =
    tokenizer ??
    (options.level === 'char'
      ? // Every character of the text, validation included (as char-rnn): a character seen only
        // in the held-out part must not abort training. Word vocabularies see training text only.
        CharTokenizer.fromText(trainText + validText)
      : WordTokenizer.fromText(trainText, { minCount: options.minCount, ...(options.maxVocab === null ? {} : { maxVocab: options.maxVocab }) }));
  if (tok.level !== options.level) {
    throw rnnlmError('ERR_RNNLM_DATA', `the vocabulary is ${tok.level}-level but the run asks for ${options.level}-level tokens`);
  }
  const train = tok.encode(trainText, options.data ?? 'the bundled corpus');
  const valid = tok.encode(validText, options.valid ?? options.data ?? 'the bundled corpus');
  return { tokenizer: tok, train, valid, source: corpus.source, fingerprint: fingerprint(train, valid), skipped };
}
