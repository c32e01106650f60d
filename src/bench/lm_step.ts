// One training step of a language model (Embedding -> RNN stack -> Linear -> softmax-NLL ->
// backward -> global-norm clip -> Adam) on random tokens, timed as the median over steps after
// warm-up. This is the step the benchmark contract in DESIGN.md names; bench/pytorch_step.py
// times the same step in PyTorch.
import { checkLanguageModelPlan } from '../limits/plans.js';
import { checkSizes } from '../limits/model_plan.js';
import { backward } from '../autograd.js';
import { crossEntropy, reshape } from '../functional.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { setUnfusedCells } from '../nn/cell_path.js';
import { createRnn } from '../nn/create_rnn.js';
import type { RNNBase } from '../nn/rnn.js';
import { Adam } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { Generator } from '../random.js';
import { fromInt32Array, tidy, type Device, type Tensor } from '../tensor.js';

export type BenchCell = 'lstm' | 'gru' | 'rnn';
export type BenchMode = 'fused' | 'unfused';

export interface BenchConfig {
  cell: BenchCell;
  vocab: number;
  embedding: number;
  hidden: number;
  layers: number;
  batch: number;
  seq: number;
  device: Device;
  mode: BenchMode;
  /** Timed steps (the median is reported). */
  steps: number;
  /** Untimed steps first, so that allocations and caches settle. */
  warmup: number;
  seed: number;
}

export interface BenchResult {
  cell: BenchCell;
  vocab: number;
  embedding: number;
  hidden: number;
  layers: number;
  batch: number;
  seq: number;
  device: Device;
  mode: BenchMode;
  ms_per_step: number;
  tokens_per_s: number;
  steps: number;
  /** Fastest and slowest timed step, to show the spread on a noisy machine. */
  ms_min: number;
  ms_max: number;
  loss: number;
}

export const BENCH_PRESETS = {
  'char-small': { cell: 'lstm', vocab: 65, embedding: 64, hidden: 256, layers: 1, batch: 32, seq: 64 },
  'char-large': { cell: 'lstm', vocab: 80, embedding: 128, hidden: 512, layers: 2, batch: 64, seq: 128 },
  'char-gru': { cell: 'gru', vocab: 80, embedding: 128, hidden: 512, layers: 2, batch: 64, seq: 128 },
  'word-medium': { cell: 'lstm', vocab: 10000, embedding: 650, hidden: 650, layers: 2, batch: 20, seq: 35 },
} as const satisfies Record<string, Pick<BenchConfig, 'cell' | 'vocab' | 'embedding' | 'hidden' | 'layers' | 'batch' | 'seq'>>;

export type BenchPreset = keyof typeof BENCH_PRESETS;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function makeRnn(config: BenchConfig, generator: Generator): RNNBase {
  const rnn = createRnn(config.cell, {
    inputSize: config.embedding,
    hiddenSize: config.hidden,
    numLayers: config.layers,
    generator,
  });
  setUnfusedCells(rnn, config.mode === 'unfused');
  return rnn;
}

// Random token ids (T, B) for inputs and targets, drawn once: the step's cost does not depend on them.
function randomTokens(config: BenchConfig, salt: number): Tensor {
  const count = config.seq * config.batch;
  const ids = new Int32Array(count);
  let state = (config.seed * 2654435761 + salt) >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    ids[i] = state % config.vocab;
  }
  return fromInt32Array(ids, [config.seq, config.batch], { device: config.device });
}

export function benchLanguageModelStep(config: BenchConfig): BenchResult {
  checkSizes('bench', { vocab: config.vocab, embedding: config.embedding, hidden: config.hidden, layers: config.layers, batch: config.batch, seq: config.seq }, 'layers');
  const lm = { vocabSize: config.vocab, embedding: config.embedding, hidden: config.hidden, layers: config.layers, cell: config.cell, dropout: 0 };
  checkLanguageModelPlan('this benchmark', lm, { tokens: config.batch * config.seq, optimizer: 'adam', device: config.device });
  const generator = new Generator(config.seed);
  const embedding = new Embedding(config.vocab, config.embedding, { generator });
  const rnn = makeRnn(config, generator);
  const decoder = new Linear(config.hidden, config.vocab, { generator });
  if (config.device !== 'cpu') for (const m of [embedding, rnn, decoder]) m.to(config.device);
  const params = [...embedding.parameters(), ...rnn.parameters(), ...decoder.parameters()];
  const optimizer = new Adam(params, { lr: 1e-3 });
  const inputs = randomTokens(config, 1);
  const targets = randomTokens(config, 2);
  const flatTargets = reshape(targets, [config.seq * config.batch]);

  const step = (): number =>
    tidy(() => {
      optimizer.zeroGrad();
      const x = embedding.forward(inputs); // (T, B, E)
      const { output } = rnn.forward(x); // (T, B, H)
      const logits = decoder.forward(reshape(output, [config.seq * config.batch, config.hidden])); // (T*B, V)
      const loss = crossEntropy(logits, flatTargets);
      backward(loss);
      clipGradNorm(params, 5);
      optimizer.step();
      return loss.item();
    });

  let loss = Number.NaN;
  for (let i = 0; i < config.warmup; i++) loss = step();
  const times: number[] = [];
  for (let i = 0; i < config.steps; i++) {
    const start = process.hrtime.bigint();
    loss = step();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  for (const t of [inputs, targets, flatTargets]) t.dispose();
  optimizer.dispose();
  for (const m of [embedding, rnn, decoder]) m.dispose();

  const ms = median(times);
  return {
    cell: config.cell,
    vocab: config.vocab,
    embedding: config.embedding,
    hidden: config.hidden,
    layers: config.layers,
    batch: config.batch,
    seq: config.seq,
    device: config.device,
    mode: config.mode,
    ms_per_step: Number(ms.toFixed(3)),
    tokens_per_s: Math.round((config.batch * config.seq * 1000) / ms),
    steps: config.steps,
    ms_min: Number(Math.min(...times).toFixed(3)),
    ms_max: Number(Math.max(...times).toFixed(3)),
    loss,
  };
}
