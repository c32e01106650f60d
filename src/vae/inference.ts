// Sentences in, sentences out: the SentenceVAE's sampling, interpolation and reconstruction
// wrapped with its vocabulary and the tokenisation its checkpoint was trained with.
import { noGrad } from '../autograd.js';
import { rnnlmError } from '../errors.js';
import type { DecodeOptions, SentenceVAE } from '../models/sentence_vae.js';
import { Generator } from '../random.js';
import { sentencesOf, type SentenceFormat } from './sentences.js';
import type { SentenceVocab } from './vocab.js';

export interface DecodedSentence {
  text: string;
  /** The latent code it was decoded from (empty for the LM baseline). */
  z: number[];
}

export interface SampleOptions {
  /** 0 or undefined: greedy (the reference's decoding); > 0: sampling at this temperature. */
  temperature?: number;
  seed?: number;
}

/** Tokenises one sentence as the training data were (all its tokens, as one sentence). */
export function tokenizeSentence(text: string, format: SentenceFormat): string[] {
  const words = sentencesOf(text.replace(/\n/g, ' '), format).flat();
  if (words.length === 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `the sentence ${JSON.stringify(text)} has no words`);
  return words;
}

function decodeOptions(options: SampleOptions): DecodeOptions {
  return { temperature: options.temperature ?? 0, generator: new Generator(options.seed ?? 1) };
}

function describe(vocab: SentenceVocab, r: { sentences: number[][]; z: number[][] }): DecodedSentence[] {
  return r.sentences.map((ids, i) => ({ text: vocab.decode(ids), z: r.z[i] ?? [] }));
}

/** n sentences decoded from z ~ N(0, I). */
export function sampleSentences(model: SentenceVAE, vocab: SentenceVocab, n: number, options: SampleOptions = {}): DecodedSentence[] {
  return describe(vocab, model.sample(n, decodeOptions(options)));
}

/**
 * The codes linspace(z1, z2, steps + 2) decoded, where z1, z2 are the posterior means of two
 * sentences, or (without them) two draws from N(0, I).
 */
export function interpolateSentences(
  model: SentenceVAE,
  vocab: SentenceVocab,
  format: SentenceFormat,
  steps: number,
  options: SampleOptions & { from?: string; to?: string } = {},
): DecodedSentence[] {
  const generator = new Generator(options.seed ?? 1);
  let z1: number[];
  let z2: number[];
  if (options.from !== undefined || options.to !== undefined) {
    if (options.from === undefined || options.to === undefined) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'interpolation between sentences needs both --from and --to');
    const ids = [vocab.encode(tokenizeSentence(options.from, format)), vocab.encode(tokenizeSentence(options.to, format))];
    const means = noGrad(() => {
      const { mean, logv } = model.encode(ids);
      logv.dispose();
      const data = mean.toFloat32Array();
      mean.dispose();
      return data;
    });
    const Z = means.length / 2;
    [z1, z2] = [Array.from(means.subarray(0, Z)), Array.from(means.subarray(Z))];
  } else {
    const draws = model.sample(2, { generator }).z;
    [z1, z2] = [draws[0]!, draws[1]!];
  }
  return describe(vocab, model.interpolate(z1, z2, steps, { temperature: options.temperature ?? 0, generator }));
}

/** Each sentence encoded to its posterior mean and decoded greedily. */
export function reconstructSentences(model: SentenceVAE, vocab: SentenceVocab, format: SentenceFormat, sentences: readonly string[]): DecodedSentence[] {
  const ids = sentences.map((s) => vocab.encode(tokenizeSentence(s, format)));
  return describe(vocab, model.reconstruct(ids));
}
