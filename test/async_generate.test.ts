// generateAsync / generateStream / evaluateTextAsync (issue 16): the event loop stays free while a
// 2x512 LSTM generates 2,000 tokens in its worker, results equal the synchronous calls exactly
// (concurrent calls included), weights changed after a call are sent again, and aborts reject
// with ERR_RNNLM_ABORTED.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SGD,
  backward,
  closeWorkers,
  crossEntropy,
  evaluateText,
  evaluateTextAsync,
  fromInt32Array,
  generate,
  generateAsync,
  generateStream,
  isRnnlmError,
  tidy,
  uniform_,
} from '../src/index.js';
import { lstm2x512, TEXT, watchEventLoop } from './async-helpers.js';

const { model, tokenizer } = lstm2x512();

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}

test('a timer keeps firing while a 2x512 LSTM generates 2,000 tokens in its worker', async () => {
  await generateAsync(model, tokenizer, { length: 1 }); // the worker starts and gets the weights
  const watch = watchEventLoop(20);
  const started = performance.now();
  const text = await generateAsync(model, tokenizer, { prime: 'The ', length: 2000, seed: 3, temperature: 0.9 });
  const elapsed = performance.now() - started;
  const gaps = watch.stop();
  assert.ok(text.startsWith('The ') && text.length === 2004, `${text.length} characters`);
  const maxGap = Math.max(...gaps);
  assert.ok(maxGap < 250, `longest gap ${maxGap.toFixed(0)} ms during ${elapsed.toFixed(0)} ms of generation`);
  assert.ok(gaps.length >= Math.min(10, elapsed / 100), `${gaps.length} firings in ${elapsed.toFixed(0)} ms`);
});

test('two concurrent generations from one model equal two synchronous ones in sequence', async () => {
  const a = { prime: 'Call ', length: 150, seed: 11, temperature: 0.8 };
  const b = { length: 150, seed: 12, topK: 5, topP: 0.9 };
  const [asyncA, asyncB] = await Promise.all([generateAsync(model, tokenizer, a), generateAsync(model, tokenizer, b)]);
  assert.is(asyncA, generate(model, tokenizer, a));
  assert.is(asyncB, generate(model, tokenizer, b));
  assert.is.not(asyncA, asyncB);
  const greedy = { prime: 'The sea', length: 40, greedy: true };
  assert.is(await generateAsync(model, tokenizer, greedy), generate(model, tokenizer, greedy));
});

test('generateStream yields the text piece by piece; onText sees what generate would emit', async () => {
  const options = { prime: 'Some ', length: 120, seed: 5 };
  const pieces: string[] = [];
  for await (const piece of generateStream(model, tokenizer, options)) pieces.push(piece);
  assert.is(pieces.length, 121, 'the prime and one piece per token');
  assert.is(pieces.join(''), await generateAsync(model, tokenizer, options));
  const syncPieces: string[] = [];
  const asyncPieces: string[] = [];
  generate(model, tokenizer, { ...options, onText: (p) => syncPieces.push(p) });
  await generateAsync(model, tokenizer, { ...options, onText: (p) => asyncPieces.push(p) });
  assert.equal(asyncPieces, syncPieces);
});

test('leaving a stream early stops it; the worker then serves the next call', async () => {
  let count = 0;
  for await (const piece of generateStream(model, tokenizer, { length: 100000, seed: 1 })) {
    assert.type(piece, 'string');
    if (++count === 5) break;
  }
  const options = { length: 30, seed: 2 };
  assert.is(await generateAsync(model, tokenizer, options), generate(model, tokenizer, options));
});

test('evaluateTextAsync returns evaluateText’s numbers', async () => {
  const text = TEXT.repeat(3);
  assert.equal(await evaluateTextAsync(model, tokenizer, text, { chunk: 32 }), evaluateText(model, tokenizer, text, { chunk: 32 }));
  const bad = await rejection(evaluateTextAsync(model, tokenizer, 'x'));
  assert.is(bad.code, 'ERR_RNNLM_DATA');
  const badChunk = await rejection(evaluateTextAsync(model, tokenizer, text, { chunk: 0 }));
  assert.is(badChunk.code, 'ERR_RNNLM_ARGUMENT');
});

test('weights written after a call reach the worker before the next', async () => {
  const options = { length: 60, seed: 9 };
  const before = await generateAsync(model, tokenizer, options);
  // An optimizer step writes every parameter in place.
  const optimizer = new SGD(model.parameters(), { lr: 1 });
  const ids = tokenizer.encode(TEXT);
  tidy(() => {
    const inputs = fromInt32Array(ids.subarray(0, 32), [32, 1]);
    const targets = fromInt32Array(ids.subarray(1, 33), [32]);
    backward(crossEntropy(model.forward(inputs).logits, targets));
  });
  optimizer.step();
  optimizer.zeroGrad();
  optimizer.dispose();
  const stepped = await generateAsync(model, tokenizer, options);
  assert.is(stepped, generate(model, tokenizer, options));
  assert.is.not(stepped, before);
  // So does a re-initialisation.
  uniform_(model.decoder.weight, -3, 3);
  const reinitialised = await generateAsync(model, tokenizer, options);
  assert.is(reinitialised, generate(model, tokenizer, options));
  assert.is.not(reinitialised, stepped);
});

test('errors from the worker keep their code', async () => {
  const e = await rejection(generateAsync(model, tokenizer, { length: -1 }));
  assert.is(e.code, 'ERR_RNNLM_ARGUMENT');
  const t = await rejection(generateAsync(model, tokenizer, { temperature: 0 }));
  assert.ok(isRnnlmError(t, 'ERR_RNNLM_ARGUMENT'));
});

test('aborting mid-generation and mid-evaluation rejects with ERR_RNNLM_ABORTED', async () => {
  const generation = new AbortController();
  let pieces = 0;
  const started = performance.now();
  const g = await rejection(
    generateAsync(model, tokenizer, {
      length: 100000,
      signal: generation.signal,
      onText: () => {
        if (++pieces === 20) generation.abort(new Error('enough'));
      },
    }),
  );
  assert.is(g.code, 'ERR_RNNLM_ABORTED');
  assert.is(g.name, 'AbortError');
  assert.is((g.cause as Error).message, 'enough');
  assert.ok(performance.now() - started < 60000);

  const evaluation = new AbortController();
  const long = TEXT.repeat(2000);
  setTimeout(() => evaluation.abort(), 50);
  const e = await rejection(evaluateTextAsync(model, tokenizer, long, { chunk: 4, signal: evaluation.signal }));
  assert.is(e.code, 'ERR_RNNLM_ABORTED');

  const before = await rejection(generateAsync(model, tokenizer, { signal: AbortSignal.abort() }));
  assert.is(before.code, 'ERR_RNNLM_ABORTED');
  const stream = generateStream(model, tokenizer, { length: 100000, signal: AbortSignal.timeout(100) });
  const s = await rejection((async () => {
    for await (const piece of stream) assert.type(piece, 'string');
  })());
  assert.is(s.code, 'ERR_RNNLM_ABORTED');
  // The worker stopped those jobs and serves the next one.
  const options = { length: 20, seed: 4 };
  assert.is(await generateAsync(model, tokenizer, options), generate(model, tokenizer, options));
});

test('closeWorkers ends the worker; the next call starts another', async () => {
  let started!: () => void;
  const firstPiece = new Promise<void>((resolve) => (started = resolve));
  const pending = rejection(generateAsync(model, tokenizer, { length: 100000, onText: () => started() }));
  await firstPiece;
  await closeWorkers(model);
  assert.is((await pending).code, 'ERR_RNNLM_ABORTED');
  const options = { length: 20, seed: 6 };
  assert.is(await generateAsync(model, tokenizer, options), generate(model, tokenizer, options));
  await closeWorkers();
  model.dispose();
  const disposed = await rejection(generateAsync(model, tokenizer, options));
  assert.is(disposed.code, 'ERR_RNNLM_DISPOSED');
  await closeWorkers();
});

test.run();
