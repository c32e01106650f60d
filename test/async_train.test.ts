// trainer.run() yields to the event loop after every step (issue 16): a timer at 20 ms keeps
// firing while a 2x512 LSTM trains 20 steps on the main thread. The run's end (validation and
// the RUN/best and RUN/last checkpoints, written synchronously) is one block of its own and is
// not part of the bound.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LanguageModelTrainer, type LmTrainOptions, type TrainReporter } from '../src/index.js';
import { TEXT, watchEventLoop } from './async-helpers.js';

test('a timer keeps firing while a 2x512 LSTM trains 20 steps', async () => {
  const work = mkdtempSync(join(tmpdir(), 'rnnlm-async-train-'));
  try {
    const data = join(work, 'text.txt');
    writeFileSync(data, TEXT.repeat(40));
    const options: Partial<LmTrainOptions> = { data, embedding: 64, hidden: 512, layers: 2, dropout: 0, seq: 16, batch: 4, validEvery: 1000 };
    // A first short run takes the one-time costs (allocator, BLAS threads) out of the measured one.
    const warm = LanguageModelTrainer.create({ ...options, steps: 2 }, join(work, 'warm'));
    await warm.run();
    warm.dispose();

    const trainer = LanguageModelTrainer.create({ ...options, steps: 20 }, join(work, 'run'));
    const stepsReported: number[] = [];
    const reporter: TrainReporter = { start() {}, step: () => void stepsReported.push(performance.now()), validation() {}, sample() {}, message() {}, stop() {} };
    const watch = watchEventLoop(20);
    const summary = await trainer.run({ reporter });
    const gaps = watch.stop();
    trainer.dispose();
    assert.is(summary.status, 'finished');
    assert.is(stepsReported.length, 20);
    // The gaps that ended by the 20th step's report: the steps themselves.
    const lastStep = stepsReported[19]!;
    const during = gaps.filter((_, i) => watch.fired[i + 1]! <= lastStep);
    const trainingTime = lastStep - watch.fired[0]!;
    const maxGap = Math.max(...during);
    assert.ok(maxGap < 250, `longest gap ${maxGap.toFixed(0)} ms during ${trainingTime.toFixed(0)} ms of training`);
    assert.ok(during.length >= Math.min(10, trainingTime / 100), `${during.length} firings in ${trainingTime.toFixed(0)} ms`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
