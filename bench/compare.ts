// rnnlm against PyTorch CPU on the same machine in the same run: for each configuration, the
// PyTorch step (bench/pytorch_step.py) and rnnlm's fused and unfused steps, interleaved over
// --rounds rounds so that machine noise hits both alike; medians of the per-round medians.
//
//   npx tsx bench/compare.ts [--rounds 3] [--steps 10] [--only char-large,char-gru] [--no-unfused]
//
// Prints a Markdown table and, with --json, one JSON object per configuration.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_PRESETS, benchLanguageModelStep, type BenchCell, type BenchConfig, type BenchMode } from '../src/bench/lm_step.js';

interface Sizes {
  cell: BenchCell;
  vocab: number;
  embedding: number;
  hidden: number;
  layers: number;
  batch: number;
  seq: number;
}

// The four rows of the engine issue plus a plain tanh RNN at char-large sizes.
const CONFIGS: Record<string, Sizes> = {
  ...BENCH_PRESETS,
  'char-rnn': { ...BENCH_PRESETS['char-large'], cell: 'rnn' },
};

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    threads: { type: 'string', default: String(Number(process.env.RNNLM_THREADS ?? 0) || 2) },
    only: { type: 'string' },
    'no-unfused': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const names = values.only ? values.only.split(',') : Object.keys(CONFIGS);
const modes: BenchMode[] = values['no-unfused'] ? ['fused'] : ['fused', 'unfused'];
const script = fileURLToPath(new URL('./pytorch_step.py', import.meta.url));

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function pytorchStep(sizes: Sizes): number {
  const args = [script, '--threads', values.threads!, '--steps', String(steps), '--warmup', String(warmup)];
  for (const [key, value] of Object.entries(sizes)) args.push(`--${key}`, String(value));
  const run = spawnSync('python3', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`pytorch_step.py failed: ${run.stderr}`);
  const line = run.stdout.trim().split('\n').pop()!;
  return (JSON.parse(line) as { ms_per_step: number }).ms_per_step;
}

function rnnlmStep(sizes: Sizes, mode: BenchMode): number {
  const config: BenchConfig = { ...sizes, device: 'cpu', mode, steps, warmup, seed: 1 };
  return benchLanguageModelStep(config).ms_per_step;
}

const rows: string[] = [
  '| config | cell | PyTorch ms | rnnlm fused ms | ratio (PyTorch / fused) | rnnlm unfused ms | rnnlm fused tokens/s |',
  '|---|---|---|---|---|---|---|',
];
for (const name of names) {
  const sizes = CONFIGS[name];
  if (!sizes) throw new Error(`unknown config ${name}; known: ${Object.keys(CONFIGS).join(', ')}`);
  const torchMs: number[] = [];
  const ours: Record<BenchMode, number[]> = { fused: [], unfused: [] };
  for (let r = 0; r < rounds; r++) {
    torchMs.push(pytorchStep(sizes));
    for (const mode of modes) ours[mode].push(rnnlmStep(sizes, mode));
  }
  const torch = median(torchMs);
  const fused = median(ours.fused);
  const unfused = ours.unfused.length ? median(ours.unfused) : Number.NaN;
  const tokens = Math.round((sizes.batch * sizes.seq * 1000) / fused);
  if (values.json) {
    console.log(JSON.stringify({ config: name, ...sizes, pytorch_ms: torch, fused_ms: fused, unfused_ms: unfused, ratio: torch / fused, rounds }));
  }
  rows.push(`| ${name} | ${sizes.cell} | ${torch.toFixed(1)} | ${fused.toFixed(1)} | ${(torch / fused).toFixed(2)}x | ${Number.isNaN(unfused) ? '-' : unfused.toFixed(1)} | ${tokens} |`);
  if (!values.json) console.error(rows[rows.length - 1]);
}
console.log(rows.join('\n'));
