// Faults a training run and the CLI meet in the field (issue 15): `kill -9` during checkpoint
// saves, a full disk, output nobody reads, and hostile files where a corpus or a checkpoint is
// expected. Every case asserts the error code, a time bound, and that nothing crashed (no
// signal, no Node trace). The CLI is the built one (dist/cli/main.js; `npm test` builds it first).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readCheckpoint } from '../src/checkpoint/checkpoint.js';
import { loadLanguageModel } from '../src/checkpoint/lm_checkpoint.js';
import { rng } from './golden-helpers.js';
import { assertNoCrash, assertRefused, cliMain, errorCode, root, runCli, type CliRun } from './support/cli_process.js';

const work = mkdtempSync(join(tmpdir(), 'rnnlm-faults-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const corpus = join(work, 'corpus.txt');
const small = ['--data', corpus, '--embedding', '8', '--hidden', '16', '--batch', '4', '--seq', '16', '--sample-every', '0', '--seed', '3'];
const cli = (args: string[], killAfterMs?: number): Promise<CliRun> => runCli(args, { cwd: work, ...(killAfterMs === undefined ? {} : { killAfterMs }) });

test.before(async () => {
  const words = ['the', 'whale', 'sea', 'ship', 'captain', 'white', 'harpoon', 'deck'];
  const lines = Array.from({ length: 200 }, (_, i) => `${words[i % 8]} ${words[(i * 3) % 8]} ${i % 10}.`);
  writeFileSync(corpus, `${lines.join('\n')}\n`);
  const r = await cli(['train', ...small, '--steps', '2', '--out', 'lm', '--json']);
  assert.is(r.status, 0, r.stderr);
  const names = join(work, 'names');
  mkdirSync(names);
  writeFileSync(join(names, 'Alpha.txt'), 'abcd\nbcda\ncdab\ndabc\naabb\nbbcc\n');
  writeFileSync(join(names, 'Beta.txt'), 'wxyz\nxyzw\nyzwx\nzwxy\nwwxx\nxxyy\n');
  const c = await cli(['classify', 'train', '--data', names, '--embedding', '4', '--hidden', '4', '--batch', '4', '--epochs', '1', '--device', 'cpu', '--out', 'cls']);
  assert.is(c.status, 0, c.stderr);
});

// ---- kill -9 during saves --------------------------------------------------------------------

const leftovers = (dir: string): string[] => readdirSync(dir).filter((e) => /^\.(last|best)\.(tmp|old)-/.test(e));

/** Starts `rnnlm ...args`, waits for its 'start' line (and `ready`), then `delayMs`, and kills it with SIGKILL. */
function killDuring(args: string[], delayMs: number, ready: () => boolean): Promise<{ signal: string | null; stderr: string; savesInFlight: boolean }> {
  const child = spawn(process.execPath, [cliMain, ...args], { cwd: work, env: { ...process.env, RNNLM_THREADS: '1', RNNLM_DEVICE: 'cpu' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let savesInFlight = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the run never started: ${stderr}`));
    }, 20_000);
    let armed = false;
    const poll = setInterval(() => {
      if (armed || !stdout.includes('"event":"start"') || !ready()) return;
      armed = true;
      clearInterval(poll);
      setTimeout(() => {
        savesInFlight = leftovers(join(work, 'killed')).some((e) => e.includes('.tmp-'));
        child.kill('SIGKILL');
      }, delayMs);
    }, 5);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (_status, signal) => {
      clearTimeout(guard);
      clearInterval(poll);
      resolve({ signal, stderr, savesInFlight });
    });
  });
}

test('kill -9 at 12 seeded moments during saves: last/ and best/ always load, and the run resumes each time and finishes', async () => {
  // The kill schedule is the same on every run.
  const random = rng(20260415);
  const run = join(work, 'killed');
  const last = join(run, 'last');
  let inFlight = 0;
  let previousStep = 0;
  for (let i = 0; i < 12; i++) {
    // Every step validates and saves last/ (and best/ when it improves): the run spends most of its time saving.
    const args = i === 0 ? ['train', ...small, '--steps', '100000', '--valid-every', '1', '--out', 'killed', '--json'] : ['train', '--resume', 'killed', '--json'];
    const delay = Math.floor(random() * 250);
    const killed = await killDuring(args, delay, () => existsSync(join(last, 'trainer.json')));
    assert.is(killed.signal, 'SIGKILL', `kill ${i + 1}: ${killed.stderr}`);
    if (killed.savesInFlight) inFlight += 1;
    const checkpoint = readCheckpoint(last, { kind: 'language_model', requireTrainer: true });
    const step = (checkpoint.trainer!.state as { state: { step: number } }).state.step;
    assert.ok(step >= previousStep, `kill ${i + 1}: last/ went back from step ${previousStep} to ${step}`);
    previousStep = step;
    for (const which of ['last', 'best'] as const) loadLanguageModel(run, { prefer: which }).model.dispose();
  }
  const finish = await cli(['train', '--resume', 'killed', '--steps', String(previousStep + 2), '--json'], 30_000);
  assertNoCrash(finish, 'the final resume');
  assert.is(finish.status, 0, finish.stderr);
  assert.match(finish.stdout, /"event":"summary".*"status":"finished"/);
  assert.equal(leftovers(run), [], 'temporary folders of the killed writers are gone after the next saves');
  console.log(`  kill -9: 12 kills (${inFlight} with a save in flight), last/ reached step ${previousStep}`);
});

// ---- a full disk -----------------------------------------------------------------------------

/** A 300 KiB tmpfs under `dir`, or the reason there cannot be one here. */
function smallTmpfs(dir: string): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=300k', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error !== undefined) return `mount is not available (${r.error.message})`;
  return r.status === 0 ? null : `mount -t tmpfs failed (${r.stderr.trim() || `status ${r.status}`}; needs root or CAP_SYS_ADMIN)`;
}

test('a full disk (300 KiB tmpfs): training ends with ERR_RNNLM_IO and its last checkpoint loads', async () => {
  const disk = join(work, 'disk');
  const why = smallTmpfs(disk);
  if (why !== null) {
    console.log(`  skipped the full-disk test: ${why}`);
    return;
  }
  try {
    // A checkpoint of about 180 KB (weights and Adam's moments): the second copy a save writes does not fit.
    const r = await cli(['train', ...small, '--hidden', '32', '--steps', '100000', '--valid-every', '1', '--out', join(disk, 'run'), '--json']);
    assertRefused(r, ['ERR_RNNLM_IO'], 20_000, 'train on a full disk');
    assert.match(r.stderr, /ENOSPC/);
    const checkpoint = readCheckpoint(join(disk, 'run', 'last'), { kind: 'language_model', requireTrainer: true });
    assert.ok(checkpoint.weights.size > 0);
    loadLanguageModel(join(disk, 'run')).model.dispose();
    assert.equal(leftovers(join(disk, 'run')), [], 'the failed save removed its temporary folder');
    // The same disk filled to the last byte: output redirected onto it is one ERR_RNNLM_IO line.
    spawnSync('sh', ['-c', `cat /dev/zero > '${join(disk, 'filler')}'`]);
    for (const command of ['sample -c lm -n 2000', `eval -c lm --data '${corpus}' --json`]) {
      const started = performance.now();
      const r = bash(`eval "$RNNLM" ${command} > '${join(disk, 'out.txt')}'`);
      const ms = performance.now() - started;
      assert.is(r.status, 1, `${command} > full disk: ${r.stderr}`);
      assert.match(r.stderr, /^rnnlm: ERR_RNNLM_IO: cannot write to stdout: ENOSPC/m, r.stderr);
      assert.is(r.stderr.split('\n').filter((l) => l.includes('ERR_RNNLM_IO')).length, 1, r.stderr);
      assert.not.match(r.stderr, /Unhandled|^\s+at /m);
      assert.ok(ms < 5000, `${command} > full disk took ${ms.toFixed(0)} ms`);
    }
  } finally {
    spawnSync('umount', [disk]);
  }
});

// ---- output nobody reads ---------------------------------------------------------------------

function bash(script: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('bash', ['-c', script], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, RNNLM_THREADS: '1', RNNLM_DEVICE: 'cpu', RNNLM: `'${process.execPath}' '${cliMain}'`, VAE: join(root, 'test', 'fixtures', 'vae', 'ckpt_gru1') },
  });
}

test('the VAE and the classifier into a closed pipe end with 0, into a full disk with one ERR_RNNLM_IO line; stdout closed (>&-) is no crash', () => {
  for (const command of ['vae sample -c "$VAE" -n 3000', 'classify predict -c cls abcd wxyz bcda --top 2 --json']) {
    const started = performance.now();
    const piped = bash(`eval "$RNNLM" ${command} 2>err.txt | head -c 5 >/dev/null; echo "\${PIPESTATUS[0]}"; cat err.txt`);
    const [status, ...stderr] = piped.stdout.split('\n');
    assert.is(status, '0', `${command} | head: ${piped.stdout}`);
    assert.not.match(stderr.join('\n'), /Unhandled|^\s+at |Error:/m);
    const full = bash(`eval "$RNNLM" ${command} > /dev/full`);
    assert.is(full.status, 1, `${command} > /dev/full: ${full.stderr}`);
    assert.is(full.stderr.split('\n').filter((l) => l.includes('ERR_RNNLM_IO')).length, 1, full.stderr);
    assert.not.match(full.stderr, /Unhandled|^\s+at /m);
    // Node gives a closed stdout /dev/null: the output is lost, quietly.
    const closed = bash(`eval "$RNNLM" ${command} >&-`);
    assert.is(closed.status, 0, `${command} >&-: ${closed.stderr}`);
    assert.not.match(closed.stderr, /Unhandled|^\s+at /m);
    const ms = performance.now() - started;
    assert.ok(ms < 10_000, `${command}: the three runs took ${ms.toFixed(0)} ms`);
  }
});

// ---- hostile files ---------------------------------------------------------------------------

/** Paths to things that are not a usable file, by name. */
function hostilePaths(): Record<string, string> {
  const dir = join(work, 'hostile');
  if (!existsSync(dir)) {
    mkdirSync(dir);
    spawnSync('mkfifo', [join(dir, 'fifo')]);
    mkdirSync(join(dir, 'folder'));
    // Bytes a text reader must not take for UTF-8 text: NULs and control characters.
    writeFileSync(join(dir, 'binary.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 151 + 7) % 256)));
    writeFileSync(join(dir, 'empty.txt'), '');
  }
  return {
    FIFO: join(dir, 'fifo'),
    '/dev/zero': '/dev/zero',
    'an empty folder': join(dir, 'folder'),
    'a binary file': join(dir, 'binary.bin'),
    'an empty file': join(dir, 'empty.txt'),
    'a missing file': join(dir, 'missing.txt'),
  };
}

/** Runs the cases two at a time; each must be refused with its code within 2 s. */
async function refuseAll(cases: { what: string; args: string[]; code: string }[]): Promise<void> {
  const queue = [...cases];
  const failures: string[] = [];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      const r = await cli(c.args, 10_000);
      try {
        assertRefused(r, [c.code], 2000, c.what);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  assert.equal(failures, [], failures.join('\n'));
}

// Every hostile path for the LM trainer and the checkpoint loader; the three kinds of path that
// used to hang or read forever (FIFO, /dev/zero, a folder) for the other commands too.
const EVERY = ['FIFO', '/dev/zero', 'an empty folder', 'a binary file', 'an empty file', 'a missing file'];
const WORST = ['FIFO', '/dev/zero', 'a binary file'];

test('a FIFO, /dev/zero, a folder, a binary, an empty or a missing file as the corpus: ERR_RNNLM_DATA within 2 s', async () => {
  const paths = hostilePaths();
  const cases = Object.entries(paths).flatMap(([name, path]) => [
    { what: `train --data ${name}`, args: ['train', '--data', path, '--steps', '1', '--out', join(work, 'never')], code: 'ERR_RNNLM_DATA', on: EVERY },
    { what: `train --valid ${name}`, args: ['train', ...small, '--valid', path, '--steps', '1', '--out', join(work, 'never')], code: 'ERR_RNNLM_DATA', on: WORST },
    { what: `eval --data ${name}`, args: ['eval', '-c', 'lm', '--data', path], code: 'ERR_RNNLM_DATA', on: WORST },
    { what: `vae train --data ${name}`, args: ['vae', 'train', '--data', path, '--out', join(work, 'never')], code: 'ERR_RNNLM_DATA', on: WORST },
    { what: `classify train --data ${name}`, args: ['classify', 'train', '--data', path, '--out', join(work, 'never')], code: 'ERR_RNNLM_DATA', on: WORST },
  ].filter((c) => c.on.includes(name)));
  await refuseAll(cases);
});

test('a FIFO, /dev/zero, a folder, a binary, an empty or a missing file as the checkpoint: ERR_RNNLM_CHECKPOINT within 2 s', async () => {
  const cases = Object.entries(hostilePaths()).flatMap(([name, path]) => [
    { what: `sample -c ${name}`, args: ['sample', '-c', path, '-n', '5'], code: 'ERR_RNNLM_CHECKPOINT', on: EVERY },
    { what: `train --resume ${name}`, args: ['train', '--resume', path], code: 'ERR_RNNLM_CHECKPOINT', on: WORST },
    { what: `vae sample -c ${name}`, args: ['vae', 'sample', '-c', path], code: 'ERR_RNNLM_CHECKPOINT', on: WORST },
    { what: `classify predict -c ${name}`, args: ['classify', 'predict', '-c', path, 'abcd'], code: 'ERR_RNNLM_CHECKPOINT', on: WORST },
  ].filter((c) => c.on.includes(name)));
  await refuseAll(cases);
});

test('a FIFO, /dev/zero or a folder in place of a file inside a checkpoint: ERR_RNNLM_CHECKPOINT within 2 s (a FIFO used to block for ever, /dev/zero to be read without end)', async () => {
  const hostile = hostilePaths();
  const cases: { what: string; args: string[]; code: string }[] = [];
  // Each file of last/ once, each kind of non-file at least once.
  const plan = [
    ['model.safetensors', 'FIFO'],
    ['config.json', 'a folder'],
    ['vocab.json', '/dev/zero'],
    ['trainer.json', 'FIFO'],
    ['optimizer.safetensors', '/dev/zero'],
  ] as const;
  for (const [file, name] of plan) {
    const run = join(work, `tampered-${file}`);
    mkdirSync(join(run, 'last'), { recursive: true });
    for (const f of readdirSync(join(work, 'lm', 'last'))) {
      if (f !== file) writeFileSync(join(run, 'last', f), readFileSync(join(work, 'lm', 'last', f)));
    }
    const path = join(run, 'last', file);
    if (name === 'FIFO') spawnSync('mkfifo', [path]);
    else if (name === '/dev/zero') symlinkSync(hostile['/dev/zero']!, path);
    else mkdirSync(path);
    const resume = file === 'trainer.json' || file === 'optimizer.safetensors';
    cases.push({
      what: `${file} is ${name}`,
      args: resume ? ['train', '--resume', run] : ['sample', '-c', join(run, 'last'), '-n', '5'],
      code: 'ERR_RNNLM_CHECKPOINT',
    });
  }
  await refuseAll(cases);
});

test('a FIFO or /dev/zero as RUN/metrics.jsonl: train --resume and plot refuse it with ERR_RNNLM_IO within 2 s (both used to block for ever)', async () => {
  const cases: { what: string; args: string[]; code: string }[] = [];
  for (const [name, make] of [
    ['FIFO', (path: string) => spawnSync('mkfifo', [path])],
    ['/dev/zero', (path: string) => symlinkSync('/dev/zero', path)],
  ] as const) {
    const run = join(work, `metrics-${name === 'FIFO' ? 'fifo' : 'zero'}`);
    mkdirSync(join(run, 'last'), { recursive: true });
    for (const f of readdirSync(join(work, 'lm', 'last'))) writeFileSync(join(run, 'last', f), readFileSync(join(work, 'lm', 'last', f)));
    make(join(run, 'metrics.jsonl'));
    cases.push({ what: `train --resume with metrics.jsonl ${name}`, args: ['train', '--resume', run, '--steps', '4'], code: 'ERR_RNNLM_IO' });
    cases.push({ what: `plot with metrics.jsonl ${name}`, args: ['plot', run], code: 'ERR_RNNLM_IO' });
  }
  await refuseAll(cases);
});

test('an error the CLI reports names its code once, with no trace', async () => {
  const r = await cli(['sample', '-c', join(work, 'nowhere')]);
  assert.is(errorCode(r), 'ERR_RNNLM_CHECKPOINT');
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test.run();
