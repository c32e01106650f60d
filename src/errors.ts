// Errors raised by the TypeScript layer carry the same stable `code` property as the engine's,
// so callers handle both alike (`err.code === 'ERR_RNNLM_SHAPE'`).

export type ErrorCode =
  | 'ERR_RNNLM_SHAPE'
  | 'ERR_RNNLM_DTYPE'
  | 'ERR_RNNLM_DEVICE'
  | 'ERR_RNNLM_INDEX'
  | 'ERR_RNNLM_ARGUMENT'
  /** More memory than there is: the size asked and the memory available are in the message. */
  | 'ERR_RNNLM_OOM'
  /** A size beyond a format's limit (int32 ids, the typed-array maximum) or beyond plausibility. */
  | 'ERR_RNNLM_CONFIG'
  | 'ERR_RNNLM_CUDA'
  | 'ERR_RNNLM_INTERNAL'
  | 'ERR_RNNLM_DISPOSED'
  | 'ERR_RNNLM_AUTOGRAD'
  | 'ERR_RNNLM_STATE'
  | 'ERR_RNNLM_ADDON'
  /** Training data: missing, empty, binary, not UTF-8, a folder without text. */
  | 'ERR_RNNLM_DATA'
  /** A checkpoint that is missing, corrupt, foreign, or does not match the model or data. */
  | 'ERR_RNNLM_CHECKPOINT'
  /** The loss or a gradient became NaN or infinite. */
  | 'ERR_RNNLM_NAN'
  /** A file system failure while reading or writing (the OS error is in the message). */
  | 'ERR_RNNLM_IO'
  /** An AbortSignal stopped the work (generateAsync, generateStream, evaluateTextAsync). */
  | 'ERR_RNNLM_ABORTED'
  /** Data-parallel training: MPI or NCCL unavailable, or a collective failed. */
  | 'ERR_RNNLM_DISTRIBUTED';

export interface RnnlmError extends Error {
  code: ErrorCode;
}

/** An Error (or TypeError, for values of the wrong JS type) with `code` set. */
export function rnnlmError(code: ErrorCode, message: string, type: 'error' | 'type' = 'error'): RnnlmError {
  const error = type === 'type' ? new TypeError(message) : new Error(message);
  return Object.assign(error, { code });
}

/** True when `error` is an Error carrying one of the rnnlm codes (optionally a given one). */
export function isRnnlmError(error: unknown, code?: ErrorCode): error is RnnlmError {
  if (!(error instanceof Error)) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== 'string' || !actual.startsWith('ERR_RNNLM_')) return false;
  return code === undefined || actual === code;
}
