// The progress display: sparse plain lines off a terminal, a redrawn bar on one, log lines in both.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createProgress, formatDuration, formatThousands } from '../src/train/progress.js';

function fakeStream(isTTY = false) {
  const writes: string[] = [];
  return { isTTY, columns: 200, writes, write: (chunk: string) => (writes.push(chunk), true), text: () => writes.join('') };
}

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('durations read as 45s, 3m12s, 1h05m', () => {
  assert.is(formatDuration(0), '0s');
  assert.is(formatDuration(45.4), '45s');
  assert.is(formatDuration(192), '3m12s');
  assert.is(formatDuration(60), '1m00s');
  assert.is(formatDuration(3900), '1h05m');
  assert.is(formatDuration(NaN), '?');
  assert.is(formatThousands(12345.4), '12,345');
  assert.is(formatThousands(999), '999');
  assert.is(formatThousands(1234567), '1,234,567');
});

test('plain mode: a line every N steps, with loss to 4 decimals, tok/s and ETA', () => {
  const stream = fakeStream();
  const clock = fakeClock();
  const p = createProgress({ stream, everySteps: 100, everyMs: 1e9, now: clock.now });
  p.start(2000);
  for (let step = 1; step <= 400; step++) {
    clock.advance(480); // 0.48 s per step
    p.update(step, { loss: 1.82341, tokensPerSec: 12345 });
  }
  const lines = stream.text().split('\n').filter(Boolean);
  assert.equal(lines.map((l) => l.split('  ')[0]), ['step 100/2000', 'step 200/2000', 'step 300/2000', 'step 400/2000']);
  // 1800 steps left at 0.48 s each = 864 s = 14m24s.
  assert.is(lines[1], 'step 200/2000  loss 1.8234  12,345 tok/s  eta 14m24s');
  assert.not.ok(stream.text().includes('\r'), 'no carriage returns in a log file');
  assert.not.ok(stream.text().includes('\x1b'), 'no escape codes in a log file');
});

test('plain mode: a line after everyMs even between step multiples; the last step always', () => {
  const stream = fakeStream();
  const clock = fakeClock();
  const p = createProgress({ stream, everySteps: 1000, everyMs: 10_000, now: clock.now });
  p.start(25);
  for (let step = 1; step <= 25; step++) {
    clock.advance(3000);
    p.update(step, { loss: 2, tokensPerSec: 100, lr: 0.001 });
  }
  p.stop();
  const steps = stream.text().split('\n').filter(Boolean).map((l) => l.split('  ')[0]);
  // 3 s per step: 10 s have passed at steps 4, 8, 12, ...; the last step (25) is printed too.
  assert.equal(steps, ['step 4/25', 'step 8/25', 'step 12/25', 'step 16/25', 'step 20/25', 'step 24/25', 'step 25/25']);
  const last = stream.text().trim().split('\n').pop()!;
  assert.ok(last.includes('lr 1.00e-3'), last);
  assert.ok(last.endsWith('elapsed 1m15s'), `the last line gives the total time: ${last}`);
});

test('plain mode: the rate limit holds when updates come every step', () => {
  const stream = fakeStream();
  const clock = fakeClock();
  const p = createProgress({ stream, now: clock.now }); // default: total/20 steps, 10 s
  p.start(10_000);
  for (let step = 1; step <= 10_000; step++) {
    clock.advance(1);
    p.update(step, { loss: 1, tokensPerSec: 1 });
  }
  const lines = stream.text().split('\n').filter(Boolean);
  assert.is(lines.length, 20);
  assert.ok(lines[lines.length - 1]!.startsWith('step 10000/10000'));
});

test('plain mode: a resumed run counts its rate from the resume step', () => {
  const stream = fakeStream();
  const clock = fakeClock();
  const p = createProgress({ stream, everySteps: 10, everyMs: 1e9, now: clock.now });
  p.start(1100, 1000);
  for (let step = 1001; step <= 1010; step++) {
    clock.advance(2000);
    p.update(step, { loss: 1, tokensPerSec: 1 });
  }
  // 90 steps left at 2 s each; counting from step 0 would say ~0s.
  assert.is(stream.text().trim(), 'step 1010/1100  loss 1.0000  1 tok/s  eta 3m00s');
});

test('log() prints plain lines; json mode prints only log lines', () => {
  const plain = fakeStream();
  const p = createProgress({ stream: plain, everySteps: 1 });
  p.start(2);
  p.log('checkpoint saved');
  p.update(1, { loss: 1, tokensPerSec: 1 });
  assert.ok(plain.text().startsWith('checkpoint saved\n'));

  const json = fakeStream(true);
  const q = createProgress({ stream: json, json: true });
  q.start(10);
  for (let step = 1; step <= 10; step++) q.update(step, { loss: 1, tokensPerSec: 1 });
  q.log('hello');
  q.stop();
  assert.is(json.text(), 'hello\n');
});

test('TTY mode: a bar with step/total, loss and ETA; log lines land above it and survive stop()', () => {
  const stream = fakeStream(true);
  const clock = fakeClock();
  const p = createProgress({ stream, now: clock.now });
  p.start(10);
  clock.advance(1000);
  p.update(5, { loss: 1.234567, tokensPerSec: 4321 });
  p.log('valid loss 1.1');
  p.stop();
  const text = stream.text();
  assert.ok(text.includes('valid loss 1.1\n'), 'the log line is printed whole');
  const afterLog = text.slice(text.lastIndexOf('valid loss 1.1\n'));
  assert.ok(afterLog.includes('5/10'), 'the bar is redrawn after the log line');
  assert.ok(afterLog.includes('loss 1.2346'));
  assert.ok(afterLog.includes('4,321 tok/s'));
  assert.ok(afterLog.includes('eta 1s'), afterLog);
  assert.ok(text.endsWith('\n'), 'stop() leaves the cursor on a fresh line');
  assert.not.ok(text.includes('\x1b7') || text.includes('\x1b8'), 'no absolute cursor save/restore');
});

test('TTY mode: stop() releases the timer so the process can exit', () => {
  const stream = fakeStream(true);
  const p = createProgress({ stream });
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  p.start(3);
  p.update(1, { loss: 1, tokensPerSec: 1 });
  p.stop();
  const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.is(after, before);
});

test.run();
