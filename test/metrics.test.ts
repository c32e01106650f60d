// RUN/metrics.jsonl: appended line by line, read back whole, a crash's partial line tolerated.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetricsWriter, readMetrics } from '../src/train/metrics.js';
import { throwsCode } from './api-helpers.js';

function tempRun(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlm-metrics-'));
}

test('records are appended one JSON object per line and read back in order', () => {
  const run = tempRun();
  const w = new MetricsWriter(run);
  w.write({ split: 'train', step: 1, epoch: 0, loss: 4.5, lr: 0.002, tokens_per_s: 1000, time: 0.5 });
  // Each line reaches the file at once, before close(): a crash keeps it.
  assert.is(fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').split('\n').length, 2);
  w.write({ split: 'valid', step: 1, epoch: 0, loss: 4.2, ppl: Math.exp(4.2) });
  w.close();
  const records = readMetrics(run);
  assert.equal(records, [
    { split: 'train', step: 1, epoch: 0, loss: 4.5, lr: 0.002, tokens_per_s: 1000, time: 0.5 },
    { split: 'valid', step: 1, epoch: 0, loss: 4.2, ppl: Math.exp(4.2) },
  ]);
  fs.rmSync(run, { recursive: true });
});

test('a resumed writer appends; NaN and Infinity survive the round trip', () => {
  const run = tempRun();
  const a = new MetricsWriter(run);
  a.write({ split: 'train', step: 1, loss: 3 });
  a.close();
  const b = new MetricsWriter(run);
  b.write({ split: 'train', step: 2, loss: NaN, kl: Infinity });
  b.close();
  const records = readMetrics(run);
  assert.is(records.length, 2);
  assert.is(records[0]!.loss, 3);
  assert.ok(Number.isNaN(records[1]!.loss as number), 'NaN comes back as a number');
  assert.is(records[1]!.kl, Infinity);
  const fresh = new MetricsWriter(run, { truncate: true });
  fresh.close();
  assert.equal(readMetrics(run), []);
  fs.rmSync(run, { recursive: true });
});

test('a truncated last line (crash mid-write) is dropped, and a resumed writer cuts it off', () => {
  const run = tempRun();
  const file = path.join(run, 'metrics.jsonl');
  fs.writeFileSync(file, '{"split":"train","step":1,"loss":2}\n{"split":"train","step":2,"loss":1.9}\n{"split":"tra');
  assert.equal(readMetrics(run).map((r) => r.step), [1, 2]);
  const w = new MetricsWriter(run);
  w.write({ split: 'train', step: 3, loss: 1.8 });
  w.close();
  assert.equal(readMetrics(run).map((r) => r.step), [1, 2, 3]);
  assert.ok(fs.readFileSync(file, 'utf8').endsWith('"loss":1.8}\n'));
  fs.rmSync(run, { recursive: true });
});

test('a resumed writer with keepThrough drops the records past that step, and a partial last line', () => {
  const dir = tempRun();
  try {
    const w = new MetricsWriter(dir);
    for (let step = 1; step <= 5; step++) w.write({ split: 'train', step, loss: step });
    w.close();
    fs.appendFileSync(path.join(dir, 'metrics.jsonl'), '{"split":"train","st');
    const resumed = new MetricsWriter(dir, { keepThrough: 3 });
    resumed.write({ split: 'train', step: 4, loss: 40 });
    resumed.close();
    assert.equal(readMetrics(dir).map((r) => [r.step, r.loss]), [[1, 1], [2, 2], [3, 3], [4, 40]]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a metrics file can be given directly; a bad line in the middle is an error naming the line', () => {
  const run = tempRun();
  const file = path.join(run, 'metrics.jsonl');
  fs.writeFileSync(file, '{"split":"train","step":1}\nnot json\n{"split":"train","step":3}\n');
  const e = throwsCode(() => readMetrics(file), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes('line 2'), e.message);
  fs.writeFileSync(file, '{"split":"train","step":1}\n{"step":"two"}\n');
  throwsCode(() => readMetrics(run), 'ERR_RNNLM_DATA');
  fs.rmSync(run, { recursive: true });
});

test('a missing run folder, or one without metrics, is ERR_RNNLM_DATA naming it', () => {
  const run = tempRun();
  const e1 = throwsCode(() => readMetrics(path.join(run, 'nope')), 'ERR_RNNLM_DATA');
  assert.ok(e1.message.includes('nope'));
  const e2 = throwsCode(() => readMetrics(run), 'ERR_RNNLM_DATA');
  assert.ok(e2.message.includes('metrics.jsonl'));
  fs.rmSync(run, { recursive: true });
});

test('write() after close() fails instead of writing nowhere', () => {
  const run = tempRun();
  const w = new MetricsWriter(run);
  w.close();
  throwsCode(() => w.write({ split: 'train', step: 1 }), 'ERR_RNNLM_STATE');
  fs.rmSync(run, { recursive: true });
});

test.run();
