// The main thread's side of a model's worker: one worker per LanguageModel, started on first use
// and kept (weights and all) for the next call; the weights are sent again only when a parameter
// was written since (its _version moved: an optimizer step, a load, a move to another device).
// The worker is unref'd while it has no job, so an idle one never keeps the process alive, and it
// is terminated when its model is garbage-collected or closeWorkers() is called.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { toSafeTensor } from '../checkpoint/tensors.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { isRnnlmError, rnnlmError, type RnnlmError } from '../errors.js';
import type { LanguageModel } from '../models/language_model.js';
import { abortedError } from './abort.js';
import type { AbortFlag, FromWorker, ToWorker, WorkerError } from './protocol.js';

/** A job's outcome as the worker reports it (pieces of text come before it). */
export type JobEnd = Exclude<FromWorker, { type: 'piece' }>;

interface Job {
  /** Set to stop the job in the worker. */
  abort: AbortFlag;
  piece(text: string): void;
  end(message: JobEnd): void;
}

// The worker's entry: model_worker.js next to this file. From the TypeScript sources (tests, tsx)
// the worker first registers tsx's loader, which a worker does not inherit from its parent.
function workerEntry(): URL {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(`./model_worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSources) return entry;
  // tsx/esm/api's ESM build (its package exports give require() the CJS one), beside tsx's main.
  const api = new URL('./esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx'))).href;
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/** An error from the worker as an Error of this thread, with its rnnlm code. */
export function fromWorkerError(error: WorkerError): Error {
  if (error.code === null) return Object.assign(new Error(error.message), { name: error.name });
  return rnnlmError(error.code, error.message, error.name === 'TypeError' ? 'type' : 'error');
}

function closedError(): RnnlmError {
  return rnnlmError('ERR_RNNLM_ABORTED', "the model's worker was closed");
}

export class ModelWorker {
  readonly #worker: Worker;
  readonly #jobs = new Map<number, Job>();
  readonly #tokenizers = new WeakMap<Tokenizer, number>();
  #nextId = 1;
  // The parameters' versions (and devices) when the worker last received the weights.
  #sentVersions: string | null = null;
  #dead: Error | null = null;
  #closing: Promise<void> | null = null;
  readonly #onDeath: () => void;

  constructor(onDeath: () => void) {
    this.#worker = new Worker(workerEntry());
    this.#worker.unref();
    this.#worker.on('message', (message: FromWorker) => {
      const job = this.#jobs.get(message.job);
      if (job === undefined) return;
      if (message.type === 'piece') {
        job.piece(message.text);
        return;
      }
      this.#jobs.delete(message.job);
      if (this.#jobs.size === 0) this.#worker.unref();
      job.end(message);
    });
    this.#worker.on('error', (error) => this.#die(rnnlmError('ERR_RNNLM_INTERNAL', `the model's worker failed: ${error.message}`)));
    this.#worker.on('exit', (code) => this.#die(rnnlmError('ERR_RNNLM_INTERNAL', `the model's worker exited with code ${code}`)));
    this.#onDeath = onDeath;
  }

  /** Sends `model`'s weights unless the worker already holds these very values. */
  syncWeights(model: LanguageModel): void {
    const params = [...model.stateDict()];
    const versions = params.map(([, t]) => `${t.device}${t._version}`).join(',');
    if (versions === this.#sentVersions) return;
    const tensors = params.map(([name, t]) => [name, toSafeTensor(t)] as [string, ReturnType<typeof toSafeTensor>]);
    const device = model.embedding.weight.device;
    this.#post({ type: 'weights', config: { ...model.config }, device, tensors }, tensors.map(([, t]) => t.data.buffer as ArrayBuffer));
    this.#sentVersions = versions;
  }

  /** The worker's id for `tokenizer`, sending its vocabulary the first time. */
  tokenizerId(tokenizer: Tokenizer): number {
    let id = this.#tokenizers.get(tokenizer);
    if (id === undefined) {
      id = this.#nextId++;
      this.#post({ type: 'tokenizer', id, vocab: tokenizer.toJSON() });
      this.#tokenizers.set(tokenizer, id);
    }
    return id;
  }

  /** Posts a job (built for its id); the worker is kept referenced until the job ends. */
  start(build: (job: number) => ToWorker, job: Job): void {
    const id = this.#nextId++;
    this.#post(build(id));
    if (this.#jobs.size === 0) this.#worker.ref();
    this.#jobs.set(id, job);
  }

  /**
   * Ends the worker once its current job has stopped (a worker terminated inside an engine call
   * could not unwind cleanly); its unfinished jobs fail with ERR_RNNLM_ABORTED.
   */
  async close(): Promise<void> {
    if (this.#closing === null) {
      const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
      for (const job of this.#jobs.values()) Atomics.store(job.abort, 0, 1);
      if (this.#dead === null) this.#worker.postMessage({ type: 'close' } satisfies ToWorker);
      this.#die(closedError());
      // Held until it has ended, so that the process does not exit around a running engine call.
      this.#worker.ref();
      this.#closing = exited;
    }
    await this.#closing;
  }

  // Fails every unfinished job with `error`; later calls get a new worker.
  #die(error: Error): void {
    if (this.#dead !== null) return;
    this.#dead = error;
    this.#onDeath();
    const jobs = [...this.#jobs];
    this.#jobs.clear();
    this.#worker.unref();
    const code = isRnnlmError(error) ? error.code : null;
    for (const [id, job] of jobs) job.end({ type: 'failed', job: id, error: { name: error.name, message: error.message, code } });
  }

  #post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this.#dead !== null) throw this.#dead;
    this.#worker.postMessage(message, transfer);
  }
}


const byModel = new WeakMap<LanguageModel, ModelWorker>();
const running = new Set<ModelWorker>();
const whenCollected = new FinalizationRegistry<ModelWorker>((worker) => {
  running.delete(worker);
  void worker.close();
});

/** The worker of `model`, started on first use. */
export function workerFor(model: LanguageModel): ModelWorker {
  let worker = byModel.get(model);
  if (worker === undefined) {
    // The worker must not hold its model: a weak reference lets the model be collected.
    const ref = new WeakRef(model);
    const fresh: ModelWorker = new ModelWorker(() => {
      const owner = ref.deref();
      if (owner !== undefined && byModel.get(owner) === fresh) byModel.delete(owner);
      running.delete(fresh);
      whenCollected.unregister(fresh);
    });
    worker = fresh;
    byModel.set(model, worker);
    running.add(worker);
    whenCollected.register(model, worker, worker);
  }
  return worker;
}

/**
 * Terminates the worker of `model` (or every model's), freeing its copy of the weights; the next
 * async call starts a new one. Jobs still running fail with ERR_RNNLM_ABORTED.
 */
export async function closeWorkers(model?: LanguageModel): Promise<void> {
  const workers = model === undefined ? [...running] : [byModel.get(model)].filter((w) => w !== undefined);
  await Promise.all(workers.map((w) => w.close()));
}

export interface JobRequest<T> {
  model: LanguageModel;
  tokenizer: Tokenizer;
  signal?: AbortSignal | undefined;
  /** The job's message for the worker. */
  build(job: number, tokenizer: number, abort: AbortFlag): ToWorker;
  /** Receives the text pieces a generation streams, in order. */
  onPiece?: ((text: string) => void) | undefined;
  /** The result of a successful end. */
  result(end: Exclude<JobEnd, { type: 'failed' }>): T;
}

/**
 * Runs one job on the worker of `model` (sending its weights first if they changed). Aborting
 * `signal` rejects at once with ERR_RNNLM_ABORTED and stops the job at its next token or chunk;
 * the worker stays referenced until it has stopped.
 */
export function runJob<T>(request: JobRequest<T>): Promise<T> {
  const { signal } = request;
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortedError(signal));
      return;
    }
    const abort = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    let settled = false;
    const onAbort = (): void => {
      Atomics.store(abort, 0, 1);
      if (settled) return;
      settled = true;
      reject(abortedError(signal!));
    };
    try {
      const worker = workerFor(request.model);
      worker.syncWeights(request.model);
      const tokenizer = worker.tokenizerId(request.tokenizer);
      worker.start((job) => request.build(job, tokenizer, abort), {
        abort,
        piece: (text) => {
          if (settled) return;
          try {
            request.onPiece?.(text);
          } catch (error) {
            // The callback's error ends the job, as it ends a synchronous generate.
            Atomics.store(abort, 0, 1);
            settled = true;
            reject(error);
          }
        },
        end: (end) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          try {
            if (end.type === 'failed') throw fromWorkerError(end.error);
            resolve(request.result(end));
          } catch (error) {
            reject(error);
          }
        },
      });
    } catch (error) {
      reject(error);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
