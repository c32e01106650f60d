// `rnnlm plot RUN`: training curves from RUN/metrics.jsonl as an SVG file.
import { Command } from '@commander-js/extra-typings';
import { plotRun } from '../plot/curves.js';
import { UsageError } from './errors.js';

/** Repeatable and comma-separated: `--metric loss --metric ppl` or `--metric loss,ppl`. */
function collectMetric(value: string, previous: string[] | undefined): string[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new UsageError(`--metric needs a metric name, got '${value}'`);
  return [...(previous ?? []), ...names];
}

export function plotCommand() {
  return new Command('plot')
    .description('draw the training curves of a run (RUN/metrics.jsonl) as an SVG file')
    .argument('<run>', 'a run folder written by train (or a metrics .jsonl file)')
    .option('--out <file>', 'where to write the SVG (default: RUN/curves.svg)')
    .option('--metric <name>', 'a metric to draw, one panel each; repeatable (default: loss and ppl, or elbo, nll, kl, kl_weight for a VAE)', collectMetric)
    .option('--log-y', 'logarithmic y axes on every panel (default: only ppl)')
    .addHelpText(
      'after',
      '\nPrints the path of the SVG written. Open it in any browser.\n\nExamples:\n  rnnlm plot runs/shakespeare\n  rnnlm plot runs/shakespeare --metric loss --metric lr --out loss.svg',
    )
    .action((run, options) => {
      const written = plotRun(run, {
        ...(options.out !== undefined ? { out: options.out } : {}),
        ...(options.metric !== undefined ? { metrics: options.metric } : {}),
        ...(options.logY ? { logY: true } : {}),
      });
      process.stdout.write(`${written}\n`);
    });
}
