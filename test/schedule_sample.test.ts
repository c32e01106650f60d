// Learning-rate schedules and the token picker used by sampling.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pickToken, SampleRandom, checkPickOptions } from '../src/sample/pick.js';
import { learningRate, type ScheduleOptions } from '../src/train/schedule.js';

const base: ScheduleOptions = { kind: 'constant', lr: 0.1, warmup: 0, stepSize: 10, gamma: 0.5, minLr: 0.001, totalSteps: 100 };

test('constant, step and cosine schedules with warm-up', () => {
  assert.is(learningRate(base, 57), 0.1);
  const step = { ...base, kind: 'step' as const };
  assert.is(learningRate(step, 9), 0.1);
  assert.is(learningRate(step, 10), 0.05);
  assert.is(learningRate(step, 25), 0.025);
  const cosine = { ...base, kind: 'cosine' as const };
  assert.is(learningRate(cosine, 0), 0.1);
  assert.ok(Math.abs(learningRate(cosine, 50) - (0.001 + 0.099 * 0.5)) < 1e-12);
  assert.ok(Math.abs(learningRate(cosine, 100) - 0.001) < 1e-12);
  const warm = { ...cosine, warmup: 10 };
  assert.ok(Math.abs(learningRate(warm, 0) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRate(warm, 9) - 0.1) < 1e-12);
  // Cosine decay starts after warm-up and reaches the floor at the last step.
  assert.ok(Math.abs(learningRate(warm, 10) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate(warm, 100) - 0.001) < 1e-12);
});

const logits = Float32Array.from([2, 1, 0.5, -1, 3]);

function histogram(options: Parameters<typeof pickToken>[1], draws = 20000): number[] {
  const random = new SampleRandom(5);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[pickToken(logits, options, random)]! += 1;
  return counts.map((c) => c / draws);
}

function softmax(values: number[]): number[] {
  const m = Math.max(...values);
  const e = values.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

test('plain sampling follows the softmax; temperature sharpens it', () => {
  const expected = softmax([...logits]);
  histogram({}).forEach((p, i) => assert.ok(Math.abs(p - expected[i]!) < 0.015, `token ${i}: ${p} vs ${expected[i]}`));
  const cold = softmax([...logits].map((v) => v / 0.5));
  histogram({ temperature: 0.5 }).forEach((p, i) => assert.ok(Math.abs(p - cold[i]!) < 0.015, `token ${i}: ${p} vs ${cold[i]}`));
});

test('greedy takes the argmax; top-k and top-p keep only the head', () => {
  assert.is(pickToken(logits, { greedy: true }, new SampleRandom(1)), 4);
  const top2 = histogram({ topK: 2 });
  assert.is(top2[1]! + top2[2]! + top2[3]!, 0);
  const p = softmax([3, 2]);
  assert.ok(Math.abs(top2[4]! - p[0]!) < 0.015);
  // The two most likely tokens hold about 0.84 of the mass: top-p 0.8 keeps exactly them.
  const nucleus = histogram({ topP: 0.8 });
  assert.is(nucleus[1]! + nucleus[2]! + nucleus[3]!, 0);
  assert.ok(nucleus[0]! > 0 && nucleus[4]! > 0);
});

test('the same seed draws the same tokens; bad options are rejected', () => {
  const a = Array.from({ length: 20 }, ((r) => () => pickToken(logits, {}, r))(new SampleRandom(9)));
  const b = Array.from({ length: 20 }, ((r) => () => pickToken(logits, {}, r))(new SampleRandom(9)));
  assert.equal(a, b);
  assert.throws(() => checkPickOptions({ temperature: 0 }), /temperature/);
  assert.throws(() => checkPickOptions({ topP: 0 }), /top-p/);
  assert.throws(() => checkPickOptions({ topK: 1.5 }), /top-k/);
});

test.run();
