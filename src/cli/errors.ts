// One place that turns a failure into one clear line and a non-zero exit code.
import type { Command } from '@commander-js/extra-typings';
import { isRnnlmError } from '../errors.js';
import { stopTrainersForOutputFailure } from './interrupt.js';

export class UsageError extends Error {
  readonly code = 'ERR_RNNLM_USAGE';
}

export async function runCommand(program: Command<[], { verbose?: true | undefined }>, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const verbose = argv.includes('--verbose');
    const message = error instanceof Error ? error.message : String(error);
    const code = isRnnlmError(error) || error instanceof UsageError ? ` [${(error as { code: string }).code}]` : '';
    process.stderr.write(`rnnlm: ${message}${code}\n`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

/**
 * Handles a failed write to stdout or stderr instead of Node's 'Unhandled error event' trace.
 * A closed reader (EPIPE, as in `rnnlm sample | head`) ends the command quietly with 0, as
 * `cat` does; any other failure (ENOSPC, EIO...) prints one line on stderr and exits with 1.
 * A running trainer is asked to save its last checkpoint first (the Ctrl-C path).
 */
export function handleOutputErrors(): void {
  let handled = false;
  const onError =
    (name: 'stdout' | 'stderr') =>
    (error: NodeJS.ErrnoException): void => {
      // Writes that keep failing after the first (a trainer finishing its step) change nothing.
      if (handled) return;
      handled = true;
      const status = error.code === 'EPIPE' ? 0 : 1;
      if (status !== 0 && name === 'stdout') {
        try {
          process.stderr.write(`rnnlm: ERR_RNNLM_IO: cannot write to stdout: ${error.message}\n`);
        } catch {
          // stderr is gone too: the exit status is all that is left to say it.
        }
      }
      if (!stopTrainersForOutputFailure(status)) process.exit(status);
    };
  process.stdout.on('error', onError('stdout'));
  process.stderr.on('error', onError('stderr'));
}

/** Parses a positive integer flag, naming the flag when it is not one. */
export function positiveInteger(flag: string): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
    return n;
  };
}

export function oneOf<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got '${value}'`);
    }
    return value as T;
  };
}

export function nonNegativeInteger(flag: string): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got '${value}'`);
    return n;
  };
}

/** A finite number in [min, max] (max inclusive unless `openMax`). */
export function numberIn(flag: string, min: number, max = Infinity, openMax = false): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    const tooHigh = openMax ? n >= max : n > max;
    if (value.trim() === '' || !Number.isFinite(n) || n < min || tooHigh) {
      const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}${openMax ? ')' : ']'}`;
      throw new UsageError(`${flag} must be a number ${range}, got '${value}'`);
    }
    return n;
  };
}

/** A number > 0. */
export function positiveNumber(flag: string): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got '${value}'`);
    return n;
  };
}
