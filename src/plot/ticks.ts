// Axis ticks a person can read: 1-2-5 steps on linear axes, 1-2-5 per decade on log axes.

export interface Ticks {
  /** The axis range, widened to whole ticks on linear axes. */
  min: number;
  max: number;
  values: number[];
  /** The distance between ticks (linear), used to choose label decimals. */
  step: number;
}

/** The 1, 2 or 5 times a power of ten nearest above `rough`. */
export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  const f = rough / power;
  const m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return m * power;
}

/** Roughly `target` ticks spanning [lo, hi]; a zero-width range is widened around its value. */
export function linearTicks(lo: number, hi: number, target = 5): Ticks {
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / Math.max(1, target));
  const min = Math.floor(lo / step + 1e-9) * step;
  const max = Math.ceil(hi / step - 1e-9) * step;
  const values: number[] = [];
  const count = Math.round((max - min) / step);
  // Multiplying instead of accumulating keeps 0.1+0.2-style error out of the labels.
  for (let i = 0; i <= count; i++) values.push(clean(min + i * step, step));
  return { min, max, values, step };
}

/** Ticks for a log axis over [lo, hi] (both > 0). */
export function logTicks(lo: number, hi: number): Ticks {
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    lo /= 2;
    hi *= 2;
  }
  // The range grows by a little on each side (in log space), so curves do not run along the frame.
  const pad = (Math.log10(hi) - Math.log10(lo)) * 0.04;
  const min = lo / 10 ** pad;
  const max = hi * 10 ** pad;
  const first = Math.floor(Math.log10(min));
  const last = Math.ceil(Math.log10(max));
  const decades = last - first;
  // Many decades: powers of ten only (every k-th one); few: 1, 2, 5 in each.
  const mantissas = decades > 3 ? [1] : [1, 2, 5];
  const stride = Math.max(1, Math.ceil(decades / 8));
  const values: number[] = [];
  for (let d = first; d <= last; d += stride) {
    for (const m of mantissas) {
      const v = Number((m * 10 ** d).toPrecision(12));
      if (v >= min && v <= max) values.push(v);
    }
  }
  if (values.length < 2) {
    // Less than a 1-2-5 gap wide: readable linear ticks inside the range, placed on the log scale.
    const lin = linearTicks(lo, hi, 4);
    return { min, max, values: lin.values.filter((v) => v >= min && v <= max), step: lin.step };
  }
  return { min, max, values, step: 0 };
}

function clean(v: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const r = Number(v.toFixed(Math.min(20, decimals)));
  return r === 0 ? 0 : r;
}

/** Labels for one axis: `2k 4k ... 12k` when the axis reaches 10000 in whole thousands. */
export function formatTicks(values: readonly number[], step: number): string[] {
  const thousands = values.some((v) => Math.abs(v) >= 10_000) && values.every((v) => v % 1000 === 0 && Math.abs(v) < 1e7);
  return values.map((v) => (thousands && v !== 0 ? `${v / 1000}k` : formatTick(v, step)));
}

/** A tick label with as few decimals as the tick step needs. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e7 || abs < 1e-4) return v.toExponential(Math.max(0, significantDecimals(v)));
  if (step > 0) {
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    return v.toFixed(Math.min(10, decimals));
  }
  return String(Number(v.toPrecision(6)));
}

function significantDecimals(v: number): number {
  const mantissa = Number((v / 10 ** Math.floor(Math.log10(Math.abs(v)))).toPrecision(6));
  const text = String(mantissa);
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}
