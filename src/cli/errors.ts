// One place that turns a failure into one clear line and a non-zero exit code.
import type { Command } from '@commander-js/extra-typings';
import { isRnnlmError } from '../errors.js';

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
