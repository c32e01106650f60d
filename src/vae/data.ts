// The sentences of a VAE training run: read (a file in the lines or text format, or the bundled
// book), split into training and validation sentences, the vocabulary built from the training
// sentences alone, and every sentence turned into word ids.
import type { SkippedFile } from '../data/reader.js';
import { basename } from 'node:path';
import { rnnlmError } from '../errors.js';
import { concatenateSequences, fingerprint } from '../data/fingerprint.js';
import type { VaeTrainOptions } from './options.js';
import { defaultSentences, readSentences, type SentenceFormat } from './sentences.js';
import { SentenceVocab } from './vocab.js';

export interface VaeData {
  vocab: SentenceVocab;
  train: Int32Array[];
  valid: Int32Array[];
  format: SentenceFormat;
  /** Where the sentences came from, for messages. */
  source: string;
  /** Of every sentence's ids, in order (train, then valid): equal data, equal fingerprint. */
  fingerprint: string;
  /** Files of the data folder left out (binary, empty), to be reported once. */
  skipped: SkippedFile[];
}

/**
 * Reads the run's sentences. With `vocab` (a resumed run) they are encoded with it; otherwise the
 * vocabulary is built from the training sentences alone.
 */
export function loadVaeData(o: VaeTrainOptions, vocab: SentenceVocab | null = null): VaeData {
  let trainWords: string[][];
  let validWords: string[][];
  let format: SentenceFormat;
  let source: string;
  const skipped: SkippedFile[] = [];
  if (o.data === null) {
    format = o.format ?? 'text';
    const corpus = defaultSentences();
    trainWords = corpus.sentences;
    source = `${corpus.name} (bundled)`;
  } else {
    format = o.format ?? 'lines';
    trainWords = readSentences(o.data, format, { skipped });
    source = basename(o.data);
  }
  if (o.valid !== null) {
    validWords = readSentences(o.valid, format, { skipped });
  } else {
    const held = Math.max(1, Math.round(trainWords.length * o.validFraction));
    if (held >= trainWords.length) {
      throw rnnlmError('ERR_RNNLM_DATA', `${source}: ${trainWords.length} sentence(s) are too few to hold out ${Math.round(o.validFraction * 100)}% for validation; pass --valid FILE`);
    }
    validWords = trainWords.slice(trainWords.length - held);
    trainWords = trainWords.slice(0, trainWords.length - held);
  }
  const v = vocab ?? SentenceVocab.fromSentences(trainWords, { minCount: o.minCount });
  const train = trainWords.map((s) => v.encode(s));
  const valid = validWords.map((s) => v.encode(s));
  return { vocab: v, train, valid, format, source, fingerprint: fingerprint(...concatenateSequences(train), ...concatenateSequences(valid)), skipped };
}
