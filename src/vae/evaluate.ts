// Scoring sentences with a SentenceVAE: the negative ELBO's two terms summed over a whole set
// and averaged per sentence (the reference's and Bowman et al.'s way of reporting), with z drawn
// from q(z|x) (the ELBO estimate) unless the mean is asked for. Dropout is off; the teacher
// forcing ratio is the caller's (below 1 the decoder reads its own predictions at that rate).
import { noGrad } from '../autograd.js';
import type { SentenceVAE, ZMode } from '../models/sentence_vae.js';
import { Generator } from '../random.js';
import { tidy } from '../tensor.js';
import { evaluationBatches } from './batches.js';

export interface VaeScore {
  sentences: number;
  /** Target tokens scored (each sentence's words, cut to maxLength - 1, plus <eos>). */
  tokens: number;
  /** Per sentence: summed token NLL, KL(q(z|x) || p(z)), and their sum (the negative ELBO). */
  nll: number;
  kl: number;
  elbo: number;
  /** exp(NLL per token): a perplexity bound of the words. */
  ppl: number;
}

export interface EvaluateVaeOptions {
  batch?: number;
  teacherForcing?: number;
  z?: ZMode;
  /** Seed of the z draws (and teacher-forcing choices), so that a score repeats. */
  seed?: number;
}

/** Scores `sentences` (word ids); the model's mode is restored afterwards. */
export function evaluateVae(model: SentenceVAE, sentences: readonly Int32Array[], options: EvaluateVaeOptions = {}): VaeScore {
  const batch = options.batch ?? 64;
  const generator = new Generator(options.seed ?? 1);
  const batches = evaluationBatches(sentences.map((s) => s.length), batch);
  const wasTraining = model.training;
  model.eval();
  let nll = 0;
  let kl = 0;
  let tokens = 0;
  try {
    noGrad(() => {
      for (const b of batches) {
        const r = tidy(() => {
          const out = model.forward(
            b.map((i) => sentences[i]!),
            { teacherForcing: options.teacherForcing ?? 1, z: options.z ?? 'sample', generator },
          );
          return { nll: out.nll.item(), kl: out.kl.item(), tokens: out.tokens };
        });
        nll += r.nll;
        kl += r.kl;
        tokens += r.tokens;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const n = Math.max(1, sentences.length);
  return { sentences: sentences.length, tokens, nll: nll / n, kl: kl / n, elbo: (nll + kl) / n, ppl: Math.exp(nll / Math.max(1, tokens)) };
}
