// Random numbers come from the engine's counter-based Philox generator: a draw is a pure
// function of (seed, offset, element index), so CPU and CUDA produce the same numbers. A
// Generator therefore only hands out (seed, offset) pairs, advancing the offset by one per draw.
import { rnnlmError } from './errors.js';
import { native } from './native.js';
import { Tensor, checkShape, fromHandle, handleOf, type Shape, type TensorOptions } from './tensor.js';

const UINT64_MAX = (1n << 64n) - 1n;

/** PyTorch's default seed, so that a fresh process is deterministic as in PyTorch. */
export const DEFAULT_SEED = 67280421310721n;

/** A generator's position, JSON-safe (the 64-bit seed as a decimal string). */
export interface GeneratorState {
  seed: string;
  offset: number;
}

function toSeed(seed: number | bigint): bigint {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `seed must be a non-negative safe integer, got ${seed}`);
    }
    return BigInt(seed);
  }
  if (typeof seed !== 'bigint' || seed < 0n || seed > UINT64_MAX) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `seed must be an integer in [0, 2^64), got ${String(seed)}`);
  }
  return seed;
}

export class Generator {
  #seed: bigint;
  #offset = 0;

  constructor(seed: number | bigint = DEFAULT_SEED) {
    this.#seed = toSeed(seed);
  }

  /** Restarts the stream from `seed`. */
  manualSeed(seed: number | bigint): this {
    this.#seed = toSeed(seed);
    this.#offset = 0;
    return this;
  }

  get seed(): bigint {
    return this.#seed;
  }

  get offset(): number {
    return this.#offset;
  }

  /** The (seed, offset) of the next draw; every call names a fresh, non-overlapping stream. */
  next(): { seed: bigint; offset: number } {
    const draw = { seed: this.#seed, offset: this.#offset };
    this.#offset += 1;
    return draw;
  }

  getState(): GeneratorState {
    return { seed: this.#seed.toString(), offset: this.#offset };
  }

  setState(state: GeneratorState): void {
    let seed: bigint;
    try {
      seed = BigInt(state.seed);
    } catch {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `generator state: seed '${state.seed}' is not an integer`);
    }
    if (!Number.isSafeInteger(state.offset) || state.offset < 0) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `generator state: offset ${state.offset} is not a non-negative integer`);
    }
    this.#seed = toSeed(seed);
    this.#offset = state.offset;
  }
}

/** The generator that initialisation, dropout and the random factories use by default. */
export const defaultGenerator = new Generator();

/** Seeds the default generator (like torch.manual_seed). */
export function manualSeed(seed: number | bigint): void {
  defaultGenerator.manualSeed(seed);
}

/** Fills `t` in place with U(low, high); returns `t`. */
export function uniform_(t: Tensor, low = 0, high = 1, generator: Generator = defaultGenerator): Tensor {
  const { seed, offset } = generator.next();
  native().uniform_(handleOf(t, 'uniform_'), low, high, seed, offset);
  t._scalarHint = undefined;
  t._version += 1;
  return t;
}

/** Fills `t` in place with N(mean, std^2); returns `t`. */
export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  const { seed, offset } = generator.next();
  native().normal_(handleOf(t, 'normal_'), mean, std, seed, offset);
  t._scalarHint = undefined;
  t._version += 1;
  return t;
}

export interface RandomOptions extends Omit<TensorOptions, 'dtype'> {
  generator?: Generator;
}

function emptyFloat(shape: Shape, options: RandomOptions | undefined, where: string): Tensor {
  checkShape(shape, where);
  return fromHandle(native().empty(shape, 'float32', options?.device ?? 'cpu'), shape);
}

/** A float32 tensor of U(0, 1) samples. */
export function rand(shape: Shape, options?: RandomOptions): Tensor {
  const t = uniform_(emptyFloat(shape, options, 'rand()'), 0, 1, options?.generator);
  if (options?.requiresGrad === true) t.requiresGrad = true;
  return t;
}

/** A float32 tensor of N(0, 1) samples. */
export function randn(shape: Shape, options?: RandomOptions): Tensor {
  const t = normal_(emptyFloat(shape, options, 'randn()'), 0, 1, options?.generator);
  if (options?.requiresGrad === true) t.requiresGrad = true;
  return t;
}
