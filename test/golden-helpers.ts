// Shared helpers for the golden-vector and gradient-check tests (not a test file itself).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { fromFloat32Array, fromInt32Array, info, setGemmProvider, type Tensor } from '../src/index.js';

export interface FixtureTensor {
  dtype: 'float32' | 'int64';
  shape: number[];
  data: number[];
}

export interface FixtureCase {
  meta: Record<string, unknown>;
  tensors: Record<string, FixtureTensor>;
}

export interface Fixture {
  meta: Record<string, unknown>;
  cases: Record<string, FixtureCase>;
}

/** A fixture file from test/fixtures (written by scripts/golden.py). */
export function loadFixture(name: string): Fixture {
  const path = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Fixture;
}

/** The named tensor of a case, or a failed assertion naming what is missing. */
export function ft(c: FixtureCase, name: string): FixtureTensor {
  const t = c.tensors[name];
  if (t === undefined) throw new Error(`fixture has no tensor '${name}'`);
  return t;
}

/** An engine tensor (float32 or int32) holding a fixture tensor. */
export function toTensor(t: FixtureTensor, options: { requiresGrad?: boolean } = {}): Tensor {
  if (t.dtype === 'int64') return fromInt32Array(Int32Array.from(t.data), t.shape);
  return fromFloat32Array(Float32Array.from(t.data), t.shape, { requiresGrad: options.requiresGrad ?? false });
}

export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

/** Largest error seen per label, printed by the last test of a file. */
export class ErrorLog {
  readonly worst = new Map<string, { err: number; what: string }>();

  note(label: string, what: string, err: number): void {
    const prev = this.worst.get(label);
    if (prev === undefined || err > prev.err) this.worst.set(label, { err, what });
  }

  print(title: string): void {
    const lines = [...this.worst].map(([label, { err, what }]) => `  ${label.padEnd(58)} ${err.toExponential(2)}  (${what})`);
    console.log(`\n${title}\n${lines.join('\n')}`);
  }
}

/**
 * Asserts max |actual - expected| <= tol for a tensor against fixture data (shape checked too),
 * records the error under `label`, and returns it.
 */
export function expectClose(
  log: ErrorLog,
  label: string,
  what: string,
  actual: Tensor | null | undefined,
  expected: FixtureTensor,
  tol: number,
): number {
  assert.ok(actual != null, `${label}: ${what} is missing`);
  assert.equal([...actual!.shape], expected.shape, `${label}: ${what} shape`);
  // fixture values are float32 numbers written as shortest decimals: compare with the float32
  const err = maxAbsDiff(actual!.toFloat32Array(), Float32Array.from(expected.data));
  log.note(label, what, err);
  if (!(err <= tol)) assert.unreachable(`${label}: ${what} max abs error ${err} > ${tol}`);
  return err;
}

/** The GEMM providers this build can use (the linked BLAS only when there is one). */
export function gemmProviders(): ('blas' | 'builtin')[] {
  const i = info();
  const blas = i.blas.toLowerCase();
  const hasBlas = blas !== '' && blas !== 'none' && blas !== 'builtin' && !blas.startsWith('none');
  return hasBlas ? ['blas', 'builtin'] : ['builtin'];
}

/** Runs fn with `provider` selected, restoring the provider that was in use. */
export function withGemm<T>(provider: 'blas' | 'builtin', fn: () => T): T {
  const before = info().gemmProvider;
  setGemmProvider(provider);
  try {
    return fn();
  } finally {
    setGemmProvider(before);
  }
}

/** A deterministic PRNG (mulberry32) for test data: uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values from N(0, std) (Box-Muller on `next`). */
export function normals(next: () => number, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(next(), 1e-12);
    const v = next();
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** n values from U(low, high). */
export function uniforms(next: () => number, n: number, low = -1, high = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * next();
  return out;
}
