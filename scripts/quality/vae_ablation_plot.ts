// The KL term of the annealing x word-dropout grid against training steps, from the runs'
// metrics files: one panel of the training-batch KL ('train_steps' records), one of the
// validation KL per epoch. Usage: npx tsx scripts/quality/vae_ablation_plot.ts OUT.svg NAME=METRICS.jsonl...
import { writeFileSync } from 'node:fs';
import { readMetrics } from '../../src/train/metrics.js';
import { renderChart, type Series } from '../../src/plot/svg_chart.js';

const [out, ...runs] = process.argv.slice(2);
if (out === undefined || runs.length === 0) {
  process.stderr.write('usage: vae_ablation_plot.ts OUT.svg NAME=METRICS.jsonl...\n');
  process.exit(2);
}
const steps: Series[] = [];
const valid: Series[] = [];
for (const run of runs) {
  const [name, file] = run.split('=') as [string, string];
  const records = readMetrics(file);
  steps.push({ name, points: records.filter((r) => r.split === 'train_steps').map((r) => [r.step, r.kl as number]) });
  valid.push({ name, points: records.filter((r) => r.split === 'valid').map((r) => [r.step, r.kl as number]) });
}
writeFileSync(
  out,
  renderChart(
    [
      { title: 'KL per sentence, training batches (50-step means)', series: steps, xLabel: 'step', yLabel: 'KL (nats, log scale)', logY: true },
      { title: 'KL per sentence, validation (end of each epoch)', series: valid, xLabel: 'step', yLabel: 'KL (nats, log scale)', logY: true },
    ],
    { panelWidth: 560, panelHeight: 340 },
  ),
);
