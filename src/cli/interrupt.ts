// Ctrl-C during training: the first press asks the trainer (through an AbortSignal) to save its
// last checkpoint after the current step and return; the command then exits with 130.
export async function whileInterruptible<T extends { status: string }>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) return;
    process.stderr.write('\nrnnlm: interrupted; saving the last checkpoint after this step\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await run(controller.signal);
    if (result.status === 'interrupted') process.exitCode = 130;
    return result;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
