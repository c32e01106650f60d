// `rnnlm vae` end to end on a small generated set of sentences: train (metrics with the VAE
// terms per split, checkpoints, plot), sample, interpolate, reconstruct and eval, and the errors
// a user meets first, and an exact --resume. The command runs from source (src/cli/main.ts).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plotRun } from '../src/plot/curves.js';
import { readMetrics } from '../src/train/metrics.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'src', 'cli', 'main.ts');
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const work = mkdtempSync(join(tmpdir(), 'rnnlm-vae-cli-'));

function vae(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', tsx, entry, 'vae', ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, RNNLM_THREADS: '1' } });
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// Sentences of a small grammar: "the <adj> <noun> <verb> the <noun> ." and short ones.
const adjectives = ['white', 'old', 'dark', 'great'];
const nouns = ['whale', 'ship', 'captain', 'sea', 'harpoon'];
const verbs = ['sees', 'follows', 'strikes', 'leaves'];
const lines: string[] = [];
for (let i = 0; i < 240; i++) {
  lines.push(
    i % 5 === 0
      ? `the ${nouns[i % 5]} sleeps .`
      : `the ${adjectives[i % 4]} ${nouns[(i * 3) % 5]} ${verbs[(i * 7) % 4]} the ${nouns[(i + 2) % 5]} .`,
  );
}
const train = join(work, 'train.txt');
const valid = join(work, 'valid.txt');
writeFileSync(train, `${lines.slice(0, 200).join('\n')}\n`);
writeFileSync(valid, `${lines.slice(200).join('\n')}\n\n`);

const small = ['--data', train, '--valid', valid, '--embedding', '12', '--hidden', '16', '--latent', '4', '--batch', '16', '--epochs', '2', '--log-every', '5', '--x0', '10', '--k', '0.3'];

test.after(() => rmSync(work, { recursive: true, force: true }));

test('vae train writes per-split VAE metrics, last/ and best/, and a JSON summary', () => {
  const r = vae('train', ...small, '--word-dropout', '0.2', '--teacher-forcing', '0.8', '--out', 'run', '--json');
  assert.is(r.status, 0, r.stderr);
  const events = jsonLines(r.stdout);
  const summary = events.find((e) => e.event === 'summary') as Record<string, any> | undefined;
  assert.ok(summary, r.stdout);
  assert.is(summary.status, 'finished');
  assert.is(summary.epochs, 2);
  assert.is(summary.step, 2 * Math.ceil(200 / 16));
  const epochs = events.filter((e) => e.event === 'epoch') as Record<string, any>[];
  assert.is(epochs.length, 2);
  for (const e of epochs) {
    for (const split of ['train', 'valid']) for (const k of ['elbo', 'nll', 'kl']) assert.type(e[split][k], 'number', `${split}.${k}`);
    assert.ok(Math.abs(e.valid.elbo - e.valid.nll - e.valid.kl) < 1e-6, 'elbo = nll + kl');
    assert.is(e.samples.length, 3);
  }
  for (const which of ['last', 'best']) for (const f of ['model.safetensors', 'config.json', 'vocab.json']) assert.ok(existsSync(join(work, 'run', which, f)), `${which}/${f}`);
  const config = JSON.parse(readFileSync(join(work, 'run', 'last', 'config.json'), 'utf8'));
  assert.is(config.kind, 'sentence_vae');
  const records = readMetrics(join(work, 'run'));
  for (const split of ['train', 'valid']) {
    const rs = records.filter((m) => m.split === split);
    assert.is(rs.length, 2, split);
    for (const m of rs) for (const k of ['step', 'epoch', 'elbo', 'nll', 'kl', 'kl_weight']) assert.type(m[k], 'number', `${split} ${k}`);
  }
  assert.ok(records.filter((m) => m.split === 'train_steps').length >= 4);
  const svg = plotRun(join(work, 'run'));
  assert.match(readFileSync(svg, 'utf8'), /kl_weight/);
});

test('vae sample prints n sentences, repeatably under a seed; greedy and tempered', () => {
  const a = vae('sample', '-c', 'run', '-n', '4', '--seed', '3', '--json');
  assert.is(a.status, 0, a.stderr);
  const rows = jsonLines(a.stdout);
  assert.is(rows.length, 4);
  for (const row of rows) {
    assert.type(row.text, 'string');
    assert.is((row.z as number[]).length, 4);
  }
  assert.is(vae('sample', '-c', 'run', '-n', '4', '--seed', '3', '--json').stdout, a.stdout);
  const t = vae('sample', '-c', 'run', '-n', '3', '-t', '0.9');
  assert.is(t.status, 0, t.stderr);
  assert.is(t.stdout.trim().split('\n').length, 3);
});

test('vae interpolate decodes steps + 2 points between two sentences or two random codes', () => {
  const r = vae('interpolate', '-c', 'run', '--from', 'the white whale sees the ship .', '--to', 'the captain sleeps .', '--steps', '3', '--json');
  assert.is(r.status, 0, r.stderr);
  const points = jsonLines(r.stdout);
  assert.is(points.length, 5);
  const z = points.map((p) => p.z as number[]);
  for (let j = 0; j < 4; j++) assert.ok(Math.abs(z[2]![j]! - (z[0]![j]! + z[4]![j]!) / 2) < 1e-5, 'the middle point is the midpoint');
  const random = vae('interpolate', '-c', 'run', '--steps', '2');
  assert.is(random.status, 0, random.stderr);
  assert.is(random.stdout.trim().split('\n').length, 4);
  const half = vae('interpolate', '-c', 'run', '--from', 'the sea .');
  assert.is(half.status, 1);
  assert.match(half.stderr, /--from and --to/);
});

test('vae reconstruct decodes each sentence from its posterior mean', () => {
  const r = vae('reconstruct', '-c', 'run', 'the old ship follows the whale .', 'the sea sleeps .', '--json');
  assert.is(r.status, 0, r.stderr);
  const rows = jsonLines(r.stdout);
  assert.is(rows.length, 2);
  assert.is(rows[1]!.input, 'the sea sleeps .');
  assert.type(rows[0]!.text, 'string');
});

test('vae eval --json prints sentences, nll, kl and elbo per sentence', () => {
  const r = vae('eval', '-c', 'run', '--data', valid, '--json');
  assert.is(r.status, 0, r.stderr);
  const score = JSON.parse(r.stdout) as Record<string, number>;
  assert.is(score.sentences, 40, 'blank lines are not sentences');
  for (const k of ['nll', 'kl', 'elbo', 'tokens', 'ppl']) assert.type(score[k], 'number', k);
  assert.ok(Math.abs(score.elbo! - score.nll! - score.kl!) < 1e-9);
  assert.ok(score.nll! > 0 && score.kl! >= 0);
  assert.is(vae('eval', '-c', 'run', '--data', valid, '--json').stdout, r.stdout, 'repeatable');
});

test('the LM baseline trains and samples with --decoder-only', () => {
  const r = vae('train', ...small, '--epochs', '1', '--decoder-only', '--out', 'lm', '--json');
  assert.is(r.status, 0, r.stderr);
  const epoch = jsonLines(r.stdout).find((e) => e.event === 'epoch') as Record<string, any>;
  assert.is(epoch.valid.kl, 0);
  const s = vae('sample', '-c', 'lm', '-n', '2');
  assert.is(s.status, 0, s.stderr);
  const rec = vae('reconstruct', '-c', 'lm', 'the sea sleeps .');
  assert.is(rec.status, 1);
  assert.match(rec.stderr, /LM baseline/);
});

test('vae train --resume continues a finished run to more epochs, bit for bit', () => {
  const straight = vae('train', ...small, '--word-dropout', '0.2', '--out', 'straight', '--json');
  assert.is(straight.status, 0, straight.stderr);
  const first = vae('train', ...small, '--word-dropout', '0.2', '--epochs', '1', '--out', 'halves', '--json');
  assert.is(first.status, 0, first.stderr);
  assert.ok(existsSync(join(work, 'halves', 'last', 'trainer.json')), 'last/ holds the trainer state');
  const changed = vae('train', '--resume', 'halves', '--lr', '0.01');
  assert.is(changed.status, 1);
  assert.match(changed.stderr, /'lr' cannot change/);
  const elsewhere = vae('train', '--resume', 'halves', '--out', 'other');
  assert.ok(elsewhere.status !== 0);
  assert.match(elsewhere.stderr, /'--resume <run>' cannot be used with option '--out <dir>'/);
  const second = vae('train', '--resume', 'halves', '--epochs', '2', '--json');
  assert.is(second.status, 0, second.stderr);
  const summary = jsonLines(second.stdout).find((e) => e.event === 'summary') as Record<string, any>;
  assert.is(summary.step, 2 * Math.ceil(200 / 16));
  for (const f of ['model.safetensors', 'optimizer.safetensors']) {
    assert.ok(readFileSync(join(work, 'halves', 'last', f)).equals(readFileSync(join(work, 'straight', 'last', f))), `last/${f} equals the straight run's`);
  }
  const valid = (run: string): unknown[] => readMetrics(join(work, run)).filter((m) => m.split !== 'train_steps').map(({ time: _time, ...m }) => m);
  assert.equal(valid('halves'), valid('straight'));
});

test('errors name the problem', () => {
  const missing = vae('train', '--data', join(work, 'nope.txt'), '--out', 'x');
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /nope\.txt does not exist/);
  const flag = vae('train', '--anneal', 'cosine');
  assert.is(flag.status, 2);
  assert.match(flag.stderr, /--anneal must be one of logistic, linear, none/);
  const both = vae('sample', '-c', 'run', '--greedy', '-t', '0.5');
  assert.ok(both.status !== 0);
  assert.match(both.stderr, /'--greedy' cannot be used with option '-t, --temperature/);
  const again = vae('train', ...small, '--out', 'run');
  assert.is(again.status, 1);
  assert.match(again.stderr, /already holds a run/);
  const notVae = vae('sample', '-c', work);
  assert.is(notVae.status, 1);
  assert.match(notVae.stderr, /not a checkpoint/);
});

test.run();
