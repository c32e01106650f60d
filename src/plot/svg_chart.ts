// A small, dependency-free SVG line chart: a grid of panels, each with axes, 1-2-5 ticks, grid
// lines, a title, a legend and one polyline per series (more where NaN leaves a gap).
import { rnnlmError } from '../errors.js';
import { downsampleMinMax, finiteSegments, type Point } from './downsample.js';
import { formatTicks, linearTicks, logTicks, type Ticks } from './ticks.js';

export type { Point } from './downsample.js';

export interface Series {
  name: string;
  /** [x, y] pairs in any order; non-finite values (and y <= 0 on a log axis) leave a gap. */
  points: readonly Point[];
  /** Any SVG colour; by default one from a fixed palette, by series position. */
  color?: string;
}

export interface Panel {
  title: string;
  series: readonly Series[];
  xLabel?: string;
  yLabel?: string;
  logY?: boolean;
}

export interface ChartOptions {
  /** Size of one panel in pixels (default 480 x 300). */
  panelWidth?: number;
  panelHeight?: number;
  /** Panels per row (default: 1 for one panel, else 2). */
  columns?: number;
  /** Vertices per series at most, before the two kept ends (default 2000). */
  maxPoints?: number;
  /** A heading above all panels, and the SVG <title>. */
  title?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const MARGIN = { left: 62, right: 16, top: 30, bottom: 42 };
// Up to this many points a series also gets a dot per point (sparse validation curves).
const MARKER_LIMIT = 40;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Coordinates with at most two decimals: small files, no `1e-7` in attributes. */
function num(v: number): string {
  const r = Math.round(v * 100) / 100;
  return String(r === 0 ? 0 : r);
}

interface Scale {
  ticks: Ticks;
  map(v: number): number;
}

function scale(ticks: Ticks, log: boolean, from: number, to: number): Scale {
  const a = log ? Math.log10(ticks.min) : ticks.min;
  const b = log ? Math.log10(ticks.max) : ticks.max;
  const span = b - a || 1;
  return { ticks, map: (v) => from + (((log ? Math.log10(v) : v) - a) / span) * (to - from) };
}

function extent(values: Iterable<number>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

interface PreparedSeries {
  name: string;
  color: string;
  segments: Point[][];
  count: number;
}

function prepare(series: Series, index: number, logY: boolean, maxPoints: number): PreparedSeries {
  const sorted = [...series.points].sort((p, q) => p[0] - q[0]);
  const segments = finiteSegments(sorted, logY);
  const count = segments.reduce((n, s) => n + s.length, 0);
  // Each gap-free piece gets a share of the point budget in proportion to its length.
  const reduced = segments.map((s) => downsampleMinMax(s, Math.max(4, Math.floor((maxPoints * s.length) / Math.max(1, count)))));
  return { name: series.name, color: series.color ?? PALETTE[index % PALETTE.length]!, segments: reduced, count };
}

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Top-left of the legend: the inner corner of the plot area that hides the fewest data points. */
function legendCorner(pixels: readonly Point[], area: Box, w: number, h: number): [number, number] {
  const inset = 6;
  const corners: [number, number][] = [
    [area.right - w - inset, area.top + inset],
    [area.left + inset, area.top + inset],
    [area.right - w - inset, area.bottom - h - inset],
    [area.left + inset, area.bottom - h - inset],
  ];
  let best = corners[0]!;
  let fewest = Infinity;
  for (const [x, y] of corners) {
    let hidden = 0;
    for (const [px, py] of pixels) if (px >= x - 2 && px <= x + w + 2 && py >= y - 2 && py <= y + h + 2) hidden++;
    if (hidden < fewest) {
      fewest = hidden;
      best = [x, y];
    }
  }
  return best;
}

function renderPanel(panel: Panel, x0: number, y0: number, w: number, h: number, id: number, maxPoints: number): string {
  const logY = panel.logY ?? false;
  const series = panel.series.map((s, i) => prepare(s, i, logY, maxPoints));
  const out: string[] = [`<g class="panel" transform="translate(${num(x0)},${num(y0)})">`];
  const left = MARGIN.left;
  const right = w - MARGIN.right;
  const top = MARGIN.top;
  const bottom = h - MARGIN.bottom;
  out.push(`<text class="title" x="${num((left + right) / 2)}" y="${num(top - 10)}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`);

  const points = series.flatMap((s) => s.segments.flat());
  const xs = extent(points.map((p) => p[0]));
  const ys = extent(points.map((p) => p[1]));
  if (!xs || !ys) {
    out.push(`<rect x="${left}" y="${top}" width="${num(right - left)}" height="${num(bottom - top)}" fill="none" stroke="#999"/>`);
    out.push(`<text x="${num((left + right) / 2)}" y="${num((top + bottom) / 2)}" text-anchor="middle" fill="#666">no finite values</text>`);
    out.push('</g>');
    return out.join('\n');
  }
  const sx = scale(linearTicks(xs[0], xs[1], 6), false, left, right);
  const sy = scale(logY ? logTicks(ys[0], ys[1]) : linearTicks(ys[0], ys[1], 5), logY, bottom, top);

  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const v of sx.ticks.values) out.push(`<line x1="${num(sx.map(v))}" y1="${num(top)}" x2="${num(sx.map(v))}" y2="${num(bottom)}"/>`);
  for (const v of sy.ticks.values) out.push(`<line x1="${num(left)}" y1="${num(sy.map(v))}" x2="${num(right)}" y2="${num(sy.map(v))}"/>`);
  out.push('</g>');

  out.push('<g class="axes" stroke="#333" stroke-width="1">');
  out.push(`<line x1="${num(left)}" y1="${num(bottom)}" x2="${num(right)}" y2="${num(bottom)}"/>`);
  out.push(`<line x1="${num(left)}" y1="${num(top)}" x2="${num(left)}" y2="${num(bottom)}"/>`);
  for (const v of sx.ticks.values) out.push(`<line x1="${num(sx.map(v))}" y1="${num(bottom)}" x2="${num(sx.map(v))}" y2="${num(bottom + 4)}"/>`);
  for (const v of sy.ticks.values) out.push(`<line x1="${num(left - 4)}" y1="${num(sy.map(v))}" x2="${num(left)}" y2="${num(sy.map(v))}"/>`);
  out.push('</g>');

  out.push('<g class="tick-labels" fill="#333">');
  const xLabels = formatTicks(sx.ticks.values, sx.ticks.step);
  sx.ticks.values.forEach((v, i) => {
    out.push(`<text x="${num(sx.map(v))}" y="${num(bottom + 16)}" text-anchor="middle">${escapeXml(xLabels[i]!)}</text>`);
  });
  const yLabels = formatTicks(sy.ticks.values, sy.ticks.step);
  sy.ticks.values.forEach((v, i) => {
    out.push(`<text x="${num(left - 7)}" y="${num(sy.map(v) + 4)}" text-anchor="end">${escapeXml(yLabels[i]!)}</text>`);
  });
  out.push('</g>');
  if (panel.xLabel) out.push(`<text class="x-label" x="${num((left + right) / 2)}" y="${num(h - 8)}" text-anchor="middle">${escapeXml(panel.xLabel)}</text>`);
  if (panel.yLabel) {
    const cy = num((top + bottom) / 2);
    out.push(`<text class="y-label" x="14" y="${cy}" text-anchor="middle" transform="rotate(-90 14 ${cy})">${escapeXml(panel.yLabel)}</text>`);
  }

  // Lines stay inside the plot area even where a value sits exactly on the widened range edge.
  out.push(`<clipPath id="plot-area-${id}"><rect x="${num(left - 2)}" y="${num(top - 2)}" width="${num(right - left + 4)}" height="${num(bottom - top + 4)}"/></clipPath>`);
  out.push(`<g class="series" clip-path="url(#plot-area-${id})" fill="none" stroke-width="1.5" stroke-linejoin="round">`);
  for (const s of series) {
    out.push(`<g data-series="${escapeXml(s.name)}" stroke="${escapeXml(s.color)}">`);
    for (const segment of s.segments) {
      if (segment.length >= 2) {
        out.push(`<polyline points="${segment.map((p) => `${num(sx.map(p[0]))},${num(sy.map(p[1]))}`).join(' ')}"/>`);
      }
      if (segment.length === 1 || s.count <= MARKER_LIMIT) {
        for (const p of segment) out.push(`<circle cx="${num(sx.map(p[0]))}" cy="${num(sy.map(p[1]))}" r="2.5" fill="${escapeXml(s.color)}" stroke="none"/>`);
      }
    }
    out.push('</g>');
  }
  out.push('</g>');

  const legendWidth = 30 + 7 * Math.max(...series.map((s) => s.name.length), 4);
  const legendHeight = series.length * 16 + 6;
  const [lx, ly] = legendCorner(
    series.flatMap((s) => s.segments.flat().map((p): Point => [sx.map(p[0]), sy.map(p[1])])),
    { left, right, top, bottom },
    legendWidth,
    legendHeight,
  );
  out.push(`<g class="legend" transform="translate(${num(lx)},${num(ly)})">`);
  out.push(`<rect width="${num(legendWidth)}" height="${num(legendHeight)}" fill="#ffffff" fill-opacity="0.85" stroke="#ccc"/>`);
  series.forEach((s, i) => {
    const y = 14 + i * 16;
    out.push(`<line x1="6" y1="${y - 4}" x2="22" y2="${y - 4}" stroke="${escapeXml(s.color)}" stroke-width="2"/>`);
    out.push(`<text x="26" y="${y}">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  out.push('</g>');
  return out.join('\n');
}

/** The SVG document for `panels`, laid out in rows of `columns`. */
export function renderChart(panels: readonly Panel[], options: ChartOptions = {}): string {
  if (panels.length === 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'renderChart: no panels to draw');
  const pw = options.panelWidth ?? 480;
  const ph = options.panelHeight ?? 300;
  const maxPoints = options.maxPoints ?? 2000;
  const columns = Math.max(1, Math.min(panels.length, options.columns ?? (panels.length === 1 ? 1 : 2)));
  const rows = Math.ceil(panels.length / columns);
  const header = options.title ? 28 : 0;
  const width = columns * pw;
  const height = rows * ph + header;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  ];
  if (options.title) out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title) {
    out.push(`<text x="${num(width / 2)}" y="19" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  }
  panels.forEach((panel, i) => {
    const x = (i % columns) * pw;
    const y = header + Math.floor(i / columns) * ph;
    out.push(renderPanel(panel, x, y, pw, ph, i, maxPoints));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
