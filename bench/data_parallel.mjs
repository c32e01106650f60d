// Data-parallel throughput on this machine: one rank of `mpirun -np N node bench/data_parallel.mjs`
// (or a plain process: N = 1). Trains the char-small configuration (LSTM 256x1, batch 32 per rank,
// seq 64) on the bundled corpus for --steps steps and prints, from rank 0, one JSON line: global
// tokens/s (median over the steps after the first 3), ms per step, and the all-reduce of the
// gradients alone (median of 20, the same tensors a step reduces) with its share of a step.
// Run both sizes with bench/data_parallel.sh. Needs dist/ (npx tsc -p tsconfig.json).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDistributed } from '../dist/distributed/comm.js';
import { LanguageModelTrainer } from '../dist/train/lm_trainer.js';
import { readMetrics } from '../dist/train/metrics.js';
import { zeros } from '../dist/tensor.js';

const steps = Number(process.argv[2] ?? 30);
const collective = initDistributed({ device: 'cpu' });
const rank = collective?.rank ?? 0;
const size = collective?.size ?? 1;
const root = collective === null ? mkdtempSync(join(tmpdir(), 'rnnlm-dp-bench-')) : collective.broadcastJson(rank === 0 ? mkdtempSync(join(tmpdir(), 'rnnlm-dp-bench-')) : null);
const runDir = join(root, 'run');
const trainer = LanguageModelTrainer.create(
  { embedding: 64, hidden: 256, layers: 1, batch: 32, seq: 64, steps, validEvery: steps, validBatch: 8, sampleEvery: 0, dropout: 0, device: 'cpu' },
  runDir,
  { collective },
);
await trainer.run();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let allReduceMs = 0;
if (collective !== null && size > 1) {
  const grads = trainer.model.parameters().map((p) => zeros(p.shape));
  const times = [];
  for (let i = 0; i < 20; i++) {
    collective.barrier();
    const t0 = performance.now();
    collective.allReduceSum_(grads);
    times.push(performance.now() - t0);
  }
  allReduceMs = median(times);
  for (const g of grads) g.dispose();
}
if (rank === 0) {
  const train = readMetrics(runDir).filter((m) => m.split === 'train').slice(3);
  const tokensPerSec = median(train.map((m) => m.tokens_per_s));
  const msPerStep = (32 * 64 * size * 1000) / tokensPerSec;
  process.stdout.write(`${JSON.stringify({ ranks: size, batch_per_rank: 32, seq: 64, parameters: trainer.model.parameterCount(), tokens_per_s: tokensPerSec, ms_per_step: Number(msPerStep.toFixed(1)), allreduce_ms: Number(allReduceMs.toFixed(2)), allreduce_share: Number((allReduceMs / msPerStep).toFixed(4)) })}\n`);
  rmSync(root, { recursive: true, force: true });
}
trainer.dispose();
