// Training progress for people: a live bar on a terminal, sparse plain lines in CI logs and pipes,
// and nothing but explicit log lines when the caller prints JSON.
import cliProgress from 'cli-progress';

/** What the reporter writes to: process.stdout, process.stderr, or a fake in tests. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressFields {
  loss: number;
  tokensPerSec: number;
  lr?: number;
}

export interface ProgressReporter {
  /** Begins a run of `total` steps; `startStep` > 0 when resuming (the rate counts only new steps). */
  start(total: number, startStep?: number): void;
  update(step: number, fields: ProgressFields): void;
  /** Prints one line above the bar (or as a plain line) without breaking the bar. */
  log(line: string): void;
  /** Draws the final state and releases the terminal; call it in a `finally`. */
  stop(): void;
}

export interface ProgressOptions {
  /** Default process.stdout; process.stderr when `json` is set, so stdout stays pure JSON. */
  stream?: ProgressStream;
  /** Only log() lines are printed: the caller writes its own JSON records. */
  json?: boolean;
  /** Plain mode: a line at least every this many steps (default: total / 20, at least 1). */
  everySteps?: number;
  /** Plain mode: a line when this many milliseconds passed since the last one (default 10000). */
  everyMs?: number;
  /** Clock in milliseconds; tests pass a fake one. */
  now?: () => number;
}

/** `45s`, `3m12s`, `1h05m`: the width stays small and the leading unit says the scale. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const minutes = Math.round(s / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** 12345.6 -> `12,346`, independent of the process locale so logs compare across machines. */
export function formatThousands(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const sign = value < 0 ? '-' : '';
  return sign + String(Math.round(Math.abs(value))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toFixed(4) : String(loss);
}

function formatLr(lr: number): string {
  return lr.toExponential(2);
}

/** Shared bookkeeping: start time, the last update, and the ETA from the rate since start. */
class Clock {
  total = 0;
  startStep = 0;
  startedAt = 0;
  step = 0;
  updatedAt = 0;
  fields: ProgressFields = { loss: NaN, tokensPerSec: NaN };

  constructor(readonly now: () => number) {}

  start(total: number, startStep: number): void {
    this.total = total;
    this.startStep = startStep;
    this.step = startStep;
    this.startedAt = this.now();
    this.updatedAt = this.startedAt;
  }

  update(step: number, fields: ProgressFields): void {
    this.step = step;
    this.fields = fields;
    this.updatedAt = this.now();
  }

  elapsedSeconds(at = this.now()): number {
    return (at - this.startedAt) / 1000;
  }

  /** Seconds left at time `at`, from the mean rate of the steps done in this process. */
  etaSeconds(at = this.now()): number {
    const done = this.step - this.startStep;
    const spent = (this.updatedAt - this.startedAt) / 1000;
    if (this.step >= this.total) return 0;
    if (done <= 0 || spent <= 0) return NaN;
    const eta = ((this.total - this.step) * spent) / done - (at - this.updatedAt) / 1000;
    return Math.max(0, eta);
  }
}

/** Non-TTY: one plain line now and then, never a carriage return or an escape code. */
class PlainProgress implements ProgressReporter {
  private readonly clock: Clock;
  private everySteps = 1;
  private lastStep = 0;
  private lastAt = 0;
  private active = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly options: ProgressOptions,
    now: () => number,
  ) {
    this.clock = new Clock(now);
  }

  start(total: number, startStep = 0): void {
    this.clock.start(total, startStep);
    this.everySteps = this.options.everySteps ?? Math.max(1, Math.ceil(total / 20));
    this.lastStep = startStep;
    this.lastAt = this.clock.startedAt;
    this.active = true;
  }

  update(step: number, fields: ProgressFields): void {
    if (!this.active) return;
    this.clock.update(step, fields);
    const now = this.clock.updatedAt;
    const last = step >= this.clock.total;
    const dueBySteps = step - this.lastStep >= this.everySteps;
    const dueByTime = now - this.lastAt >= (this.options.everyMs ?? 10_000);
    if (step > this.lastStep && (last || dueBySteps || dueByTime)) {
      this.stream.write(`${this.line(step, fields, now)}\n`);
      this.lastStep = step;
      this.lastAt = now;
    }
  }

  log(line: string): void {
    this.stream.write(`${line}\n`);
  }

  stop(): void {
    this.active = false;
  }

  private line(step: number, f: ProgressFields, now: number): string {
    const parts = [`step ${step}/${this.clock.total}`, `loss ${formatLoss(f.loss)}`, `${formatThousands(f.tokensPerSec)} tok/s`];
    if (f.lr !== undefined) parts.push(`lr ${formatLr(f.lr)}`);
    // The last line says how long the whole run took instead of an ETA of zero.
    if (step >= this.clock.total) parts.push(`elapsed ${formatDuration(this.clock.elapsedSeconds(now))}`);
    else parts.push(`eta ${formatDuration(this.clock.etaSeconds(now))}`);
    return parts.join('  ');
  }
}

/** JSON mode: the caller owns stdout; only explicit log lines appear (on `stream`). */
class SilentProgress implements ProgressReporter {
  constructor(private readonly stream: ProgressStream) {}
  start(): void {}
  update(): void {}
  log(line: string): void {
    this.stream.write(`${line}\n`);
  }
  stop(): void {}
}

/**
 * TTY: a cli-progress bar. A MultiBar with one bar, because its renderer moves the cursor
 * relatively; SingleBar saves and restores the absolute cursor position, which lands on the
 * wrong row once log lines have scrolled the screen.
 */
class BarProgress implements ProgressReporter {
  private readonly clock: Clock;
  private multi: cliProgress.MultiBar | null = null;
  private bar: cliProgress.SingleBar | null = null;

  constructor(
    private readonly stream: ProgressStream,
    now: () => number,
  ) {
    this.clock = new Clock(now);
  }

  start(total: number, startStep = 0): void {
    this.stop();
    this.clock.start(total, startStep);
    this.multi = new cliProgress.MultiBar({
      // cli-progress only calls write() and reads isTTY/columns, which ProgressStream has.
      stream: this.stream as NodeJS.WritableStream,
      format: () => this.render(),
      // Redraw even when the text is unchanged: a log line may just have erased the bar.
      forceRedraw: true,
      // Its SIGINT handler would swallow Ctrl-C; the trainer decides what an interrupt does.
      gracefulExit: false,
      // true = leave the terminal's wrapping alone (no escape codes to undo after a crash);
      // the bar is trimmed to the terminal width instead.
      linewrap: true,
      hideCursor: false,
      fps: 10,
    });
    this.bar = this.multi.create(total, startStep);
  }

  update(step: number, fields: ProgressFields): void {
    if (!this.bar) return;
    this.clock.update(step, fields);
    this.bar.update(step);
  }

  log(line: string): void {
    if (!this.multi) {
      this.stream.write(`${line}\n`);
      return;
    }
    this.multi.log(`${line}\n`);
    // Draw now rather than on the next frame, so a log just before stop() is not lost.
    this.multi.update();
  }

  stop(): void {
    if (!this.multi) return;
    this.multi.stop();
    this.multi = null;
    this.bar = null;
  }

  private render(): string {
    const { total, step, fields } = this.clock;
    const width = 24;
    const filled = total > 0 ? Math.round((Math.min(step, total) / total) * width) : width;
    const parts = [
      `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${step}/${total}`,
      `loss ${formatLoss(fields.loss)}`,
      `${formatThousands(fields.tokensPerSec)} tok/s`,
    ];
    if (fields.lr !== undefined) parts.push(`lr ${formatLr(fields.lr)}`);
    parts.push(`eta ${formatDuration(this.clock.etaSeconds())}`, `elapsed ${formatDuration(this.clock.elapsedSeconds())}`);
    return parts.join(' | ');
  }
}

export function createProgress(options: ProgressOptions = {}): ProgressReporter {
  const now = options.now ?? Date.now;
  if (options.json) return new SilentProgress(options.stream ?? process.stderr);
  const stream = options.stream ?? process.stdout;
  return stream.isTTY === true ? new BarProgress(stream, now) : new PlainProgress(stream, options, now);
}
