// Shared assertions for the API tests (not a test file itself).
import * as assert from 'uvu/assert';

/** Asserts element-wise closeness with an absolute-plus-relative tolerance. */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = 'values'): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) {
      assert.unreachable(`${what}[${i}] = ${a}, expected ${e} (tol ${tol})\n  actual:   [${Array.from(actual).join(', ')}]\n  expected: [${Array.from(expected).join(', ')}]`);
    }
  }
}

/** Asserts that fn throws an error whose `code` is `code` (and which is a TypeError if asked). */
export function throwsCode(fn: () => unknown, code: string, typeError = false): Error {
  try {
    fn();
  } catch (error) {
    assert.instance(error, Error);
    const e = error as Error & { code?: string };
    assert.is(e.code, code, `error code (message: ${e.message})`);
    if (typeError) assert.instance(e, TypeError, 'a TypeError');
    return e;
  }
  assert.unreachable(`expected an error with code ${code}`);
  throw new Error('unreachable');
}
