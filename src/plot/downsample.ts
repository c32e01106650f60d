// Thousands of training steps become at most ~maxPoints vertices without flattening spikes:
// each bucket keeps its lowest and highest point, in x order.

export type Point = readonly [x: number, y: number];

/** At most `maxPoints` points (plus the two ends) of `points`, keeping each bucket's min and max. */
export function downsampleMinMax(points: readonly Point[], maxPoints: number): Point[] {
  const n = points.length;
  if (n <= maxPoints || maxPoints < 4) return points.slice();
  // The first and last points are kept as they are, so the curve spans the same x range.
  const inner = n - 2;
  const buckets = Math.floor((maxPoints - 2) / 2);
  const out: Point[] = [points[0]!];
  for (let b = 0; b < buckets; b++) {
    const from = 1 + Math.floor((b * inner) / buckets);
    const to = 1 + Math.floor(((b + 1) * inner) / buckets);
    if (to <= from) continue;
    let lo = from;
    let hi = from;
    for (let i = from + 1; i < to; i++) {
      if (points[i]![1] < points[lo]![1]) lo = i;
      if (points[i]![1] > points[hi]![1]) hi = i;
    }
    if (lo === hi) out.push(points[lo]!);
    else if (lo < hi) out.push(points[lo]!, points[hi]!);
    else out.push(points[hi]!, points[lo]!);
  }
  out.push(points[n - 1]!);
  return out;
}

/** Splits at points that cannot be drawn (NaN, ±Infinity, or y <= 0 on a log axis): gaps. */
export function finiteSegments(points: readonly Point[], positiveOnly = false): Point[][] {
  const segments: Point[][] = [];
  let current: Point[] = [];
  for (const p of points) {
    const ok = Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!positiveOnly || p[1] > 0);
    if (ok) current.push(p);
    else if (current.length > 0) {
      segments.push(current);
      current = [];
    }
  }
  if (current.length > 0) segments.push(current);
  return segments;
}
