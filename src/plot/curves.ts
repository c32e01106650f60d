// `plotRun`: RUN/metrics.jsonl -> RUN/curves.svg, one panel per metric, one line per split.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rnnlmError } from '../errors.js';
import { metricsPath, readMetrics, type MetricRecord } from '../train/metrics.js';
import type { Point } from './downsample.js';
import { renderChart, type Panel, type Series } from './svg_chart.js';

export interface PlotOptions {
  /** Output file; default RUN/curves.svg (next to the metrics file when RUN names the file). */
  out?: string;
  /** Metrics to draw, one panel each; default: loss (+ ppl), or the VAE terms when present. */
  metrics?: readonly string[];
  /** Log-scale y on every panel; by default only perplexity panels are log-scale. */
  logY?: boolean;
  /** Vertices per series at most (default 2000). */
  maxPoints?: number;
}

// Bookkeeping fields, not curves.
const NOT_METRICS = new Set(['split', 'step', 'epoch', 'time']);
const VAE_METRICS = ['elbo', 'nll', 'kl', 'kl_weight'];
const LOG_BY_DEFAULT = new Set(['ppl']);
const SPLIT_COLORS: Record<string, string> = { train: '#1f77b4', valid: '#d62728', test: '#2ca02c' };

/** Names of the numeric fields that appear in `records`, in order of first appearance. */
export function availableMetrics(records: readonly MetricRecord[]): string[] {
  const seen = new Set<string>();
  for (const r of records) {
    for (const [key, value] of Object.entries(r)) {
      if (!NOT_METRICS.has(key) && typeof value === 'number') seen.add(key);
    }
  }
  return [...seen];
}

function defaultMetrics(available: readonly string[]): string[] {
  const vae = VAE_METRICS.filter((m) => available.includes(m));
  if (vae.length > 0) return vae;
  const lm = ['loss', 'ppl'].filter((m) => available.includes(m));
  return lm.length > 0 ? lm : available.filter((m) => m !== 'lr' && m !== 'tokens_per_s');
}

/**
 * Records of one split with what a resume superseded removed: when the step goes back, the
 * records from that step on were written after the checkpoint the run resumed from.
 */
function latestTimeline(records: readonly MetricRecord[]): MetricRecord[] {
  const kept: MetricRecord[] = [];
  for (const r of records) {
    const last = kept[kept.length - 1];
    if (last && r.step < last.step) {
      while (kept.length > 0 && kept[kept.length - 1]!.step >= r.step) kept.pop();
    } else if (last && r.step === last.step && sameKeys(last, r)) {
      // The same measurement again at the same step: the newer timeline's.
      kept.pop();
    }
    kept.push(r);
  }
  return kept;
}

/** One panel per metric, one series per split (train first, then valid, then the rest). */
export function panelsFromRecords(records: readonly MetricRecord[], metrics?: readonly string[], logY?: boolean): Panel[] {
  const available = availableMetrics(records);
  const chosen = metrics && metrics.length > 0 ? [...metrics] : defaultMetrics(available);
  for (const m of chosen) {
    if (!available.includes(m)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `no metric '${m}' in the records; available: ${available.join(', ') || 'none'}`);
    }
  }
  const splits = [...new Set(records.map((r) => r.split))].sort((a, b) => rank(a) - rank(b));
  const bySplit = new Map(splits.map((s) => [s, latestTimeline(records.filter((r) => r.split === s))]));
  return chosen.map((metric) => {
    const series: Series[] = [];
    for (const split of splits) {
      const points: Point[] = [];
      for (const r of bySplit.get(split)!) {
        const v = r[metric];
        if (typeof v === 'number') points.push([r.step, v]);
      }
      if (points.length > 0) {
        const color = SPLIT_COLORS[split];
        series.push(color ? { name: split, points, color } : { name: split, points });
      }
    }
    return { title: metric, series, xLabel: 'step', logY: logY ?? LOG_BY_DEFAULT.has(metric) };
  });
}

function sameKeys(a: MetricRecord, b: MetricRecord): boolean {
  const ka = Object.keys(a).sort().join(',');
  return ka === Object.keys(b).sort().join(',');
}

function rank(split: string): number {
  const order = ['train', 'valid', 'test'];
  const i = order.indexOf(split);
  return i < 0 ? order.length : i;
}

/** Writes `text` to `file` through a temporary name and a rename, so readers never see half. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    const reason = error instanceof Error ? error.message : String(error);
    throw rnnlmError('ERR_RNNLM_IO', `${file}: cannot write the plot: ${reason}`);
  }
}

/** Draws the curves of a run folder (or of a metrics .jsonl file) and returns the SVG path written. */
export function plotRun(runDir: string, options: PlotOptions = {}): string {
  const file = metricsPath(runDir);
  const records = readMetrics(runDir);
  if (records.length === 0) throw rnnlmError('ERR_RNNLM_DATA', `${file}: no metric records yet`);
  const available = availableMetrics(records);
  for (const m of options.metrics ?? []) {
    if (!available.includes(m)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `${file}: no metric '${m}'; available: ${available.join(', ') || 'none'}`);
    }
  }
  const panels = panelsFromRecords(records, options.metrics, options.logY);
  const out = options.out ?? path.join(path.dirname(file), 'curves.svg');
  const runName = path.basename(path.resolve(path.dirname(file)));
  const svg = renderChart(panels, { title: runName, ...(options.maxPoints !== undefined ? { maxPoints: options.maxPoints } : {}) });
  writeAtomic(out, svg);
  return out;
}
