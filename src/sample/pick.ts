// Picking the next token from a row of logits: greedy, or a draw after temperature, top-k and
// top-p (nucleus) filtering, as in Hugging Face's and PyTorch examples' samplers.
import { rnnlmError } from '../errors.js';

export interface PickOptions {
  /** Divides the logits; < 1 sharpens, > 1 flattens. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1: all). */
  topP?: number;
  /** Always take the most likely token. */
  greedy?: boolean;
}

/** A seeded uniform [0, 1) source (SplitMix32), so sampling repeats under a seed. */
export class SampleRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The stream's position: `new SampleRandom(r.state)` continues where `r` is. */
  get state(): number {
    return this.#state;
  }

  next(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  }
}

/** Shuffles `items` in place (Fisher-Yates) with `random`; returns them. */
export function shuffleInPlace<T>(items: T[], random: SampleRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}

export function checkPickOptions(options: PickOptions): void {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!Number.isFinite(temperature) || temperature <= 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `temperature must be > 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `top-k must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw rnnlmError('ERR_RNNLM_ARGUMENT', `top-p must be in (0, 1], got ${topP}`);
}

/** The first index of the largest value. */
export function argmaxId(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** The next token id from `logits` (V); `random` is used unless greedy. */
export function pickToken(logits: Float32Array, options: PickOptions, random: SampleRandom): number {
  if (options.greedy === true) return argmaxId(logits);
  const temperature = options.temperature ?? 1;
  const vocab = logits.length;
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[i]! > max) max = logits[i]!;
  // Candidates sorted by probability, most likely first (softmax is monotone in the logits).
  const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
  const probs = order.map((i) => Math.exp((logits[i]! - max) / temperature));
  let keep = options.topK !== undefined && options.topK > 0 ? Math.min(options.topK, vocab) : vocab;
  let total = 0;
  for (let i = 0; i < keep; i++) total += probs[i]!;
  const topP = options.topP ?? 1;
  if (topP < 1) {
    let mass = 0;
    for (let i = 0; i < keep; i++) {
      mass += probs[i]! / total;
      if (mass >= topP) {
        keep = i + 1;
        break;
      }
    }
    total = 0;
    for (let i = 0; i < keep; i++) total += probs[i]!;
  }
  let u = random.next() * total;
  for (let i = 0; i < keep; i++) {
    u -= probs[i]!;
    if (u < 0) return order[i]!;
  }
  return order[keep - 1]!;
}
