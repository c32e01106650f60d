// Whether this process is one rank of a job started by Open MPI's mpirun, read from the
// environment mpirun gives every rank (OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_RANK, ...).
import { rnnlmError } from '../errors.js';

/** The world size mpirun announced, or null when this process was not started by mpirun. */
export function mpirunWorldSize(env: NodeJS.ProcessEnv = process.env): number | null {
  const text = env['OMPI_COMM_WORLD_SIZE'];
  if (text === undefined || text === '') return null;
  const size = Number(text);
  return Number.isInteger(size) && size >= 1 ? size : null;
}

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

function positiveInteger(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${name} must be a positive integer, got '${text}'`);
  }
  return value;
}

/** The deadline of every collective: the option, else $RNNLM_DIST_TIMEOUT_MS, else 120 s. */
export function resolveTimeoutMs(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (option !== undefined) return positiveInteger(String(option), 'timeoutMs');
  const text = env['RNNLM_DIST_TIMEOUT_MS'];
  return text !== undefined && text !== '' ? positiveInteger(text, 'RNNLM_DIST_TIMEOUT_MS') : DEFAULT_TIMEOUT_MS;
}

/** The all-reduce bucket: the option, else $RNNLM_DIST_BUCKET_BYTES, else 25 MiB. */
export function resolveBucketBytes(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (option !== undefined) return positiveInteger(String(option), 'bucketBytes');
  const text = env['RNNLM_DIST_BUCKET_BYTES'];
  return text !== undefined && text !== '' ? positiveInteger(text, 'RNNLM_DIST_BUCKET_BYTES') : DEFAULT_BUCKET_BYTES;
}
