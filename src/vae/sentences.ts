// Sentences for the sentence VAE, as lists of lower-cased tokens. Two formats:
//   lines: one sentence per line, whitespace tokenised (Penn Treebank's ptb.*.txt); blank lines
//          are skipped;
//   text:  running text (a book), split into words and punctuation and then into sentences after
//          . ! ? (closing quotes and brackets stay with their sentence; a few abbreviations such
//          as "mr." do not end one; a blank line ends a paragraph and so a sentence).
// Both lower-case everything, as the reference implementation's tokenizer does.
import { readCorpus, readTextFile, type SkippedFile } from '../data/reader.js';
import { defaultCorpus } from '../data/default_corpus.js';
import { rnnlmError } from '../errors.js';

export type SentenceFormat = 'lines' | 'text';
export const SENTENCE_FORMATS: readonly SentenceFormat[] = ['lines', 'text'];

/** One sentence per non-blank line, whitespace tokens, lower-cased. */
export function lineSentences(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().toLowerCase().split(/\s+/).filter((w) => w.length > 0);
    if (words.length > 0) out.push(words);
  }
  return out;
}

// Letters and digits, with inner apostrophes and hyphens kept ("don't", "sperm-whale", "1851"),
// or any single other visible character (punctuation).
const TOKEN = /[\p{L}\p{N}]+(?:['’\-][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;
const ENDS = new Set(['.', '!', '?']);
const CLOSERS = new Set(['"', "'", '’', '”', ')', ']']);
const ABBREVIATIONS = new Set(['mr', 'mrs', 'dr', 'st', 'capt', 'messrs', 'mt', 'vs', 'etc', 'ie', 'eg', 'no']);

/** Running text split into sentences of lower-cased word and punctuation tokens. */
export function textSentences(text: string): string[][] {
  const out: string[][] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const tokens = paragraph.toLowerCase().match(TOKEN) ?? [];
    let current: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      current.push(t);
      if (!ENDS.has(t)) continue;
      const previous = current.length >= 2 ? current[current.length - 2]! : '';
      if (t === '.' && ABBREVIATIONS.has(previous)) continue;
      // "...!" or "?!": the sentence ends after the last mark, and after closing quotes.
      while (i + 1 < tokens.length && (ENDS.has(tokens[i + 1]!) || CLOSERS.has(tokens[i + 1]!))) current.push(tokens[++i]!);
      out.push(current);
      current = [];
    }
    if (current.length > 0) out.push(current);
  }
  return out;
}

export function sentencesOf(text: string, format: SentenceFormat): string[][] {
  if (format === 'lines') return lineSentences(text);
  if (format === 'text') return textSentences(text);
  throw rnnlmError('ERR_RNNLM_ARGUMENT', `the sentence format must be lines or text, got '${String(format)}'`);
}

/** Sentences of a file (or folder, for training data) in `format`; ERR_RNNLM_DATA when there are none. */
export function readSentences(path: string, format: SentenceFormat, options: { singleFile?: boolean; skipped?: SkippedFile[] } = {}): string[][] {
  let text: string;
  if (options.singleFile === true) {
    text = readTextFile(path);
  } else {
    const corpus = readCorpus(path);
    options.skipped?.push(...corpus.skipped);
    text = corpus.text;
  }
  const sentences = sentencesOf(text, format);
  if (sentences.length === 0) throw rnnlmError('ERR_RNNLM_DATA', `${path} holds no sentences`);
  return sentences;
}

/** The bundled corpus (Moby Dick) as sentences of running text. */
export function defaultSentences(): { name: string; sentences: string[][] } {
  const corpus = defaultCorpus();
  return { name: corpus.name, sentences: textSentences(corpus.text) };
}
