// The CLI end to end on a small generated corpus: train, resume (identical losses), Ctrl-C,
// sample, eval, plot, and the errors a user meets first.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src', 'cli', 'main.ts');
const work = mkdtempSync(join(tmpdir(), 'rnnlm-cli-'));
// The CLI runs from its TypeScript source (no build step); tsx is resolved from this repository,
// not from the temporary working folder.
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

function rnnlm(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', tsx, main, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, RNNLM_THREADS: '1' } });
}

// A corpus with structure a tiny model can pick up: numbered lines of a few repeated words.
const words = ['the', 'whale', 'sea', 'ship', 'captain', 'white', 'harpoon', 'deck'];
const lines: string[] = [];
for (let i = 0; i < 400; i++) lines.push(`${words[i % 8]} ${words[(i * 3) % 8]} ${words[(i * 5 + 1) % 8]} ${i % 10}.`);
const corpus = join(work, 'corpus.txt');
writeFileSync(corpus, `${lines.join('\n')}\n`);

const small = ['--data', corpus, '--embedding', '8', '--hidden', '16', '--layers', '2', '--dropout', '0.1', '--batch', '4', '--seq', '16', '--sample-every', '0'];

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function trainLosses(run: string): number[] {
  return readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { split: string; loss: number })
    .filter((r) => r.split === 'train')
    .map((r) => r.loss);
}

test.after(() => rmSync(work, { recursive: true, force: true }));

test('train writes metrics, last/ and best/, and a JSON summary', () => {
  const r = rnnlm('train', ...small, '--steps', '12', '--valid-every', '4', '--out', 'full', '--json');
  assert.is(r.status, 0, r.stderr);
  const events = jsonLines(r.stdout);
  const summary = events.find((e) => e.event === 'summary');
  assert.ok(summary, r.stdout);
  assert.is(summary.status, 'finished');
  assert.is(summary.step, 12);
  assert.is(events.filter((e) => e.event === 'valid').length, 3);
  for (const f of ['model.safetensors', 'config.json', 'vocab.json', 'trainer.json', 'optimizer.safetensors']) {
    assert.ok(existsSync(join(work, 'full', 'last', f)), f);
  }
  assert.ok(existsSync(join(work, 'full', 'best', 'model.safetensors')));
  const losses = trainLosses(join(work, 'full'));
  assert.is(losses.length, 12);
  assert.ok(losses[11]! < losses[0]!, `loss went from ${losses[0]} to ${losses[11]}`);
});

test('a resumed run repeats the uninterrupted loss sequence bit for bit', () => {
  const first = rnnlm('train', ...small, '--steps', '5', '--valid-every', '4', '--out', 'split', '--json');
  assert.is(first.status, 0, first.stderr);
  const second = rnnlm('train', '--resume', 'split', '--steps', '12', '--json');
  assert.is(second.status, 0, second.stderr);
  assert.equal(trainLosses(join(work, 'split')), trainLosses(join(work, 'full')));
});

test('resume refuses to change the model or the data', () => {
  const r = rnnlm('train', '--resume', 'split', '--hidden', '32');
  assert.is(r.status, 1);
  assert.match(r.stderr, /'hidden' cannot change/);
  const elsewhere = rnnlm('train', '--resume', 'split', '--out', 'other');
  assert.ok(elsewhere.status !== 0);
  assert.match(elsewhere.stderr, /'--resume <run>' cannot be used with option '--out <dir>'/);
});

test('resume refuses data that changed since the run was saved, naming both fingerprints', () => {
  const copy = join(work, 'corpus-copy.txt');
  writeFileSync(copy, `${lines.join('\n')}\n`);
  const first = rnnlm('train', ...small.slice(2), '--data', copy, '--steps', '2', '--out', 'changing');
  assert.is(first.status, 0, first.stderr);
  writeFileSync(copy, `${lines.slice(1).join('\n')}\n`);
  const r = rnnlm('train', '--resume', 'changing', '--steps', '4');
  assert.is(r.status, 1);
  assert.match(r.stderr, /the data differ from those the run in .*changing was trained on \(fingerprint \S+, saved \S+\).*ERR_RNNLM_DATA/);
});

test('train refuses to overwrite an existing run', () => {
  const r = rnnlm('train', ...small, '--steps', '2', '--out', 'full');
  assert.is(r.status, 1);
  assert.match(r.stderr, /already holds a run/);
});

test('Ctrl-C saves last/ and exits 130; the run then resumes', async () => {
  const child = spawn(process.execPath, ['--import', tsx, main, 'train', ...small, '--steps', '100000', '--valid-every', '3', '--out', 'interrupted', '--json'], {
    cwd: work,
    env: { ...process.env, RNNLM_THREADS: '1' },
  });
  let stdout = '';
  const code = await new Promise<number | null>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"event":"valid"') && !child.killed) child.kill('SIGINT');
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.is(code, 130, stdout);
  const summary = jsonLines(stdout).find((e) => e.event === 'summary');
  assert.is(summary?.status, 'interrupted');
  const saved = JSON.parse(readFileSync(join(work, 'interrupted', 'last', 'trainer.json'), 'utf8')) as { state: { step: number } };
  assert.is(saved.state.step, summary?.step);
  const resumed = rnnlm('train', '--resume', 'interrupted', '--steps', String(saved.state.step + 2), '--json');
  assert.is(resumed.status, 0, resumed.stderr);
  assert.is(trainLosses(join(work, 'interrupted')).length, saved.state.step + 2);
});

test('sample continues the prime and repeats under a seed', () => {
  const a = rnnlm('sample', '-c', 'full', '--prime', 'the wh', '-n', '30', '--seed', '7');
  const b = rnnlm('sample', '-c', 'full', '--prime', 'the wh', '-n', '30', '--seed', '7');
  assert.is(a.status, 0, a.stderr);
  assert.ok(a.stdout.startsWith('the wh'));
  assert.is([...a.stdout].length, 'the wh'.length + 30 + 1);
  assert.is(a.stdout, b.stdout);
  const greedy = rnnlm('sample', '-c', 'full', '-n', '10', '--greedy');
  assert.is(greedy.status, 0, greedy.stderr);
});

test('eval prints the contract JSON for a text', () => {
  const r = rnnlm('eval', '-c', 'full', '--data', corpus, '--json');
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { tokens: number; nll: number; ppl: number; bpc: number };
  assert.is(out.tokens, readFileSync(corpus, 'utf8').length - 1);
  assert.ok(out.nll > 0 && out.nll < Math.log(40));
  assert.ok(Math.abs(out.ppl - Math.exp(out.nll)) < 1e-9);
  assert.ok(Math.abs(out.bpc - out.nll / Math.LN2) < 1e-9);
});

test('plot writes curves.svg', () => {
  const r = rnnlm('plot', 'full');
  assert.is(r.status, 0, r.stderr);
  assert.match(readFileSync(join(work, 'full', 'curves.svg'), 'utf8'), /<svg[\s\S]*<polyline/);
});

test('bad input: one clear line, a code, a non-zero exit', () => {
  const cases: [string[], number, RegExp][] = [
    [['train', '--data', 'missing.txt', '--steps', '1'], 1, /missing\.txt.*ERR_RNNLM_DATA/],
    [['train', '--data', corpus, '--lr', '-1'], 2, /--lr must be a positive number/],
    [['sample', '-c', 'nowhere'], 1, /ERR_RNNLM_CHECKPOINT/],
    [['eval', '-c', 'full', '--data', join(work, 'greek.txt')], 1, /ERR_RNNLM_DATA/],
  ];
  writeFileSync(join(work, 'greek.txt'), 'αβγ δέλτα\n');
  writeFileSync(join(work, 'empty.txt'), '');
  cases.push([['train', '--data', join(work, 'empty.txt')], 1, /empty/]);
  for (const [args, status, pattern] of cases) {
    const r = rnnlm(...args);
    assert.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.is(r.stderr.trim().split('\n').length, 1, `${args.join(' ')} printed more than one line:\n${r.stderr}`);
  }
});

test('a diverging run stops with ERR_RNNLM_NAN and keeps its last good checkpoint', () => {
  // A good run first, so the divergence comes after a known good state whatever step the loss
  // first turns NaN at; then the same run resumed with an absurd learning rate, saving nothing
  // more on its own (--valid-every past the end), so last/ can only be the good state of step 3.
  const good = rnnlm('train', ...small, '--optimizer', 'sgd', '--lr', '0.1', '--clip', '0', '--steps', '3', '--out', 'nan');
  assert.is(good.status, 0, good.stderr);
  const r = rnnlm('train', '--resume', 'nan', '--lr', '1e30', '--steps', '50', '--valid-every', '1000');
  assert.is(r.status, 1, r.stdout);
  assert.match(r.stderr, /ERR_RNNLM_NAN/);
  assert.match(r.stderr, /holds the last good state/);
  const saved = JSON.parse(readFileSync(join(work, 'nan', 'last', 'trainer.json'), 'utf8')) as { state: { step: number } };
  assert.is(saved.state.step, 3);
  const scored = rnnlm('eval', '-c', join('nan', 'last'), '--data', corpus, '--json');
  assert.is(scored.status, 0, scored.stderr);
  assert.ok(Number.isFinite((JSON.parse(scored.stdout) as { nll: number }).nll));
});

test('--resume takes a new learning rate and refuses a change of the model', () => {
  const first = rnnlm('train', ...small, '--steps', '2', '--out', 'relr');
  assert.is(first.status, 0, first.stderr);
  const resumed = rnnlm('train', '--resume', 'relr', '--lr', '0.0005', '--steps', '3', '--json');
  assert.is(resumed.status, 0, resumed.stderr);
  const metrics = jsonLines(readFileSync(join(work, 'relr', 'metrics.jsonl'), 'utf8')).filter((m) => m['split'] === 'train');
  assert.equal(metrics.map((m) => [m['step'], m['lr']]), [[1, 0.002], [2, 0.002], [3, 0.0005]]);
  const refused = rnnlm('train', '--resume', 'relr', '--hidden', '32', '--steps', '4');
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /ERR_RNNLM_ARGUMENT/);
});

test.run();
