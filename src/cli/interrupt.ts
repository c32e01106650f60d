// Stopping a training run early without leaving it half-written. Ctrl-C, or an output that can no
// longer be written (a closed pipe, a full disk), asks the trainer (through an AbortSignal) to
// save its last checkpoint after the current step and return. After Ctrl-C the command exits
// with 130; after an output failure, with the status the output handler chose, at once.
type Stop = (exitStatus: number) => void;

const runningTrainers = new Set<Stop>();

/**
 * Asks every trainer running under `whileInterruptible` to stop after its current step and the
 * process then to exit with `exitStatus`. Returns false when none is running (nothing to save).
 */
export function stopTrainersForOutputFailure(exitStatus: number): boolean {
  for (const stop of runningTrainers) stop(exitStatus);
  return runningTrainers.size > 0;
}

/**
 * Runs a trainer with Ctrl-C (and, with `sigterm`, for the ranks of a data-parallel job: SIGTERM,
 * and SIGUSR1, which mpirun forwards to every rank) turned into a stop after the current step.
 */
export async function whileInterruptible<T extends { status: string }>(run: (signal: AbortSignal) => Promise<T>, options: { sigterm?: boolean } = {}): Promise<T> {
  const controller = new AbortController();
  let outputFailureStatus: number | null = null;
  const onSigint = (): void => {
    if (controller.signal.aborted) return;
    process.stderr.write('\nrnnlm: interrupted; saving the last checkpoint after this step\n');
    controller.abort();
  };
  const onOutputFailure: Stop = (exitStatus) => {
    if (controller.signal.aborted) return;
    outputFailureStatus = exitStatus;
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  if (options.sigterm === true) for (const s of ['SIGTERM', 'SIGUSR1'] as const) process.on(s, onSigint);
  runningTrainers.add(onOutputFailure);
  try {
    const result = await run(controller.signal);
    // The checkpoint is saved; nothing the command would print after this can be written.
    if (outputFailureStatus !== null) process.exit(outputFailureStatus);
    // A rank of a data-parallel job ends an agreed stop with 0, or mpirun would call the job failed
    // and wait to kill it; the launcher (--nproc) exits with 130.
    if (result.status === 'interrupted') process.exitCode = options.sigterm === true ? 0 : 130;
    return result;
  } finally {
    runningTrainers.delete(onOutputFailure);
    process.off('SIGINT', onSigint);
    for (const s of ['SIGTERM', 'SIGUSR1'] as const) process.off(s, onSigint);
  }
}
