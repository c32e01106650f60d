// Batches of sentence indices: a fresh shuffle every training epoch (as the reference's
// DataLoader(shuffle=True)), drawn from a seeded SplitMix stream so that a seed repeats a run;
// evaluation batches sorted by length, which changes no sum but keeps packed steps full.
import { SampleRandom, shuffleInPlace } from '../sample/pick.js';

/** Epoch `epoch`'s training batches of `count` sentences (the last one may be smaller). */
export function trainingBatches(count: number, batch: number, seed: number, epoch: number): number[][] {
  const random = new SampleRandom((seed * 0x9e3779b1 + epoch * 0x85ebca6b) >>> 0);
  const order = shuffleInPlace(Array.from({ length: count }, (_, i) => i), random);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batch) out.push(order.slice(i, i + batch));
  return out;
}

/** Evaluation batches: indices sorted by decreasing length, cut every `batch`. */
export function evaluationBatches(lengths: ArrayLike<number>, batch: number): number[][] {
  const order = Array.from({ length: lengths.length }, (_, i) => i).sort((a, b) => lengths[b]! - lengths[a]!);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batch) out.push(order.slice(i, i + batch));
  return out;
}
