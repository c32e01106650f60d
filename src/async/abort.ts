// The error every async call rejects with when its AbortSignal fires: named AbortError (as
// fetch's and Node's own), with code ERR_RNNLM_ABORTED and the signal's reason as its cause.
import { rnnlmError, type RnnlmError } from '../errors.js';

export function abortedError(signal: AbortSignal): RnnlmError {
  const error = rnnlmError('ERR_RNNLM_ABORTED', 'the operation was aborted');
  error.name = 'AbortError';
  error.cause = signal.reason;
  return error;
}
