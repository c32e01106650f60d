// Truncated-BPTT streams: B contiguous streams read in parallel, time-major chunks, targets
// shifted by one, the short last chunk; and the single-stream walk used by evaluation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TokenStream, evalStream } from '../src/data/stream.js';
import { throwsCode } from './api-helpers.js';

const range = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

test('layout against a hand-computed example: 11 ids, batch 3 -> L = 3, ids[9..] dropped', () => {
  // streams: b0 = 0 1 2, b1 = 3 4 5, b2 = 6 7 8
  const stream = new TokenStream(range(11), 3);
  assert.is(stream.length, 3);
  assert.is(stream.batch, 3);
  assert.is(stream.targetsPerEpoch, 6);
  const c = stream.chunk(0, 2);
  assert.is(c.steps, 2);
  // time-major (T=2, B=3): row t holds position t of each stream
  assert.equal(Array.from(c.inputs), [0, 3, 6, 1, 4, 7]);
  assert.equal(Array.from(c.targets), [1, 4, 7, 2, 5, 8]);
  assert.equal(stream.chunkStarts(2), [0]);
});

test('chunks of an epoch cover every target once; the last chunk is shorter', () => {
  // 26 ids, batch 2 -> L = 13: streams 0..12 and 13..25; 12 targets each, seq 5 -> 5, 5, 2.
  const stream = new TokenStream(range(26), 2);
  assert.is(stream.chunksPerEpoch(5), 3);
  assert.equal(stream.chunkStarts(5), [0, 5, 10]);
  const last = stream.chunk(10, 5);
  assert.is(last.steps, 2);
  assert.equal(Array.from(last.inputs), [10, 23, 11, 24]);
  assert.equal(Array.from(last.targets), [11, 24, 12, 25]);
  const seen: number[] = [];
  for (const start of stream.chunkStarts(5)) {
    const c = stream.chunk(start, 5);
    assert.is(c.inputs.length, c.steps * 2);
    for (let t = 0; t < c.steps; t++) {
      for (let b = 0; b < 2; b++) {
        assert.is(c.targets[t * 2 + b], c.inputs[t * 2 + b]! + 1, 'targets are the next token of the same stream');
        seen.push(c.targets[t * 2 + b]!);
      }
    }
  }
  seen.sort((a, b) => a - b);
  assert.equal(seen, [...Array.from({ length: 12 }, (_, i) => i + 1), ...Array.from({ length: 12 }, (_, i) => i + 14)]);
  // seq that divides L - 1 exactly: no short chunk
  assert.is(stream.chunksPerEpoch(4), 3);
  assert.is(stream.chunk(8, 4).steps, 4);
  assert.is(stream.chunksPerEpoch(100), 1);
  assert.is(stream.chunk(0, 100).steps, 12);
});

test('a position can be resumed: chunk(p) depends only on p and seq', () => {
  const stream = new TokenStream(range(1000), 4);
  const a = stream.chunk(35, 7);
  const b = new TokenStream(range(1000), 4).chunk(35, 7);
  assert.equal(Array.from(a.inputs), Array.from(b.inputs));
  assert.is(a.inputs[0], 35);
  assert.is(a.inputs[3], 3 * 250 + 35);
});

test('stream errors: too little data, bad batch, bad positions', () => {
  let e = throwsCode(() => new TokenStream(range(5), 3), 'ERR_RNNLM_DATA'); // L = 1
  assert.ok(/batch/.test(e.message), e.message);
  new TokenStream(range(6), 3); // L = 2 is enough for one step
  throwsCode(() => new TokenStream(range(10), 0), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => new TokenStream(range(10), 1.5), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => new TokenStream([1, 2, 3] as unknown as Int32Array, 1), 'ERR_RNNLM_ARGUMENT');
  const stream = new TokenStream(range(10), 2); // L = 5
  e = throwsCode(() => stream.chunk(4, 2), 'ERR_RNNLM_ARGUMENT');
  assert.ok(/\[0, 4\)/.test(e.message), e.message);
  throwsCode(() => stream.chunk(-1, 2), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => stream.chunk(1, 0), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => stream.chunksPerEpoch(0), 'ERR_RNNLM_ARGUMENT');
});

test('evalStream: one stream, every token but the first predicted exactly once', () => {
  const ids = Int32Array.from([5, 6, 7, 8, 9, 10, 11]);
  const chunks = [...evalStream(ids, 4)];
  assert.is(chunks.length, 2);
  assert.equal(
    chunks.map((c) => [Array.from(c.inputs), Array.from(c.targets), c.steps, c.position]),
    [
      [[5, 6, 7, 8], [6, 7, 8, 9], 4, 0],
      [[9, 10], [10, 11], 2, 4],
    ],
  );
  const all = [...evalStream(ids, 1)].flatMap((c) => Array.from(c.targets));
  assert.equal(all, [6, 7, 8, 9, 10, 11]);
  assert.is([...evalStream(ids, 6)].length, 1);
  assert.is([...evalStream(Int32Array.from([1, 2]), 50)][0]!.steps, 1);
  // Checked at the call, not at the first iteration.
  throwsCode(() => evalStream(Int32Array.from([1]), 4), 'ERR_RNNLM_DATA');
  throwsCode(() => evalStream(ids, 0), 'ERR_RNNLM_ARGUMENT');
  // Chunks are copies: changing one does not change the ids.
  const first = evalStream(ids, 3).next().value!;
  first.inputs[0] = 99;
  assert.is(ids[0], 5);
});

test.run();
