// Issue 15: shapes whose element count wraps (2^32 x 2^32 used to become 0 bytes, and a later
// embedding/gatherRows read past it) or that no typed array can hold are refused at once with a
// code, both by the library (TS) and by the engine behind it; the process never crashes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { zeros, ones, full, randn, tensor, liveTensors, type Tensor } from '../src/index.js';
import { native } from '../src/native.js';

const HUGE: number[][] = [
  [2 ** 32, 2 ** 32],
  [2 ** 32 + 1, 2 ** 32],
  [2 ** 62, 4],
  [-1, 3],
  [1.5, 2],
];

const MAKERS: Record<string, (shape: number[]) => Tensor> = {
  zeros: (shape) => zeros(shape),
  ones: (shape) => ones(shape),
  full: (shape) => full(shape, 3),
  randn: (shape) => randn(shape),
};

// Throws an Error with an ERR_RNNLM_* code, and quickly (nothing is allocated first). The time
// bound is a generous sanity check, not a benchmark.
function refusedQuickly(fn: () => unknown, what: string): Error & { code?: string } {
  const start = performance.now();
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  const ms = performance.now() - start;
  assert.ok(caught !== undefined, `${what} must throw`);
  assert.instance(caught, Error, `${what} throws an Error`);
  const e = caught as Error & { code?: string };
  assert.match(String(e.code), /^ERR_RNNLM_[A-Z_]+$/, `${what}: code ${e.code} (${e.message})`);
  assert.ok(ms < 1000, `${what} took ${ms.toFixed(1)} ms`);
  return e;
}

for (const [name, make] of Object.entries(MAKERS)) {
  test(`${name}() refuses shapes that overflow, are negative or are not integers`, () => {
    const before = liveTensors();
    for (const shape of HUGE) {
      const e = refusedQuickly(() => make(shape), `${name}([${shape.join(', ')}])`);
      assert.is(e.code, 'ERR_RNNLM_SHAPE', `${name}([${shape.join(', ')}]): ${e.message}`);
      assert.ok(e.message.includes(`[${shape.join(', ')}]`), `the message names the shape: ${e.message}`);
    }
    assert.is(liveTensors(), before, 'nothing was allocated');
  });
}

test('the message states the element limit', () => {
  const e = refusedQuickly(() => zeros([2 ** 32, 2 ** 32]), 'zeros');
  assert.match(e.message, /more than a tensor may hold \(\d+/);
  // Right at the limit is a valid shape (not allocated here); one more element is refused.
  refusedQuickly(() => zeros([2 ** 32 + 1]), 'zeros([2^32 + 1])');
});

test('reshape of a small tensor to a huge or invalid shape is refused', () => {
  const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  for (const shape of [[2 ** 32, 2 ** 32], [2 ** 32, 2 ** 32, -1], [2 ** 62, 4], [-2, 3], [1.5, 4], [-1, -1]]) {
    const e = refusedQuickly(() => t.reshape(shape), `reshape([${shape.join(', ')}])`);
    assert.is(e.code, 'ERR_RNNLM_SHAPE', e.message);
  }
  assert.equal(t.reshape([3, -1]).shape, [3, 2]);
  assert.equal(zeros([0]).reshape([2 ** 20, 0]).shape, [2 ** 20, 0]);
  t.dispose();
});

test('the engine refuses wrapping shapes itself, past the TS checks', () => {
  const n = native();
  for (const shape of [[2 ** 32, 2 ** 32], [2 ** 32 + 1, 2 ** 32], [2 ** 31, 2 ** 31, 4]]) {
    const e = refusedQuickly(() => n.zeros(shape, 'float32', 'cpu'), `native zeros([${shape.join(', ')}])`);
    assert.is(e.code, 'ERR_RNNLM_SHAPE', e.message);
    assert.ok(e.message.includes(`(${shape.join(', ')})`), `the engine names the shape: ${e.message}`);
    refusedQuickly(() => n.empty(shape, 'int32', 'cpu'), `native empty([${shape.join(', ')}])`);
  }
  const small = n.zeros([2, 3], 'float32', 'cpu');
  const e = refusedQuickly(() => small.reshape([2 ** 32, 2 ** 32]), 'native reshape');
  assert.is(e.code, 'ERR_RNNLM_SHAPE', e.message);
  small.dispose();
});

// The crash from the issue, in a child so a SIGSEGV would fail this test instead of the runner.
test('the original crash sequence exits cleanly and prints the error code', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rnnlm-shape-'));
  try {
    const src = pathToFileURL(resolve('src/index.ts')).href;
    const nativeSrc = pathToFileURL(resolve('src/native.ts')).href;
    const script = join(dir, 'crash.ts');
    writeFileSync(
      script,
      `import { zeros, embedding, gatherRows, tensor } from '${src}';
import { native } from '${nativeSrc}';
const ids = tensor(new Int32Array([123456789]), [1]);
function attempt(label: string, fn: () => unknown): void {
  try { fn(); console.log(label, 'no error'); }
  catch (e) { console.log(label, (e as { code?: string }).code); }
}
attempt('library', () => {
  const w = zeros([2 ** 32, 2 ** 32]);
  embedding(w, ids);
  gatherRows(w, [123456789]);
});
attempt('engine', () => {
  const w = native().zeros([2 ** 32, 2 ** 32], 'float32', 'cpu');
  native().embeddingForward(w, ids._native());
});
attempt('engine-wrap16g', () => native().zeros([2 ** 32 + 1, 2 ** 32], 'float32', 'cpu'));
`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
    const out = `${child.stdout}\n${child.stderr}`;
    assert.is(child.signal, null, `killed by ${child.signal}: ${out}`);
    assert.is(child.status, 0, out);
    assert.match(child.stdout, /^library ERR_RNNLM_SHAPE$/m, out);
    assert.match(child.stdout, /^engine ERR_RNNLM_SHAPE$/m, out);
    assert.match(child.stdout, /^engine-wrap16g ERR_RNNLM_SHAPE$/m, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
