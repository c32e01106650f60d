// What a classifier run records about its data split, next to its checkpoints:
//  - split.json: the labels and every training and held-out example (text, label id), so that a
//    reference implementation (scripts/quality/torch_classifier.py) trains and tests on exactly
//    the same examples, and so that the run can be audited later;
//  - test.csv: the held-out examples as text,label rows, which `rnnlm classify eval --data`
//    reads directly.
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { ClassificationData } from './data.js';
import type { IndexSplit } from './split.js';

export const SPLIT_FILE = 'split.json';
export const TEST_CSV_FILE = 'test.csv';
export const SPLIT_FORMAT = 'rnnlm-classify-split';

export interface SplitJSON {
  format: typeof SPLIT_FORMAT;
  version: 1;
  source: string;
  seed: number;
  test_fraction: number;
  labels: string[];
  /** [text, label id] pairs. */
  train: [string, number][];
  test: [string, number][];
}

/** A CSV field, quoted when it holds a comma, a quote, a line break or edge spaces. */
export function csvField(value: string): string {
  return /[",\n\r]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Writes RUN/split.json and RUN/test.csv; returns their paths. */
export function writeSplitFiles(
  runDir: string,
  data: ClassificationData,
  split: IndexSplit,
  meta: { seed: number; testFraction: number },
): { split: string; testCsv: string } {
  const pairs = (indices: readonly number[]): [string, number][] => indices.map((i) => [data.examples[i]!.text, data.examples[i]!.label]);
  const json: SplitJSON = {
    format: SPLIT_FORMAT,
    version: 1,
    source: data.source,
    seed: meta.seed,
    test_fraction: meta.testFraction,
    labels: data.labels,
    train: pairs(split.train),
    test: pairs(split.test),
  };
  const splitPath = join(runDir, SPLIT_FILE);
  writeFileAtomic(splitPath, `${JSON.stringify(json)}\n`);
  const rows = ['text,label', ...split.test.map((i) => `${csvField(data.examples[i]!.text)},${csvField(data.labels[data.examples[i]!.label]!)}`)];
  const csvPath = join(runDir, TEST_CSV_FILE);
  writeFileAtomic(csvPath, `${rows.join('\n')}\n`);
  return { split: splitPath, testCsv: csvPath };
}
