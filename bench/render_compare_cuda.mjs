#!/usr/bin/env node
// Renders bench/results/compare_cuda.md from the files bench/gpu_check.sh leaves in its results
// folder: one training step, rnnlm on the GPU against PyTorch + cuDNN (default and strict FP32),
// the test counts, the char recipe's eval on each side, the machine and the phase timings.
//
//   node bench/render_compare_cuda.mjs RESULTS_DIR [--out FILE]
//        [--rnnlm FILE] [--torch FILE] [--torch-strict FILE]     (other names for the bench files)
//
// Every input is optional: what is missing shows as "not run". Plain Node, no dependencies, so it
// runs where only a node binary was brought along.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

// The configurations gpu_check.sh benchmarks, in table order; rows are matched by shape.
const CONFIGS = [
  ['char-small', 'lstm', 65, 64, 256, 1, 32, 64],
  ['char-large', 'lstm', 80, 128, 512, 2, 64, 128],
  ['char-gru', 'gru', 80, 128, 512, 2, 64, 128],
  ['word-medium', 'lstm', 10000, 650, 650, 2, 20, 35],
  ['char-rnn', 'rnn', 80, 128, 512, 2, 64, 128],
  ['lstm-1024x2', 'lstm', 80, 128, 1024, 2, 128, 64],
  ['gru-1024x2', 'gru', 80, 128, 1024, 2, 128, 64],
];

const shapeKey = (r) => [r.cell, r.vocab, r.embedding, r.hidden, r.layers, r.batch, r.seq].join(' ');
const shapeText = (r) => `${r.cell} V${r.vocab} E${r.embedding} H${r.hidden}x${r.layers} B${r.batch} T${r.seq}`;

function readText(path) {
  return path && existsSync(path) ? readFileSync(path, 'utf8') : null;
}

/** JSON lines of a file; lines that are not JSON objects (warnings, progress) are left out. */
function readJsonLines(path) {
  const text = readText(path);
  if (text === null) return null;
  const rows = [];
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      // a truncated last line of a run that timed out
    }
  }
  return rows;
}

function readJson(path) {
  const rows = readJsonLines(path);
  return rows && rows.length ? rows[rows.length - 1] : null;
}

const ms = (x) => (typeof x === 'number' ? x.toFixed(2) : '–');
const ratio = (torch, ours) => (typeof torch === 'number' && typeof ours === 'number' ? `${(torch / ours).toFixed(2)}x` : '–');

/** ms per step by shape and mode (fused / unfused / pytorch) */
function indexBench(rows) {
  const byShape = new Map();
  for (const r of rows ?? []) {
    if (typeof r.ms_per_step !== 'number') continue;
    const key = shapeKey(r);
    if (!byShape.has(key)) byShape.set(key, { shape: r });
    byShape.get(key)[r.mode] = r.ms_per_step;
  }
  return byShape;
}

function benchTable(rnnlm, torch, strict) {
  const ours = indexBench(rnnlm);
  const def = indexBench(torch);
  const fp32 = indexBench(strict);
  const names = new Map(CONFIGS.map(([name, cell, vocab, embedding, hidden, layers, batch, seq]) => [shapeKey({ cell, vocab, embedding, hidden, layers, batch, seq }), name]));
  const keys = [...names.keys()];
  for (const m of [ours, def, fp32]) for (const k of m.keys()) if (!keys.includes(k)) keys.push(k);
  const lines = [
    '| config | shape | rnnlm fused ms | rnnlm unfused ms | PyTorch default ms | PyTorch strict FP32 ms | PyTorch default / rnnlm | PyTorch strict FP32 / rnnlm |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const key of keys) {
    const shape = (ours.get(key) ?? def.get(key) ?? fp32.get(key))?.shape;
    if (!shape) continue;
    const fused = ours.get(key)?.fused;
    const tDefault = def.get(key)?.pytorch;
    const tStrict = fp32.get(key)?.pytorch;
    lines.push(
      `| ${names.get(key) ?? '(other)'} | ${shapeText(shape)} | ${ms(fused)} | ${ms(ours.get(key)?.unfused)} | ${ms(tDefault)} | ${ms(tStrict)} | ${ratio(tDefault, fused)} | ${ratio(tStrict, fused)} |`,
    );
  }
  return lines.join('\n');
}

/** uvu's closing counts and the names of the failing tests, from a log */
function uvuCounts(path) {
  const text = readText(path);
  if (text === null) return null;
  const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
  const last = (re) => {
    const all = [...plain.matchAll(re)];
    return all.length ? Number(all[all.length - 1][1]) : null;
  };
  // "FAIL  <suite>  "<test>"": the test's name is enough (the suite's repeats the device)
  const failing = [...plain.matchAll(/^\s*FAIL\s+(.*)$/gm)].map((m) => (m[1].match(/"(.*)"\s*$/)?.[1] ?? m[1]).trim());
  const device = plain.match(/\(device: ([^)]*)\)/)?.[1] ?? null;
  return { total: last(/Total:\s+(\d+)/g), passed: last(/Passed:\s+(\d+)/g), skipped: last(/Skipped:\s+(\d+)/g), failing, device };
}

function testsSection(dir, phases) {
  const rows = [
    ['parity suite (`test/cuda_parity.test.ts`, real GPU)', 'parity.txt', 'parity'],
    ['test suite with `RNNLM_DEVICE=cuda` (all files but the two above and below)', 'suite.txt', 'suite'],
    ['determinism (`test/cuda_determinism.test.ts`)', 'determinism.txt', 'determinism'],
  ];
  const lines = ['| check | passed / total | skipped | phase | failing |', '|---|---:|---:|---|---|'];
  for (const [label, file, phase] of rows) {
    const c = uvuCounts(join(dir, file));
    const p = phases.get(phase);
    const status = p ? `${p.status}, ${p.seconds} s` : 'not run';
    if (c === null || c.total === null) {
      lines.push(`| ${label} | – | – | ${status} | ${c === null ? 'no log' : 'no totals in the log'} |`);
      continue;
    }
    const failing = c.failing.length ? c.failing.map((f) => f.replace(/\|/g, '\\|')).join('; ') : '–';
    lines.push(`| ${label}${c.device ? ` (device: ${c.device})` : ''} | ${c.passed} / ${c.total} | ${c.skipped ?? 0} | ${status} | ${failing} |`);
  }
  return lines.join('\n');
}

function trainSection(dir, phases) {
  const evalRnnlm = readJson(join(dir, 'eval_rnnlm.json'));
  const torchLines = readJsonLines(join(dir, 'train_torch.jsonl')) ?? [];
  const torchSummary = torchLines.find((l) => l.type === 'summary') ?? null;
  const rnnlmLines = readJsonLines(join(dir, 'train_rnnlm.jsonl')) ?? [];
  const rnnlmSummary = rnnlmLines.find((l) => l.event === 'summary') ?? null;
  const nats = (x) => (typeof x === 'number' ? x.toFixed(4) : '–');
  const bpc = (x) => (typeof x === 'number' ? x.toFixed(3) : '–');
  const phase = (name) => {
    const p = phases.get(name);
    return p ? `${p.seconds} s (${p.status})` : 'not run';
  };
  const stream = torchSummary?.final_valid_stream;
  return [
    '| side | eval nll (nats/char) | bpc | tokens | steps | wall time |',
    '|---|---:|---:|---:|---:|---|',
    `| rnnlm (\`rnnlm eval -c RUN/last\`) | ${nats(evalRnnlm?.nll)} | ${bpc(evalRnnlm?.bpc)} | ${evalRnnlm?.tokens ?? '–'} | ${rnnlmSummary?.step ?? '–'} | train ${phase('train-rnnlm')}, eval ${phase('eval-rnnlm')} |`,
    `| PyTorch (\`final_valid_stream\`) | ${nats(stream?.nll)} | ${bpc(stream?.bpc)} | ${stream?.tokens ?? '–'} | ${torchSummary?.steps ?? '–'} | ${phase('train-torch')}${typeof torchSummary?.train_seconds === 'number' ? `; steps alone ${torchSummary.train_seconds.toFixed(1)} s` : ''} |`,
  ].join('\n');
}

function machineSection(dir, torchRows) {
  const smi = readText(join(dir, 'nvidia-smi.txt')) ?? '';
  const query = (readText(join(dir, 'nvidia-smi-query.csv')) ?? '').trim().split('\n')[0] ?? '';
  const [gpuName, driver, memory] = query.split(',').map((s) => s.trim());
  const cudaVersion = smi.match(/CUDA Version:\s*([0-9.]+)/)?.[1];
  const info = readJson(join(dir, 'info.json'));
  const torchRow = (torchRows ?? [])[0];
  const lines = [
    `- GPU: ${gpuName || '–'}${memory ? ` (${memory})` : ''}; driver ${driver || '–'}; CUDA (driver API) ${cudaVersion ?? '–'}`,
    `- rnnlm: ${info?.cuda ?? `no GPU (${info?.cudaReason ?? 'rnnlm info not run'})`}`,
  ];
  if (info?.backend) lines.push(`- rnnlm CPU backend: ${info.backend}`);
  lines.push(torchRow ? `- PyTorch ${torchRow.torch}, cuDNN ${torchRow.cudnn ?? '–'}` : '- PyTorch: not run');
  const commit = (readText(join(dir, 'commit.txt')) ?? '').trim();
  if (commit) lines.push(`- rnnlm commit: ${commit}`);
  return lines.join('\n');
}

function readPhases(dir) {
  const phases = new Map();
  for (const line of (readText(join(dir, 'phases.tsv')) ?? '').split('\n')) {
    const [name, status, seconds, note] = line.split('\t');
    if (name && status) phases.set(name, { status, seconds, note: note ?? '' });
  }
  return phases;
}

function phasesSection(phases) {
  if (phases.size === 0) return 'No phase timings (phases.tsv missing).';
  const lines = ['| phase | status | seconds | note |', '|---|---|---:|---|'];
  let total = 0;
  for (const [name, p] of phases) {
    total += Number(p.seconds) || 0;
    lines.push(`| ${name} | ${p.status} | ${p.seconds} | ${p.note.replace(/\|/g, '\\|')} |`);
  }
  lines.push(`| total | | ${total.toFixed(1)} | |`);
  return lines.join('\n');
}

function render(dir, files = {}) {
  const rnnlm = readJsonLines(files.rnnlm ?? join(dir, 'bench_rnnlm.jsonl'));
  const torch = readJsonLines(files.torch ?? join(dir, 'bench_torch.jsonl'));
  const strict = readJsonLines(files.torchStrict ?? join(dir, 'bench_torch_strict.jsonl'));
  const phases = readPhases(dir);
  const steps = rnnlm?.[0] ? `${rnnlm[0].steps} timed steps` : 'timed steps';
  return `# rnnlm on CUDA against PyTorch + cuDNN, same GPU, same run

Written by \`bench/gpu_check.sh\` (rendered by \`bench/render_compare_cuda.mjs\`); raw logs in \`${dir}\`.

## Machine

${machineSection(dir, torch ?? strict)}

## One training step, median ms

Step = embedding → RNN → linear → cross-entropy → backward → clip 5 → Adam on random tokens,
time-major (DESIGN.md's benchmark contract); median of ${steps} after warm-up. rnnlm runs plain
FP32 everywhere. "PyTorch default" lets cuDNN use TF32 tensor cores for the RNN (PyTorch's
default); "strict FP32" forbids TF32 (\`NVIDIA_TF32_OVERRIDE=0\`, \`--strict-fp32\`). The ratios are
PyTorch ms / rnnlm fused ms: above 1, rnnlm is faster.

${rnnlm || torch || strict ? benchTable(rnnlm, torch, strict) : 'Not run.'}

## Tests on the GPU

${testsSection(dir, phases)}

## Char recipe, trained once on each side

tinyshakespeare, first 90% train, last 10% held out; 2x512 LSTM, E128, dropout 0.2, B64, T128,
Adam 2e-3, clip 5, 2000 steps, seed 1 (\`scripts/quality/torch_lm.py\`'s recipe). Both numbers
score the held-out 10% as one stream with the final weights.

${trainSection(dir, phases)}

## Phases

${phasesSection(phases)}
`;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' },
    rnnlm: { type: 'string' },
    torch: { type: 'string' },
    'torch-strict': { type: 'string' },
  },
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/render_compare_cuda.mjs RESULTS_DIR [--out FILE] [--rnnlm FILE] [--torch FILE] [--torch-strict FILE]\n');
  process.exit(2);
}
const markdown = render(positionals[0], { rnnlm: values.rnnlm, torch: values.torch, torchStrict: values['torch-strict'] });
if (values.out) writeFileSync(values.out, markdown);
else process.stdout.write(markdown);
