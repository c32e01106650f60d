// Error bounds for comparing two float implementations of the same op (CUDA against the CPU),
// so that a parity test tells a bug from rounding in another order.
//
// A sum of K float terms computed in any order differs from the exact sum by at most
// gamma_K * sum|terms| with gamma_K ~= K * u (u the unit roundoff of the precision the terms were
// rounded to; Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., §3.1 and §4.2).
// Both backends are such approximations of the same exact value, so their difference is bounded
// by twice that. Two checks follow from it:
//
// - element-wise, where the magnitude of the terms is cheap to get (GEMM outputs: run the same op
//   on |inputs| on the CPU): |cuda - cpu| <= 2 * C * K * u * sum|terms|. This is a proof-grade bound.
// - norm-wise, for every other tensor: ||cuda - cpu|| / ||cpu|| <= 2 * C * K * u. For random data
//   the error of a sum grows like sqrt(K) * u * sum|terms| and sum|terms| / |sum| like sqrt(K),
//   so K * u is the expected size, not a worst case; C leaves room for that, and for the few
//   rounded operations each term goes through before it is summed (a product, an activation).
//
// A bug (a wrong gate, a lost bias, a race) moves a tensor by O(1) of its own norm, orders of
// magnitude over these bounds; rounding stays orders of magnitude under them.

/** The arithmetic the compared kernels use. Only 'fp32' is in use today. */
export type Precision = 'fp32' | 'tf32' | 'bf16';

/**
 * Relative rounding step of each precision: FLT_EPSILON for float32; tf32 and bf16 keep
 * 10 and 7 mantissa bits (eps 2^-10 and 2^-7, unit roundoff 2^-11 and 2^-8), and a GEMM in them
 * rounds its inputs to that before accumulating in float32.
 */
export const UNIT_ROUNDOFF: Readonly<Record<Precision, number>> = {
  fp32: 1.1920929e-7,
  tf32: 2 ** -11,
  bf16: 2 ** -8,
};

/** C in the bounds above. */
export const BOUND_CONSTANT = 1;

/** The bound on the difference of two K-term float sums, relative to the sum of |terms|. */
export function reductionBound(k: number, precision: Precision = 'fp32'): number {
  return 2 * BOUND_CONSTANT * Math.max(1, k) * UNIT_ROUNDOFF[precision];
}

/** ||actual - expected||_2 / ||expected||_2, NaNs in the same place excluded; 0 when both are 0. */
export function normwiseRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    diff += (a - e) * (a - e);
    ref += e * e;
  }
  if (diff === 0) return 0;
  return ref === 0 ? Infinity : Math.sqrt(diff / ref);
}

/** max |x_i|, NaN ignored. */
export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.abs(x[i]!);
    if (v > m) m = v;
  }
  return m;
}

/** |x| as a new Float32Array. */
export function absolute(x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.abs(x[i]!);
  return out;
}

/** The transpose of a row-major (rows, cols) matrix. */
export function transpose(x: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}
