// A model's size and a step's memory, worked out from its config before anything is built: every
// size limit of the project in one place. A size beyond what the formats allow (int32 token ids,
// V8's typed-array maximum) or beyond plausibility is ERR_RNNLM_CONFIG; a plan that fits the
// formats but not the memory there is, ERR_RNNLM_OOM (see memory.ts).
import { rnnlmError } from '../errors.js';
import { MAX_TENSOR_ELEMENTS } from '../tensor.js';
import { checkHostMemory, type MemoryBudget, type MemoryShare } from './memory.js';

/** Token ids are int32, and every size is a dimension of some tensor of those ids' rows. */
export const MAX_DIMENSION = 2 ** 31 - 1;
/**
 * More stacked layers than any recurrent model is trained with (deep LSTMs stop around 8–16);
 * past this a config is a typo or an attack, and enumerating its weights alone would take minutes.
 */
export const MAX_LAYERS = 1024;

const BYTES_PER_FLOAT = 4;

function configError(message: string): never {
  throw rnnlmError('ERR_RNNLM_CONFIG', message);
}

/**
 * ERR_RNNLM_CONFIG unless each size is a positive integer within the format's limits and
 * `layers` (when given) within MAX_LAYERS. `sizes` maps the names users know ("--hidden",
 * "model.hidden") to values; `owner` starts the message.
 */
export function checkSizes(owner: string, sizes: Readonly<Record<string, number>>, layersKey?: string): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isSafeInteger(value) || value < 1) configError(`${owner}: ${name} must be a positive integer, got ${value}`);
    if (value > MAX_DIMENSION) {
      configError(`${owner}: ${name} ${value} is beyond the largest size rnnlm supports, ${MAX_DIMENSION} (token ids and tensor dimensions are int32)`);
    }
  }
  if (layersKey !== undefined) {
    const layers = sizes[layersKey] ?? 0;
    if (layers > MAX_LAYERS) configError(`${owner}: ${layersKey} ${layers} is more than the ${MAX_LAYERS} stacked layers rnnlm supports`);
  }
}

/** checkSizes over `keys` of a config.json `model` object (already checked to be positive integers). */
export function checkModelSizes(source: string, model: Readonly<Record<string, unknown>>, keys: readonly string[]): void {
  checkSizes(source, Object.fromEntries(keys.map((k) => [`model.${k}`, model[k] as number])), 'model.layers');
}

/**
 * ERR_RNNLM_CONFIG when a tensor of `rows` x `columns` (a batch of token ids, a weight) would hold
 * more elements than one typed array can: every tensor must be readable into one.
 */
export function checkElements(owner: string, what: string, elements: number): void {
  if (!(elements <= MAX_TENSOR_ELEMENTS)) {
    configError(
      `${owner}: ${what} would hold ${elements.toExponential(3)} elements, more than the ${MAX_TENSOR_ELEMENTS} a tensor may hold (V8's typed-array maximum)`,
    );
  }
}

/** Elements of every parameter tensor, each checked against the typed-array maximum. */
export function parameterCount(owner: string, tensors: Iterable<[string, { shape: readonly number[] }]>): number {
  let total = 0;
  for (const [name, { shape }] of tensors) {
    const elements = shape.reduce((a, b) => a * b, 1);
    checkElements(owner, `parameter '${name}' [${shape.join(', ')}]`, elements);
    total += elements;
  }
  return total;
}

/** A recurrent stack's shape, as far as the memory of a step is concerned. */
export interface StackShape {
  embedding: number;
  hidden: number;
  layers: number;
  /** 1, or 2 for a bidirectional stack. */
  directions: number;
  /** Gate blocks per cell: 4 (LSTM), 3 (GRU), 1 (RNN). */
  gates: number;
}

const GATE_BLOCKS: Readonly<Record<string, number>> = { lstm: 4, gru: 3, rnn: 1, rnn_tanh: 1, rnn_relu: 1 };

/** Gate blocks of a cell type ('lstm' 4, 'gru' 3, 'rnn'/'rnn_relu' 1). */
export function gateBlocks(cell: string): number {
  return GATE_BLOCKS[cell] ?? 4;
}

/**
 * Bytes one token costs in a step, an upper estimate from what the engine keeps: the embedding
 * row, per layer and direction the gate pre-activations, cell and hidden states (the workspace
 * backward reads), their gradients when training, and `outputs` scores with their softmax and
 * gradient rows.
 */
export function bytesPerToken(stacks: readonly StackShape[], outputs: number, training: boolean): number {
  let floats = 0;
  for (const s of stacks) {
    const perLayer = (s.gates + 3) * s.hidden * s.directions;
    floats += (training ? 2 : 1) * (s.embedding + s.layers * perLayer);
  }
  floats += (training ? 3 : 2) * outputs;
  return floats * BYTES_PER_FLOAT;
}

/** Parameter-sized buffers an optimizer keeps besides the weights and their gradients. */
export function optimizerMoments(optimizer: string, momentum = 0): number {
  if (optimizer === 'adam') return 2;
  if (optimizer === 'rmsprop') return momentum > 0 ? 2 : 1;
  return momentum > 0 ? 1 : 0;
}

export interface MemoryPlan {
  /** What is planned ("training this language model"), first words of the message. */
  purpose: string;
  parameters: number;
  /** Parameter-sized buffers held at once: 1 to run, 2 + optimizer moments to train. */
  parameterCopies: number;
  /** Tokens in one step (batch x time steps); 0 when none are planned. */
  tokens: number;
  bytesPerToken: number;
  /** Where the tensors live: activations on a GPU are the device's business (cudaMalloc refuses at once). */
  device: 'cpu' | 'cuda';
}

/**
 * ERR_RNNLM_OOM unless the plan fits the host's memory; the token batch is checked against the
 * typed-array maximum first (ERR_RNNLM_CONFIG). Models are built on the host before they move to
 * a GPU, so their weights count there on every device.
 */
export function checkMemoryPlan(plan: MemoryPlan, budget?: MemoryBudget): void {
  checkElements(plan.purpose, 'one batch of token ids', plan.tokens);
  // On a GPU the gradients and moments live on the device; the host holds the initial weights.
  const copies = plan.device === 'cpu' ? plan.parameterCopies : 1;
  const shares: MemoryShare[] = [
    { what: `${plan.parameters.toLocaleString('en-US')} parameters x ${copies} buffer${copies > 1 ? 's' : ''}`, bytes: plan.parameters * copies * BYTES_PER_FLOAT },
  ];
  if (plan.device === 'cpu') shares.push({ what: `activations of ${plan.tokens.toLocaleString('en-US')} tokens`, bytes: plan.tokens * plan.bytesPerToken });
  checkHostMemory(plan.purpose, shares, budget);
}
