// RUN/metrics.jsonl: one JSON object per line, appended as training goes, so a crash keeps every
// line already written and a resumed run continues the same file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rnnlmError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readRegularFile } from '../io/read_file.js';

export const METRICS_FILE = 'metrics.jsonl';

/**
 * One measurement. Language models write train records
 * `{split:'train', step, epoch, loss, lr, tokens_per_s, time}` and valid records
 * `{split:'valid', step, epoch, loss, ppl, bpc?}`; the sentence VAE writes
 * `{split, step, epoch, elbo, nll, kl, kl_weight}`.
 */
export interface MetricRecord {
  split: 'train' | 'valid' | string;
  step: number;
  epoch?: number;
  /** Seconds since the run started (or any monotonic time the writer chooses). */
  time?: number;
  [metric: string]: number | string | undefined;
}

// JSON has no NaN or Infinity (JSON.stringify writes null); a diverged loss must survive the file.
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

function encode(record: MetricRecord): string {
  return JSON.stringify(record, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
  );
}

function ioError(file: string, what: string, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  return rnnlmError('ERR_RNNLM_IO', `${file}: ${what}: ${reason}`);
}

/** Byte length of `file` up to and including its last newline (0 when it has none). */
function completeLength(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = fs.readSync(fd, chunk, 0, end - start, start);
      const at = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (at >= 0) return start + at + 1;
      end = start;
    }
    return 0;
  } finally {
    fs.closeSync(fd);
  }
}

export interface MetricsWriterOptions {
  /** Start an empty file instead of appending (a new run reusing a folder). Default false. */
  truncate?: boolean;
  /**
   * A resumed run: drop the records after this step first. A run killed without its Ctrl-C save
   * wrote records past its last checkpoint; the resumed run writes those steps again.
   */
  keepThrough?: number;
}

/** Rewrites `file` without the records whose step is past `step` (and without a partial last line). */
function dropRecordsAfter(file: string, step: number): void {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const kept = lines.filter((line) => {
    if (line.trim() === '') return false;
    try {
      const record = JSON.parse(line) as { step?: unknown };
      return !(typeof record.step === 'number' && record.step > step);
    } catch {
      return false;
    }
  });
  if (kept.length !== lines.filter((l) => l.trim() !== '').length) writeFileAtomic(file, kept.map((l) => `${l}\n`).join(''));
}

/**
 * Appends records to RUN/metrics.jsonl. Each write() is one synchronous write of one whole line,
 * so what a crash leaves is every finished line plus at most a partial last one.
 */
export class MetricsWriter {
  readonly path: string;
  private fd: number | null;

  constructor(runDir: string, options: MetricsWriterOptions = {}) {
    this.path = path.join(runDir, METRICS_FILE);
    try {
      fs.mkdirSync(runDir, { recursive: true });
      // A FIFO or a device in its place would block the run or never end a read.
      if (fs.existsSync(this.path) && !fs.statSync(this.path).isFile()) throw new Error('it is not a regular file');
      if (!options.truncate && options.keepThrough !== undefined && fs.existsSync(this.path)) dropRecordsAfter(this.path, options.keepThrough);
      if (!options.truncate && fs.existsSync(this.path)) {
        // A crash mid-write leaves a partial line; appending after it would glue the next record
        // onto it and corrupt a line in the middle of the file, so cut it off first.
        const keep = completeLength(this.path);
        if (keep !== fs.statSync(this.path).size) fs.truncateSync(this.path, keep);
      }
      this.fd = fs.openSync(this.path, options.truncate ? 'w' : 'a');
    } catch (error) {
      throw ioError(this.path, 'cannot open the metrics file for appending', error);
    }
  }

  write(record: MetricRecord): void {
    if (this.fd === null) throw rnnlmError('ERR_RNNLM_STATE', `${this.path}: write() after close()`);
    if (typeof record.split !== 'string' || typeof record.step !== 'number') {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `${this.path}: a metric record needs a string split and a number step`, 'type');
    }
    try {
      fs.writeSync(this.fd, `${encode(record)}\n`);
    } catch (error) {
      throw ioError(this.path, 'cannot append a metrics record', error);
    }
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fs.closeSync(fd);
    } catch (error) {
      throw ioError(this.path, 'cannot close the metrics file', error);
    }
  }
}

/** The metrics file of `runDir`, or `runDir` itself when it names a file. */
export function metricsPath(runDir: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(runDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw rnnlmError('ERR_RNNLM_DATA', `${runDir}: no such run folder (train --out RUN creates one)`);
    }
    throw ioError(runDir, 'cannot read', error);
  }
  if (!stat.isDirectory()) return runDir;
  const file = path.join(runDir, METRICS_FILE);
  if (!fs.existsSync(file)) {
    throw rnnlmError('ERR_RNNLM_DATA', `${runDir}: no ${METRICS_FILE} in this folder; is it a run folder written by train?`);
  }
  return file;
}

function decode(value: unknown): number | string | undefined {
  if (value === null) return NaN;
  if (typeof value === 'string' && value in NON_FINITE) return NON_FINITE[value];
  if (typeof value === 'number' || typeof value === 'string') return value;
  return undefined;
}

/**
 * Every record of RUN/metrics.jsonl (or of a .jsonl file given directly), in file order.
 * A last line that does not parse is dropped (a crash mid-write); a bad line elsewhere is an error.
 * NaN and infinities written by MetricsWriter come back as numbers.
 */
export function readMetrics(runDir: string): MetricRecord[] {
  const file = metricsPath(runDir);
  let text: string;
  try {
    text = readRegularFile(file).toString('utf8');
  } catch (error) {
    throw ioError(file, 'cannot read the metrics file', error);
  }
  const lines = text.split('\n');
  let last = lines.length - 1;
  while (last >= 0 && lines[last]!.trim() === '') last--;
  const records: MetricRecord[] = [];
  for (let i = 0; i <= last; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      if (i === last) break;
      throw rnnlmError('ERR_RNNLM_DATA', `${file}: line ${i + 1} is not valid JSON`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw rnnlmError('ERR_RNNLM_DATA', `${file}: line ${i + 1} is not a JSON object`);
    }
    const raw = parsed as Record<string, unknown>;
    if (typeof raw.split !== 'string' || typeof raw.step !== 'number') {
      throw rnnlmError('ERR_RNNLM_DATA', `${file}: line ${i + 1} lacks a string "split" and a number "step"`);
    }
    const record: MetricRecord = { split: raw.split, step: raw.step };
    for (const [key, value] of Object.entries(raw)) {
      if (key === 'split' || key === 'step') continue;
      const decoded = decode(value);
      if (decoded !== undefined) record[key] = decoded;
    }
    records.push(record);
  }
  return records;
}

/** Where a trainer's records go: RUN/metrics.jsonl, or nowhere on the ranks of a data-parallel job other than rank 0. */
export type MetricsSink = Pick<MetricsWriter, 'write' | 'close'>;

/** A sink that keeps nothing. */
export const discardMetrics: MetricsSink = { write() {}, close() {} };
