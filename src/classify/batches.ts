// Batches of examples for the packed recurrence. Training batches are bucketed by length: the
// shuffled examples are cut into pools of `poolBatches` batches, each pool sorted by length and
// cut into batches, and the batches shuffled. Names in a batch then have similar lengths, so the
// packed time steps stay full (batch_sizes shrink little), while every epoch still mixes
// examples differently. Evaluation batches are simply sorted by length.
import { SampleRandom, shuffleInPlace } from '../sample/pick.js';

/** Pools of this many batches are sorted by length (about 3,200 names at batch 64). */
export const POOL_BATCHES = 50;

/** One epoch's training batches: lists of example indices, each at most `batch` long. */
export function bucketedBatches(
  indices: readonly number[],
  lengths: ArrayLike<number>,
  batch: number,
  random: SampleRandom,
  poolBatches = POOL_BATCHES,
): number[][] {
  const order = shuffleInPlace([...indices], random);
  const pool = batch * poolBatches;
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += pool) {
    // Array.prototype.sort is stable: equal lengths keep their shuffled order.
    const part = order.slice(start, start + pool).sort((a, b) => lengths[a]! - lengths[b]!);
    for (let i = 0; i < part.length; i += batch) batches.push(part.slice(i, i + batch));
  }
  return shuffleInPlace(batches, random);
}

/** Evaluation batches: the examples sorted by length (longest first), cut every `batch`. */
export function sortedBatches(indices: readonly number[], lengths: ArrayLike<number>, batch: number): number[][] {
  const order = [...indices].sort((a, b) => lengths[b]! - lengths[a]!);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batch) batches.push(order.slice(i, i + batch));
  return batches;
}
