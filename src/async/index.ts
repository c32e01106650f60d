// The Promise API: generation and evaluation in a worker thread per model.
export { generateAsync, generateStream, type GenerateAsyncOptions } from './generate_async.js';
export { evaluateTextAsync, type EvaluateTextAsyncOptions } from './evaluate_async.js';
export { closeWorkers } from './model_worker_client.js';
