// Data-parallel training under Open MPI (issue 14): two ranks at --batch 4 take the steps one
// process at --batch 8 takes (losses and weights within 1e-5, every rank holding the same
// weights), for the language model (LSTM, GRU), the sentence VAE and the classifier; with dropout
// a two-rank run is bit-identical run to run; a rank that stalls or dies ends the job with a
// message naming it and rank 0's last checkpoint loads; Ctrl-C on `--nproc` stops every rank and
// saves last/. Skipped with a message where mpirun is absent (CI installs it).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadLanguageModel } from '../src/checkpoint/index.js';
import { distributedInfo } from '../src/distributed/comm.js';
import { readMetrics } from '../src/train/metrics.js';

const job = fileURLToPath(new URL('./fixtures/distributed/train_job.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const hasMpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const work = mkdtempSync(join(tmpdir(), 'rnnlm-dp-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const corpus = join(work, 'corpus.txt');
writeFileSync(corpus, 'it was the best of times, it was the worst of times, it was the age of wisdom. '.repeat(12));
const sentences = join(work, 'sentences.txt');
const nouns = ['whale', 'ship', 'captain', 'sea', 'harpoon'];
writeFileSync(sentences, `${Array.from({ length: 90 }, (_, i) => `the ${nouns[i % 5]} ${i % 3 === 0 ? 'sleeps' : `follows the ${nouns[(i * 3) % 5]}`} .`).join('\n')}\n`);
const names = join(work, 'names');
mkdirSync(names);
writeFileSync(join(names, 'A.txt'), Array.from({ length: 40 }, (_, i) => `anna${'bcd'[i % 3]}${i}`).join('\n'));
writeFileSync(join(names, 'B.txt'), Array.from({ length: 40 }, (_, i) => `${'xyz'[i % 3]}bodo${i}`).join('\n'));
const dataOf = { lm: corpus, vae: sentences, classifier: names } as const;

type Kind = keyof typeof dataOf;
interface Dump {
  step: number;
  weights: Record<string, number[]>;
}
let runs = 0;

/** One job: mpirun -np `np` (np 0: a plain process), killed after `limit` s so that a hang fails. */
function trainJob(np: number, kind: Kind, batch: number, options: object = {}, env: Record<string, string> = {}, limit = 120) {
  const name = `run${runs++}`;
  const runDir = join(work, name);
  const dumpDir = join(work, `${name}-dump`);
  const args = [job, kind, runDir, dumpDir, dataOf[kind], String(batch), JSON.stringify(options)];
  const started = performance.now();
  const r =
    np === 0
      ? spawnSync(process.execPath, args, { encoding: 'utf8', timeout: limit * 1000, env: { ...process.env, ...env } })
      : spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), process.execPath, ...args], { encoding: 'utf8', timeout: limit * 1000, env: { ...process.env, ...env } });
  const seconds = (performance.now() - started) / 1000;
  const dump = (rank: number): Dump => JSON.parse(readFileSync(join(dumpDir, `weights-${rank}.json`), 'utf8')) as Dump;
  return { status: r.status, output: `${r.stdout}${r.stderr}`, seconds, runDir, dump };
}

function mpiTest(name: string, body: () => void | Promise<void>): void {
  test(name, async () => {
    if (!hasMpirun) return console.log(`  (skipped "${name}": mpirun not found; apt-get install openmpi-bin libopenmpi-dev)`);
    if (!distributedInfo().mpi.available) return console.log(`  (skipped "${name}": ${distributedInfo().mpi.reason})`);
    await body();
  });
}

// Per-step losses: the language model's and classifier's 'train' records, the VAE's 'train_steps' windows.
const trainLosses = (runDir: string): number[] =>
  readMetrics(runDir).filter((m) => m.split === 'train' || m.split === 'train_steps').map((m) => (m.loss ?? m.elbo) as number);

function closeAll(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= 1e-5 * (1 + Math.abs(e)))) assert.unreachable(`${what}[${i}] = ${a}, expected ${e}`);
  }
}

function assertEquivalent(kind: Kind, options: object = {}): void {
  const single = trainJob(0, kind, 8, options);
  assert.is(single.status, 0, single.output);
  const pair = trainJob(2, kind, 4, options);
  assert.is(pair.status, 0, pair.output);
  const one = single.dump(0);
  const [r0, r1] = [pair.dump(0), pair.dump(1)];
  assert.ok(one.step >= 20, `${one.step} steps`);
  assert.is(r0.step, one.step);
  closeAll(trainLosses(pair.runDir), trainLosses(single.runDir), `${kind} losses`);
  for (const [name, w] of Object.entries(one.weights)) {
    assert.equal(r1.weights[name], r0.weights[name], `${name}: rank 1 holds rank 0's weights`);
    closeAll(r0.weights[name]!, w, `${kind} ${name}`);
  }
}

mpiTest('language model (LSTM): 2 ranks at batch 4 = 1 process at batch 8, losses and weights after 20 steps', () => assertEquivalent('lm', { cell: 'lstm' }));
mpiTest('language model (GRU): 2 ranks at batch 4 = 1 process at batch 8', () => assertEquivalent('lm', { cell: 'gru' }));
mpiTest('sentence VAE: 2 ranks at batch 4 = 1 process at batch 8 (each rank uses its rows of the global latent noise)', () => assertEquivalent('vae', { decoderOnly: false }));
mpiTest('sentence VAE, decoder only: 2 ranks at batch 4 = 1 process at batch 8', () => assertEquivalent('vae', { decoderOnly: true }));
mpiTest('classifier: 2 ranks at batch 4 = 1 process at batch 8', () => assertEquivalent('classifier', { cell: 'gru', bidirectional: true }));

mpiTest('with dropout, a 2-rank run is bit-identical run to run, and the ranks draw different masks', () => {
  const options = { dropout: 0.3 };
  const a = trainJob(2, 'lm', 4, options);
  const b = trainJob(2, 'lm', 4, options);
  assert.is(a.status, 0, a.output);
  assert.is(b.status, 0, b.output);
  assert.equal(trainLosses(a.runDir), trainLosses(b.runDir));
  assert.equal(a.dump(0).weights, b.dump(0).weights);
  assert.equal(a.dump(1).weights, a.dump(0).weights);
  // Equal masks on both ranks would make this the 1-process run at batch 8 with one mask for both halves.
  const noDropout = trainJob(2, 'lm', 4, {});
  assert.not.equal(trainLosses(a.runDir), trainLosses(noDropout.runDir));
});

mpiTest('a rank that stalls ends the job within the timeout with a message naming it; last/ loads', () => {
  const r = trainJob(2, 'lm', 4, { steps: 1000 }, { RNNLM_TEST_FAULT: 'stall', RNNLM_TEST_FAULT_AT: '20', RNNLM_DIST_TIMEOUT_MS: '3000' }, 90);
  assert.is.not(r.status, 0);
  assert.ok(r.seconds < 60, `ended after ${r.seconds.toFixed(1)} s`);
  assert.match(r.output, /rank 1/);
  const loaded = loadLanguageModel(join(r.runDir, 'last'));
  loaded.model.dispose();
});

mpiTest('a rank that dies ends the job; rank 0 does not wait for ever; last/ loads', () => {
  const r = trainJob(2, 'lm', 4, { steps: 1000 }, { RNNLM_TEST_FAULT: 'exit', RNNLM_TEST_FAULT_AT: '20', RNNLM_DIST_TIMEOUT_MS: '5000' }, 90);
  assert.is.not(r.status, 0);
  assert.ok(r.seconds < 60, `ended after ${r.seconds.toFixed(1)} s`);
  const loaded = loadLanguageModel(join(r.runDir, 'last'));
  loaded.model.dispose();
});

mpiTest('--resume with another number of processes is refused; with the same it continues the run exactly', () => {
  const straight = trainJob(2, 'lm', 4, { steps: 10, validEvery: 5 });
  assert.is(straight.status, 0, straight.output);
  // Resume a 2-rank run in one process: refused, naming both sizes.
  const one = spawnSync(process.execPath, [cli, 'train', '--resume', straight.runDir, '--steps', '20'], { encoding: 'utf8' });
  assert.is(one.status, 1, one.stderr);
  assert.match(one.stderr, /trained by 2 processes and resumes with 1.*ERR_RNNLM_ARGUMENT/);
  const two = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', '2', process.execPath, cli, 'train', '--resume', straight.runDir, '--steps', '20', '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(two.status, 0, `${two.stdout}${two.stderr}`);
  const whole = trainJob(2, 'lm', 4, { steps: 20, validEvery: 5 });
  assert.equal(trainLosses(straight.runDir), trainLosses(whole.runDir));
});

mpiTest('Ctrl-C on `train --nproc 2` stops every rank after its step; rank 0 saves last/ and the run resumes', async () => {
  const runDir = join(work, 'interrupted');
  const child = spawn(process.execPath, [cli, 'train', '--nproc', '2', '--data', corpus, '--hidden', '16', '--embedding', '8', '--batch', '4', '--seq', '8', '--steps', '100000', '--valid-every', '100000', '--sample-every', '0', '--json', '--out', runDir], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(runDir, 'metrics.jsonl')) || readMetrics(runDir).length < 3) {
    if (Date.now() > deadline) assert.unreachable(`no steps after 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // A terminal's Ctrl-C reaches the whole foreground process group.
  process.kill(-child.pid!, 'SIGINT');
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  assert.ok(existsSync(join(runDir, 'last', 'trainer.json')), `last/ saved:\n${output}`);
  assert.is.not(status, 0);
  const loaded = loadLanguageModel(join(runDir, 'last'));
  loaded.model.dispose();
  const saved = JSON.parse(readFileSync(join(runDir, 'last', 'trainer.json'), 'utf8')) as { state: { step: number }; distributed: { worldSize: number } };
  assert.is(saved.distributed.worldSize, 2);
  assert.ok(saved.state.step >= 3);
});

test.run();
