// One training step of the sentence VAE (forward, backward, Adam), timed on the batches that
// bench/vae_step_torch.py times in PyTorch: consecutive sentences of ptb.train.txt (their lengths),
// word ids made from positions. Prints one JSON line: the median milliseconds of a step.
//
//   npx tsx bench/vae_step.ts --data ../shared/data/ptb/ptb.train.txt [--cell gru] [--steps 30]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { backward } from '../src/autograd.js';
import * as F from '../src/functional.js';
import { SentenceVAE } from '../src/models/sentence_vae.js';
import { Adam } from '../src/optim/index.js';
import { Generator } from '../src/random.js';
import { info } from '../src/runtime.js';
import { tidy } from '../src/tensor.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    vocab: { type: 'string', default: '9972' },
    embedding: { type: 'string', default: '300' },
    hidden: { type: 'string', default: '256' },
    latent: { type: 'string', default: '16' },
    cell: { type: 'string', default: 'gru' },
    batch: { type: 'string', default: '32' },
    'max-length': { type: 'string', default: '60' },
    steps: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    'kl-weight': { type: 'string', default: '0.5' },
  },
});
if (values.data === undefined) throw new Error('--data ptb.train.txt is required');
const V = Number(values.vocab);
const B = Number(values.batch);
const maxLength = Number(values['max-length']);
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const klWeight = Number(values['kl-weight']);

// The same sentence lengths and ids as bench/vae_step_torch.py.
const lengths = readFileSync(values.data, 'utf8')
  .split('\n')
  .map((line) => line.split(/\s+/).filter((w) => w !== '').length)
  .filter((n) => n > 0)
  .map((n) => Math.min(n, maxLength - 1));
const batches: Int32Array[][] = [];
for (let i = 0; i < warmup + steps; i++) {
  const rows: Int32Array[] = [];
  for (let b = 0; b < B; b++) {
    const k = i * B + b;
    const n = lengths[k % lengths.length]!;
    rows.push(Int32Array.from({ length: n }, (_, t) => 4 + Number((BigInt(k) * 7919n + BigInt(t) * 104729n) % BigInt(V - 4))));
  }
  batches.push(rows);
}

const model = new SentenceVAE(
  {
    vocabSize: V,
    embedding: Number(values.embedding),
    hidden: Number(values.hidden),
    latent: Number(values.latent),
    layers: 1,
    cell: values.cell as 'gru' | 'lstm',
    bidirectional: false,
    wordDropout: 0,
    embeddingDropout: 0.5,
    maxLength,
    specials: { pad: 0, unk: 1, sos: 2, eos: 3 },
    decoderOnly: false,
  },
  { generator: new Generator(1) },
);
model.train();
const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
const times: number[] = [];
batches.forEach((sentences, i) => {
  const t0 = performance.now();
  tidy(() => {
    optimizer.zeroGrad();
    const out = model.forward(sentences);
    const loss = F.scale(F.add(out.nll, F.scale(out.kl, klWeight)), 1 / sentences.length);
    backward(loss);
    optimizer.step();
    loss.item();
  });
  if (i >= warmup) times.push(performance.now() - t0);
});
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
process.stdout.write(`${JSON.stringify({ side: 'rnnlm', cell: values.cell, batch: B, ms_per_step: median, steps, backend: info().backend })}\n`);
optimizer.dispose();
model.dispose();
