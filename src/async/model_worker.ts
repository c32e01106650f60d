// The worker thread behind generateAsync, generateStream and evaluateTextAsync: it rebuilds the
// caller's LanguageModel from the weights it is sent and runs the synchronous generate and
// evaluateText on it, so their results are exactly those of the synchronous calls. Jobs run one
// at a time in the order posted; between tokens (or chunks) each checks its abort flag.
import { parentPort } from 'node:worker_threads';
import { loadWeightsInto } from '../checkpoint/load_weights.js';
import { tokenizerFromJSON } from '../data/tokenizer_factory.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { isRnnlmError, rnnlmError } from '../errors.js';
import { evaluateTextChecked } from '../eval/lm_eval.js';
import { LanguageModel } from '../models/language_model.js';
import { Generator } from '../random.js';
import { generate } from '../sample/generate.js';
import { isAborted, type AbortFlag, type FromWorker, type ToWorker, type WorkerError } from './protocol.js';

const port = parentPort;
if (port === null) throw rnnlmError('ERR_RNNLM_INTERNAL', 'model_worker runs only as a worker thread');

let model: LanguageModel | null = null;
const tokenizers = new Map<number, Tokenizer>();

function send(message: FromWorker): void {
  port!.postMessage(message);
}

function throwIfAborted(flag: AbortFlag): void {
  if (isAborted(flag)) throw rnnlmError('ERR_RNNLM_ABORTED', 'the operation was aborted');
}

function toWorkerError(error: unknown): WorkerError {
  if (error instanceof Error) return { name: error.name, message: error.message, code: isRnnlmError(error) ? error.code : null };
  return { name: 'Error', message: String(error), code: null };
}

function loaded(): LanguageModel {
  if (model === null) throw rnnlmError('ERR_RNNLM_INTERNAL', 'the worker received a job before its model');
  return model;
}

function tokenizer(id: number): Tokenizer {
  const t = tokenizers.get(id);
  if (t === undefined) throw rnnlmError('ERR_RNNLM_INTERNAL', `the worker has no tokenizer ${id}`);
  return t;
}

function handle(message: ToWorker): void {
  switch (message.type) {
    case 'weights': {
      model?.dispose();
      model = null;
      // The constructor's random weights are overwritten; a private generator draws them.
      const fresh = new LanguageModel(message.config, { generator: new Generator() });
      model = loadWeightsInto(fresh, new Map(message.tensors), 'the weights sent to the worker', message.device);
      return;
    }
    case 'close':
      // With its port closed the worker's event loop is empty, and the thread ends by itself
      // (never terminated inside an engine call).
      model?.dispose();
      model = null;
      tokenizers.clear();
      port!.close();
      return;
    case 'tokenizer':
      tokenizers.set(message.id, tokenizerFromJSON(message.vocab, 'the vocabulary sent to the worker'));
      return;
    case 'generate': {
      const { job, abort } = message;
      try {
        throwIfAborted(abort);
        const text = generate(loaded(), tokenizer(message.tokenizer), {
          ...message.options,
          onText: (piece) => {
            throwIfAborted(abort);
            send({ type: 'piece', job, text: piece });
          },
        });
        send({ type: 'generated', job, text });
      } catch (error) {
        send({ type: 'failed', job, error: toWorkerError(error) });
      }
      return;
    }
    case 'evaluate': {
      const { job, abort } = message;
      try {
        throwIfAborted(abort);
        const result = evaluateTextChecked(loaded(), tokenizer(message.tokenizer), message.text, message.options, () => throwIfAborted(abort));
        send({ type: 'evaluated', job, result });
      } catch (error) {
        send({ type: 'failed', job, error: toWorkerError(error) });
      }
      return;
    }
  }
}

port.on('message', handle);
