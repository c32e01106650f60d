// `rnnlm bench`: the training-step benchmark of DESIGN.md, one JSON object per line with --json.
import { Command, Option } from '@commander-js/extra-typings';
import { BENCH_PRESETS, benchLanguageModelStep, type BenchConfig, type BenchMode, type BenchPreset, type BenchResult } from '../bench/lm_step.js';
import { resolveDevice } from '../runtime.js';
import { oneOf, positiveInteger } from './errors.js';

const CELLS = ['lstm', 'gru', 'rnn'] as const;
const MODES = ['fused', 'unfused', 'both'] as const;
const DEVICES = ['auto', 'cpu', 'cuda'] as const;
const PRESETS = Object.keys(BENCH_PRESETS) as BenchPreset[];

function formatRow(r: BenchResult): string {
  const shape = `${r.cell} V=${r.vocab} E=${r.embedding} H=${r.hidden}x${r.layers} B=${r.batch} T=${r.seq}`;
  return `${shape.padEnd(48)} ${r.device.padEnd(4)} ${r.mode.padEnd(7)} ${r.ms_per_step.toFixed(1).padStart(9)} ms/step ${String(r.tokens_per_s).padStart(9)} tokens/s`;
}

export function benchCommand() {
  return new Command('bench')
    .description('time one training step (forward, backward, clip, Adam) of a language model on random tokens')
    .addOption(new Option('--preset <name>', `a named configuration: ${PRESETS.join(', ')}`).argParser(oneOf('--preset', PRESETS)))
    .option('--cell <cell>', 'lstm, gru or rnn', oneOf('--cell', CELLS))
    .option('--vocab <n>', 'vocabulary size', positiveInteger('--vocab'))
    .option('--embedding <n>', 'embedding size', positiveInteger('--embedding'))
    .option('--hidden <n>', 'hidden size', positiveInteger('--hidden'))
    .option('--layers <n>', 'stacked layers', positiveInteger('--layers'))
    .option('--batch <n>', 'batch size', positiveInteger('--batch'))
    .option('--seq <n>', 'sequence length (time steps)', positiveInteger('--seq'))
    .option('--device <device>', 'auto, cpu or cuda', oneOf('--device', DEVICES), 'auto' as const)
    .option('--mode <mode>', 'fused, unfused or both', oneOf('--mode', MODES), 'fused' as const)
    .option('--steps <n>', 'timed steps (median reported)', positiveInteger('--steps'), 10)
    .option('--warmup <n>', 'untimed steps first', positiveInteger('--warmup'), 2)
    .option('--seed <n>', 'random seed', positiveInteger('--seed'), 1)
    .option('--json', 'one JSON object per line')
    .addHelpText(
      'after',
      '\nWithout --preset the sizes default to char-large.\n\nExamples:\n  rnnlm bench --preset char-small --mode both\n  rnnlm bench --cell gru --hidden 512 --layers 2 --batch 64 --seq 128 --json',
    )
    .action((options) => {
      const base = BENCH_PRESETS[options.preset ?? 'char-large'];
      const { device, fallbackReason } = resolveDevice(options.device);
      if (fallbackReason !== null && options.device === 'auto') process.stderr.write(`rnnlm: benchmarking on the CPU: ${fallbackReason}\n`);
      const modes: BenchMode[] = options.mode === 'both' ? ['fused', 'unfused'] : [options.mode];
      for (const mode of modes) {
        const config: BenchConfig = {
          cell: options.cell ?? base.cell,
          vocab: options.vocab ?? base.vocab,
          embedding: options.embedding ?? base.embedding,
          hidden: options.hidden ?? base.hidden,
          layers: options.layers ?? base.layers,
          batch: options.batch ?? base.batch,
          seq: options.seq ?? base.seq,
          device,
          mode,
          steps: options.steps,
          warmup: options.warmup,
          seed: options.seed,
        };
        const result = benchLanguageModelStep(config);
        process.stdout.write(`${options.json ? JSON.stringify(result) : formatRow(result)}\n`);
      }
    });
}
