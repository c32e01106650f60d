// The README's library example runs as written (against the built package, as a user's code would).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

test('examples/train_sample_save.ts trains, samples, saves, reloads and scores', () => {
  const work = mkdtempSync(join(tmpdir(), 'rnnlm-example-'));
  try {
    const text = 'The sea. Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about.\n'.repeat(60);
    writeFileSync(join(work, 'text.txt'), text);
    const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'examples', 'train_sample_save.ts'), 'text.txt', '6'], {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, RNNLM_THREADS: '1' },
    });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^finished after 6 steps, best validation loss \d+\.\d+/);
    assert.match(r.stdout, /\nThe /);
    assert.match(r.stdout, /nll \d+\.\d+ nats\/char, \d+\.\d+ bits\/char/);
    assert.ok(existsSync(join(work, 'models', 'example', 'model.safetensors')));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('examples/sentence_vae.ts trains a VAE, samples, interpolates, reloads and scores', () => {
  const work = mkdtempSync(join(tmpdir(), 'rnnlm-example-vae-'));
  try {
    const nouns = ['whale', 'ship', 'captain', 'sea'];
    const lines = Array.from({ length: 160 }, (_, i) => `the ${nouns[i % 4]} ${i % 3 === 0 ? 'was calm' : `struck the ${nouns[(i * 3) % 4]}`} .`);
    writeFileSync(join(work, 'sentences.txt'), `${lines.join('\n')}\n`);
    const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'examples', 'sentence_vae.ts'), 'sentences.txt', '2'], {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, RNNLM_THREADS: '1' },
    });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^finished after 2 epochs: valid nll \d+\.\d+, kl \d+\.\d+ per sentence/);
    assert.is(r.stdout.match(/^sample: /gm)?.length, 3);
    assert.is(r.stdout.match(/^path: /gm)?.length, 5, 'steps + 2 points');
    assert.match(r.stdout, /score: nll \d+\.\d+, kl \d+\.\d+, elbo \d+\.\d+ nats/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
