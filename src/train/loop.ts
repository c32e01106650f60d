// The training loop every trainer runs (language model, sentence VAE, classifier), written once:
// open RUN and its metrics.jsonl, then step until the trainer has no steps left, checking for
// an abort (Ctrl-C) before each step and yielding to the event loop after it, save RUN/last when
// interrupted (or when no step saved it), and always close the metrics file and the reporter.
// The trainer supplies what differs: its step (with whatever follows it: validation, checkpoints,
// reports), its state, and how it saves.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isWriter, type Collective } from './data_parallel.js';
import { discardMetrics, MetricsWriter, type MetricsSink } from './metrics.js';

export type LoopStatus = 'finished' | 'early-stopped' | 'interrupted';

/** What a trainer plugs into runTrainingLoop. */
export interface TrainingSteps {
  readonly runDir: string;
  /** Records past this step are dropped from metrics.jsonl first (a resumed run); null appends. */
  readonly keepMetricsThrough: number | null;
  /**
   * The ranks of a data-parallel run (null: one process). Rank 0 alone opens RUN and its metrics;
   * the ranks agree before every step whether any of them was interrupted, so all stop together.
   */
  readonly collective?: Collective | null;
  /** Called once RUN and its metrics file are open: report the start. */
  begin(metrics: MetricsSink): void;
  /** Whether steps remain. */
  hasNext(): boolean;
  /** One optimizer step and what follows it; 'stop' ends the run early (early stopping). */
  step(metrics: MetricsSink): 'continue' | 'stop';
  /** The loop ended (finished, stopped early or interrupted), before RUN/last may be saved. */
  ended?(status: LoopStatus): void;
  /** Writes RUN/last with the trainer state (called on every rank: saving may gather from all). */
  saveLast(): void;
  /** Called last, whatever happened (stops the reporter). */
  close(): void;
}

/** Runs `steps` to the end, an early stop, or an abort of `signal` (RUN/last is then saved). */
export async function runTrainingLoop(steps: TrainingSteps, signal?: AbortSignal): Promise<LoopStatus> {
  const collective = steps.collective ?? null;
  const writer = isWriter(collective);
  if (writer) mkdirSync(steps.runDir, { recursive: true });
  const through = steps.keepMetricsThrough;
  const metrics: MetricsSink = writer ? new MetricsWriter(steps.runDir, through === null ? {} : { keepThrough: through }) : discardMetrics;
  const interrupted = (): boolean => {
    const here = signal?.aborted === true;
    if (collective === null || collective.size === 1) return here;
    return (collective.allReduceNumbers([here ? 1 : 0])[0] ?? 0) > 0;
  };
  try {
    steps.begin(metrics);
  } catch (error) {
    metrics.close();
    throw error;
  }
  let status: LoopStatus = 'finished';
  try {
    while (steps.hasNext()) {
      if (interrupted()) {
        status = 'interrupted';
        break;
      }
      if (steps.step(metrics) === 'stop') {
        status = 'early-stopped';
        break;
      }
      // Lets a Ctrl-C handler run between steps; the step itself is synchronous native work.
      await yieldToEventLoop();
    }
    steps.ended?.(status);
    // Every rank asks the same question (rank 0's folder decides), since saving may be collective.
    const saved = writer && existsSync(join(steps.runDir, 'last'));
    const lastMissing = collective === null || collective.size === 1 ? !saved : (collective.allReduceNumbers([writer && !saved ? 1 : 0])[0] ?? 0) > 0;
    if (status === 'interrupted' || lastMissing) steps.saveLast();
  } finally {
    metrics.close();
    steps.close();
  }
  return status;
}
