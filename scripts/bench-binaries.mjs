// Compares two addon binaries on `rnnlm bench` in the same run, e.g. the portable build against
// the -march=native one (docs/install.md):
//   node scripts/bench-binaries.mjs A.node B.node [rounds] [preset ...]
// Each round runs every preset once on A then once on B (alternating, so that load on a shared
// machine hits both alike); it prints each binary's median ms per step over the rounds and the
// ratio B / A of the medians, plus the median of the per-round ratios.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [a, b, roundsArg, ...presetArgs] = process.argv.slice(2);
if (a === undefined || b === undefined) {
  process.stderr.write('usage: node scripts/bench-binaries.mjs A.node B.node [rounds] [preset ...]\n');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 5);
const presets = presetArgs.length > 0 ? presetArgs : ['char-small', 'char-gru', 'word-medium', 'char-large'];
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function step(addon, preset) {
  const r = spawnSync(process.execPath, [cli, 'bench', '--preset', preset, '--device', 'cpu', '--steps', '5', '--warmup', '1', '--json'],
    { encoding: 'utf8', env: { ...process.env, RNNLM_ADDON: addon } });
  if (r.status !== 0) throw new Error(`bench ${preset} on ${addon} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n')[0]).ms_per_step;
}

const times = Object.fromEntries(presets.map((p) => [p, { a: [], b: [] }]));
for (let round = 0; round < rounds; ++round) {
  for (const preset of presets) {
    times[preset].a.push(step(a, preset));
    times[preset].b.push(step(b, preset));
  }
}
process.stdout.write(`A = ${a}\nB = ${b}\n${rounds} rounds, ms per step (median of 5 steps each run)\n`);
process.stdout.write('preset        A median   B median   B/A medians   median of per-round B/A\n');
for (const preset of presets) {
  const { a: ta, b: tb } = times[preset];
  const ratios = ta.map((x, i) => tb[i] / x);
  process.stdout.write(`${preset.padEnd(12)} ${median(ta).toFixed(1).padStart(9)} ${median(tb).toFixed(1).padStart(10)} ` +
    `${(median(tb) / median(ta)).toFixed(3).padStart(13)} ${median(ratios).toFixed(3).padStart(25)}\n`);
}
