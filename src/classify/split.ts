// The held-out split of a classification data set: stratified, so that every label keeps its
// share on both sides (a rare language would otherwise miss the test set, or the training set),
// and seeded, so that a run and its reference compare on the same examples.
import { rnnlmError } from '../errors.js';
import { SampleRandom, shuffleInPlace } from '../sample/pick.js';

export interface IndexSplit {
  /** Indices of the training examples, ascending. */
  train: number[];
  /** Indices of the held-out examples, ascending. */
  test: number[];
}

/**
 * Holds out round(n_c * testFraction) examples of every label c, drawn at random under `seed`;
 * a label with two or more examples keeps at least one on each side, a label with one example
 * keeps it for training. Throws ERR_RNNLM_ARGUMENT for a fraction outside (0, 1), ERR_RNNLM_DATA
 * when nothing would be held out.
 */
export function stratifiedSplit(labels: ArrayLike<number>, testFraction: number, seed: number): IndexSplit {
  if (typeof testFraction !== 'number' || !(testFraction > 0 && testFraction < 1)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `the test fraction must be in (0, 1), got ${String(testFraction)}`);
  }
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    let list = byLabel.get(l);
    if (list === undefined) byLabel.set(l, (list = []));
    list.push(i);
  }
  const random = new SampleRandom(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const label of [...byLabel.keys()].sort((a, b) => a - b)) {
    const members = shuffleInPlace(byLabel.get(label)!, random);
    const n = members.length;
    const held = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
    test.push(...members.slice(0, held));
    train.push(...members.slice(held));
  }
  if (test.length === 0) {
    throw rnnlmError('ERR_RNNLM_DATA', `no label has two examples, so none can be held out for testing (${labels.length} examples)`);
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}
