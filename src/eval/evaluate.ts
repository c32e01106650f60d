// Scoring a LanguageModel: the summed negative log-likelihood of chunks of (T, B) targets with
// the recurrent state carried from chunk to chunk, accumulated in float64.
import { noGrad } from '../autograd.js';
import type { Chunk } from '../data/stream.js';
import { softmaxNll } from '../functional.js';
import { disposeState, type LanguageModel, type LanguageModelState } from '../models/language_model.js';
import { rnnlmError } from '../errors.js';
import { fromInt32Array, tidy } from '../tensor.js';

export type { Chunk };

export interface Score {
  /** Predicted tokens. */
  tokens: number;
  /** Mean negative log-likelihood, nats per token. */
  nll: number;
  ppl: number;
}

/** Scores `chunks` (each (T, batch)) in eval mode; the state starts at zero. */
export function scoreChunks(model: LanguageModel, chunks: Iterable<Chunk>, batch: number): Score {
  const wasTraining = model.training;
  model.eval();
  let state: LanguageModelState | null = null;
  let total = 0;
  let tokens = 0;
  const device = model.embedding.weight.device;
  try {
    noGrad(() => {
      for (const chunk of chunks) {
        const previous: LanguageModelState | null = state;
        const { sum, next } = tidy(() => {
          const inputs = fromInt32Array(chunk.inputs, [chunk.steps, batch], { device });
          const targets = fromInt32Array(chunk.targets, [chunk.steps * batch], { device });
          const out = model.forward(inputs, previous);
          return { sum: softmaxNll(out.logits, targets, { reduction: 'sum' }).loss.item(), next: out.state };
        });
        disposeState(previous);
        state = next;
        total += sum;
        tokens += chunk.steps * batch;
      }
    });
  } finally {
    disposeState(state);
    model.train(wasTraining);
  }
  if (tokens === 0) throw rnnlmError('ERR_RNNLM_DATA', 'no tokens to score');
  const nll = total / tokens;
  if (Number.isNaN(nll)) {
    throw rnnlmError('ERR_RNNLM_NAN', `the model's loss on these ${tokens} tokens is NaN: its weights are not finite (a diverged run?)`);
  }
  return { tokens, nll, ppl: Math.exp(nll) };
}
