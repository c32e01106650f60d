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

export async function whileInterruptible<T extends { status: string }>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
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
  runningTrainers.add(onOutputFailure);
  try {
    const result = await run(controller.signal);
    // The checkpoint is saved; nothing the command would print after this can be written.
    if (outputFailureStatus !== null) process.exit(outputFailureStatus);
    if (result.status === 'interrupted') process.exitCode = 130;
    return result;
  } finally {
    runningTrainers.delete(onOutputFailure);
    process.off('SIGINT', onSigint);
  }
}
