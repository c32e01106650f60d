// An exact resume of sentence-VAE training from a Ctrl-C in the middle of an epoch: the trainer
// state in RUN/last (Adam's moments, the position in the epoch, its partial sums, the model
// generator's offset) must make the resumed run take the very steps the uninterrupted run takes.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readMetrics } from '../src/train/metrics.js';
import { SentenceVaeTrainer, type VaeReporter, type VaeStepRecord } from '../src/vae/trainer.js';

const work = mkdtempSync(join(tmpdir(), 'rnnlm-vae-resume-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const nouns = ['whale', 'ship', 'captain', 'sea'];
const lines = Array.from({ length: 90 }, (_, i) => `the ${nouns[i % 4]} ${i % 3 === 0 ? 'sleeps' : `follows the ${nouns[(i * 3) % 4]}`} .`);
writeFileSync(join(work, 'train.txt'), `${lines.slice(0, 75).join('\n')}\n`);
writeFileSync(join(work, 'valid.txt'), `${lines.slice(75).join('\n')}\n`);

const options = {
  data: join(work, 'train.txt'),
  valid: join(work, 'valid.txt'),
  embedding: 8,
  hidden: 8,
  latent: 3,
  batch: 10,
  epochs: 2,
  logEvery: 3,
  x0: 5,
  k: 0.5,
  wordDropout: 0.3,
  embeddingDropout: 0.2,
  teacherForcing: 0.7,
  device: 'cpu' as const,
};

function recorder(steps: VaeStepRecord[], stopAfter = Infinity, controller?: AbortController): VaeReporter {
  return {
    start() {},
    step(r) {
      steps.push(r);
      if (r.step === stopAfter) controller?.abort();
    },
    epoch() {},
    message() {},
    stop() {},
  };
}

const withoutTime = (run: string): unknown[] => readMetrics(join(work, run)).map(({ time: _time, ...m }) => m);

test('Ctrl-C mid-epoch, then resume: the same steps, weights, optimizer state and metrics as one run (records past the checkpoint dropped)', async () => {
  const straightSteps: VaeStepRecord[] = [];
  const straight = SentenceVaeTrainer.create(options, join(work, 'straight'));
  const full = await straight.run({ reporter: recorder(straightSteps) });
  straight.dispose();
  assert.is(full.status, 'finished');
  assert.is(full.step, 16);

  const controller = new AbortController();
  const firstSteps: VaeStepRecord[] = [];
  const first = SentenceVaeTrainer.create(options, join(work, 'split'));
  const stopped = await first.run({ reporter: recorder(firstSteps, 5, controller), signal: controller.signal });
  first.dispose();
  assert.is(stopped.status, 'interrupted');
  assert.is(stopped.step, 5);
  assert.is(stopped.epochs, 0);
  // What a run killed after its last checkpoint leaves: records past it, a partial last line.
  appendFileSync(join(work, 'split', 'metrics.jsonl'), '{"split":"train_steps","step":6,"epoch":1,"elbo":1}\n{"split":"train_steps","step":9,"epoch":1,"el');

  const secondSteps: VaeStepRecord[] = [];
  const second = SentenceVaeTrainer.resume(join(work, 'split'));
  assert.is(second.step, 5);
  const rest = await second.run({ reporter: recorder(secondSteps) });
  second.dispose();
  assert.is(rest.status, 'finished');
  assert.is(rest.step, 16);
  assert.equal(
    [...firstSteps, ...secondSteps].map((r) => [r.step, r.loss, r.nll, r.kl, r.klWeight]),
    straightSteps.map((r) => [r.step, r.loss, r.nll, r.kl, r.klWeight]),
  );
  assert.equal(rest.valid, full.valid);
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'trainer.json']) {
    const a = readFileSync(join(work, 'split', 'last', f));
    const b = readFileSync(join(work, 'straight', 'last', f));
    if (f === 'trainer.json') {
      const strip = (buf: Buffer): unknown => {
        const j = JSON.parse(buf.toString('utf8'));
        for (const k of ['epochSeconds', 'trainSeconds', 'elapsed']) delete j.state[k];
        return j;
      };
      assert.equal(strip(a), strip(b));
    } else assert.ok(a.equals(b), `last/${f}`);
  }
  assert.equal(withoutTime('split'), withoutTime('straight'));
});

test('resume refuses changed options, other data, and a checkpoint without trainer state', () => {
  assert.throws(() => SentenceVaeTrainer.resume(join(work, 'split'), { latent: 5 }), (e: Error & { code?: string }) => e.code === 'ERR_RNNLM_ARGUMENT' && /'latent' cannot change/.test(e.message));
  const other = join(work, 'other.txt');
  writeFileSync(other, `${lines.slice(0, 74).join('\n')}\n`);
  const trainerJson = join(work, 'split', 'last', 'trainer.json');
  const saved = JSON.parse(readFileSync(trainerJson, 'utf8'));
  saved.options.data = other;
  writeFileSync(trainerJson, JSON.stringify(saved));
  assert.throws(() => SentenceVaeTrainer.resume(join(work, 'split')), (e: Error & { code?: string }) => e.code === 'ERR_RNNLM_DATA' && /differ/.test(e.message));
  saved.format = 'rnnlm-trainer';
  writeFileSync(trainerJson, JSON.stringify(saved));
  assert.throws(() => SentenceVaeTrainer.resume(join(work, 'split')), (e: Error & { code?: string }) => e.code === 'ERR_RNNLM_CHECKPOINT' && /not an rnnlm sentence-VAE trainer state/.test(e.message));
  rmSync(trainerJson);
  assert.throws(() => SentenceVaeTrainer.resume(join(work, 'split')), (e: Error & { code?: string }) => e.code === 'ERR_RNNLM_CHECKPOINT');
});

test.run();
