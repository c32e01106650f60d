// Tensor: a JS handle on one engine tensor plus the autograd bookkeeping, the tensor factories,
// and the memory discipline around them: dispose(), tidy() scopes, and a FinalizationRegistry
// that frees what a program forgot (a backstop only: GC does not see native memory pressure
// precisely, so long-running loops should use tidy or dispose).
import { constants as bufferConstants } from 'node:buffer';
import { native, type DType, type Device, type NativeTensor } from './native.js';
import { rnnlmError } from './errors.js';

export type { DType, Device };
export type Shape = readonly number[];

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

/** What a tensor needs of the autograd node that produced it (autograd's GradNode). */
export interface GraphNode {
  retain(): void;
  release(): void;
}

// Tensor's differentiable methods are the functional ops and autograd's backward. Those modules
// build on this one, so they hand their functions over when they load (see installTensorMethods)
// instead of being imported here: an import would close a cycle.
interface TensorMethods {
  reshape(x: Tensor, shape: Shape): Tensor;
  clone(x: Tensor): Tensor;
  toDevice(x: Tensor, device: Device): Tensor;
  backward(root: Tensor, grad: Tensor | null): void;
}

const methods: Partial<TensorMethods> = {};

/** @internal Called by functional.ts and autograd.ts as they load. */
export function installTensorMethods(ops: Partial<TensorMethods>): void {
  Object.assign(methods, ops);
}

function method<K extends keyof TensorMethods>(name: K): TensorMethods[K] {
  const f = methods[name];
  if (f === undefined) throw rnnlmError('ERR_RNNLM_INTERNAL', `Tensor's ${name} is not installed: functional.ts and autograd.ts were not loaded`);
  return f;
}

// What the finalizer needs to release a collected Tensor. It must not reference the Tensor.
interface Held {
  handle: NativeTensor;
  node: GraphNode | null;
}

let liveCount = 0;

const registry = new FinalizationRegistry<Held>((held) => {
  liveCount -= 1;
  held.handle.dispose();
  held.node?.release();
});

/** @internal One tidy() scope: the tensors created while it was the innermost one. */
export class TidyScope {
  readonly tensors = new Set<Tensor>();
}

const scopes: TidyScope[] = [];

function currentScope(): TidyScope | null {
  return scopes.length > 0 ? scopes[scopes.length - 1]! : null;
}

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  /** Accumulated gradient of a leaf that requires grad; owned by this tensor. */
  grad: Tensor | null = null;
  /** @internal Which output of its node this tensor is. */
  _outputIndex = 0;
  /**
   * @internal The value every element is known to hold (set on backward seeds and kept by ops
   * that preserve it), letting backward scale by a scalar gradient without reading it back.
   */
  _scalarHint: number | undefined = undefined;
  /**
   * @internal Counts writes to this tensor's values in place (optimizer updates, re-initialisation,
   * assignment), so that a copy held elsewhere (a worker's model weights) can tell it is stale.
   */
  _version = 0;

  #held: Held | null;
  #device: Device;
  #leafRequiresGrad = false;
  #scope: TidyScope | null = null;

  /** @internal Tensors are made by the factories and ops, not by `new`. */
  constructor(handle: NativeTensor, shape?: Shape) {
    this.shape = Object.freeze(shape !== undefined ? [...shape] : handle.shape);
    this.dtype = handle.dtype;
    this.#device = handle.device;
    this.#held = { handle, node: null };
    liveCount += 1;
    registry.register(this, this.#held, this);
    const scope = currentScope();
    if (scope !== null) {
      scope.tensors.add(this);
      this.#scope = scope;
    }
  }

  get device(): Device {
    return this.#device;
  }

  get numel(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.#held === null;
  }

  /** True for leaves marked as requiring grad and for every result of a recorded op. */
  get requiresGrad(): boolean {
    return this.#leafRequiresGrad || this._node !== null;
  }

  set requiresGrad(flag: boolean) {
    if (this._node !== null) {
      if (!flag) {
        throw rnnlmError('ERR_RNNLM_AUTOGRAD', 'requiresGrad cannot be cleared on a non-leaf tensor; use detach()');
      }
      return;
    }
    if (flag && this.dtype !== 'float32') {
      throw rnnlmError('ERR_RNNLM_DTYPE', 'only float32 tensors can require grad');
    }
    this.#leafRequiresGrad = flag;
  }

  /** Sets requiresGrad and returns this tensor, for chaining. */
  requiresGrad_(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /** True when no recorded op produced this tensor. */
  get isLeaf(): boolean {
    return this._node === null;
  }

  /** @internal The autograd node that produced this tensor, if any. */
  get _node(): GraphNode | null {
    return this.#held?.node ?? null;
  }

  /** @internal Makes this tensor output `index` of `node` (holding a reference on the node). */
  _setNode(node: GraphNode, index: number): void {
    const held = this.live();
    node.retain();
    held.node?.release();
    held.node = node;
    this._outputIndex = index;
  }

  /** @internal The native handle; throws ERR_RNNLM_DISPOSED after dispose(). */
  _native(): NativeTensor {
    return this.live().handle;
  }

  private live(): Held {
    if (this.#held === null) throw rnnlmError('ERR_RNNLM_DISPOSED', 'tensor used after dispose()');
    return this.#held;
  }

  /** @internal Removes this tensor from its tidy scope (or moves it to `scope`). */
  _setScope(scope: TidyScope | null): void {
    this.#scope?.tensors.delete(this);
    this.#scope = scope;
    scope?.tensors.add(this);
  }

  /**
   * @internal Gives this leaf the storage of `source` (same shape and dtype, any device), which
   * is consumed. Used to move or load parameters while keeping the parameter objects.
   */
  _assignFrom(source: Tensor): void {
    const held = this.live();
    const from = source.live();
    if (this._node !== null) throw rnnlmError('ERR_RNNLM_AUTOGRAD', 'only a leaf tensor can be assigned');
    if (source.dtype !== this.dtype || source.shape.length !== this.shape.length || source.shape.some((d, i) => d !== this.shape[i])) {
      throw rnnlmError('ERR_RNNLM_SHAPE', 'assignment needs the same shape and dtype');
    }
    // Detach the handle from `source` without freeing it, then retire `source`.
    source.#held = null;
    registry.unregister(source);
    liveCount -= 1;
    source._setScope(null);
    from.node?.release();
    held.handle.dispose();
    held.handle = from.handle;
    this._scalarHint = undefined;
    this._version += 1;
    if (this.#device !== source.#device) {
      this.#device = source.#device;
      this.grad?.dispose();
      this.grad = null;
    }
  }

  /** Frees the native storage now (and the gradient this tensor owns). Idempotent. */
  dispose(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    registry.unregister(this);
    liveCount -= 1;
    this.#scope?.tensors.delete(this);
    this.#scope = null;
    held.handle.dispose();
    held.node?.release();
    held.node = null;
    if (this.grad !== null) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** A copy of the data in host memory (int32 data converted to float). */
  toFloat32Array(): Float32Array {
    const handle = this._native();
    if (this.dtype === 'float32') return handle.toArrayBuffer(new Float32Array(this.numel));
    return Float32Array.from(handle.toArrayBuffer(new Int32Array(this.numel)));
  }

  /** A copy of the data in host memory; int32 tensors only (float data would be truncated). */
  toInt32Array(): Int32Array {
    const handle = this._native();
    if (this.dtype !== 'int32') {
      throw rnnlmError('ERR_RNNLM_DTYPE', `toInt32Array() of a ${this.dtype} tensor; use toFloat32Array()`);
    }
    return handle.toArrayBuffer(new Int32Array(this.numel));
  }

  /** The data as a flat array of numbers. */
  toArray(): number[] {
    return Array.from(this.dtype === 'float32' ? this.toFloat32Array() : this.toInt32Array());
  }

  /** The single value of a one-element tensor. */
  item(): number {
    this.live();
    if (this.numel !== 1) {
      throw rnnlmError('ERR_RNNLM_SHAPE', `item() needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    }
    return this.toArray()[0]!;
  }

  /** A view with another shape (one dimension may be -1); differentiable. */
  reshape(...shape: number[] | [Shape]): Tensor {
    const target: Shape = shape.length === 1 && Array.isArray(shape[0]) ? shape[0] : (shape as number[]);
    return method('reshape')(this, target);
  }

  /** A copy with its own storage; differentiable. */
  clone(): Tensor {
    return method('clone')(this);
  }

  /** This tensor on `device` (a copy, or a view when already there); differentiable. */
  to(device: Device): Tensor {
    return method('toDevice')(this, device);
  }

  /** A view sharing storage, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(this._native().reshape(this.shape), this.shape);
  }

  /** Backpropagates from this tensor (a one-element loss unless `grad` is given). */
  backward(grad?: Tensor | null): void {
    method('backward')(this, grad ?? null);
  }

  toString(): string {
    if (this.isDisposed) return 'Tensor(disposed)';
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}` +
      `${this.requiresGrad ? ', requiresGrad=true' : ''})`;
  }
}

/** @internal Wraps a handle the engine returned. */
export function fromHandle(handle: NativeTensor, shape?: Shape): Tensor {
  return new Tensor(handle, shape);
}

// --- scopes ---------------------------------------------------------------------------------

/**
 * Runs `fn` and disposes every Tensor created inside it except those it returns (found in
 * arrays, plain objects, Maps and object properties of the result) and those passed to keep().
 * Returned tensors belong to the enclosing scope, if any. `fn` must be synchronous. If `fn`
 * throws, everything it created is disposed.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new TidyScope();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    popScope(scope);
    for (const t of [...scope.tensors]) t.dispose();
    throw error;
  }
  popScope(scope);
  if (result instanceof Promise) {
    for (const t of [...scope.tensors]) t.dispose();
    throw rnnlmError('ERR_RNNLM_ARGUMENT', 'tidy() cannot run an async function: tensors created after an await would escape it', 'type');
  }
  const returned = collectTensors(result);
  const parent = currentScope();
  for (const t of [...scope.tensors]) {
    if (returned.has(t)) t._setScope(parent);
    else t.dispose();
  }
  return result;
}

function popScope(scope: TidyScope): void {
  const top = scopes.pop();
  if (top !== scope) throw rnnlmError('ERR_RNNLM_INTERNAL', 'tidy scopes were left out of order');
}

function collectTensors(value: unknown): Set<Tensor> {
  const found = new Set<Tensor>();
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (v instanceof Tensor) {
      found.add(v);
      continue;
    }
    if (seen.has(v) || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) continue;
    seen.add(v);
    if (v instanceof Map) {
      for (const x of v.values()) stack.push(x);
    } else if (v instanceof Set || Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else {
      for (const x of Object.values(v)) stack.push(x);
    }
  }
  return found;
}

/** Exempts `t` from every tidy scope (it then lives until disposed). Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  t._setScope(null);
  return t;
}

/** Number of Tensors not yet disposed (parameters, gradients, optimizer state included). */
export function liveTensors(): number {
  return liveCount;
}

/**
 * Engine storages alive and their bytes (what the tensors above and anything else hold), and
 * the native handles the garbage collector has not finalized yet (disposed ones included; they
 * are small, and go when the event loop runs the finalizers).
 */
export function nativeMemory(): { count: number; bytes: number; handles: number } {
  return native().liveStorage();
}

// --- factories ------------------------------------------------------------------------------

export type NestedNumbers = number | readonly NestedNumbers[];

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0] as NestedNumbers;
  }
  return shape;
}

function flatten(data: NestedNumbers, shape: Shape, depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', 'tensor(): expected a number at the innermost level', 'type');
    }
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw rnnlmError('ERR_RNNLM_SHAPE', 'tensor(): nested arrays are ragged');
  }
  for (const x of data as readonly NestedNumbers[]) flatten(x, shape, depth + 1, out);
}

/**
 * @internal The engine handle of `t`, for an op named `op`: a value that is not a Tensor (a plain
 * array, a typed array, undefined) is a TypeError with ERR_RNNLM_ARGUMENT, not a failed call of a
 * missing method.
 */
export function handleOf(t: Tensor, op: string): NativeTensor {
  if (!(t instanceof Tensor)) {
    const got = Array.isArray(t) ? 'a plain array (make one with tensor([...]))' : ArrayBuffer.isView(t) ? `a ${(t as object).constructor.name} (make one with fromFloat32Array / fromInt32Array)` : t === null ? 'null' : typeof t;
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${op}: expected a Tensor, got ${got}`, 'type');
  }
  return t._native();
}

/**
 * The most elements a tensor may hold: the longest typed array this Node can make
 * (buffer.constants.MAX_LENGTH, 2^32 on Node 20), since every tensor can be read back into one.
 */
export const MAX_TENSOR_ELEMENTS: number = bufferConstants.MAX_LENGTH;

/**
 * @internal Refuses a shape before anything is allocated from it: every dimension a non-negative
 * safe integer (with `allowInfer`, one may be -1, as reshape takes) and the element count at most
 * MAX_TENSOR_ELEMENTS. The engine checks again with overflow-checked int64 arithmetic.
 */
export function checkShape(shape: Shape, where: string, allowInfer = false): void {
  if (!Array.isArray(shape)) throw rnnlmError('ERR_RNNLM_ARGUMENT', `${where}: shape must be an array`, 'type');
  const shown = `[${shape.join(', ')}]`;
  let count = 1;
  let inferred = false;
  for (const d of shape) {
    if (allowInfer && d === -1 && !inferred) {
      inferred = true;
      continue;
    }
    if (!Number.isSafeInteger(d) || d < 0) {
      throw rnnlmError('ERR_RNNLM_SHAPE', `${where}: invalid shape ${shown} (dimensions must be non-negative integers)`);
    }
    count *= d;
  }
  // A product over 2^53 is inexact but still far above the limit, so the comparison holds.
  if (count > MAX_TENSOR_ELEMENTS) {
    throw rnnlmError(
      'ERR_RNNLM_SHAPE',
      `${where}: shape ${shown} has ${count} elements, more than a tensor may hold (${MAX_TENSOR_ELEMENTS}, the longest typed array)`,
    );
  }
}

function finish(t: Tensor, options: TensorOptions | undefined): Tensor {
  if (options?.requiresGrad === true) t.requiresGrad = true;
  return t;
}

/**
 * A tensor from numbers: a (nested) array, a Float32Array or an Int32Array. With `shape` the
 * data is read flat in row-major order. The dtype defaults to int32 for an Int32Array and to
 * float32 otherwise.
 */
export function tensor(
  data: NestedNumbers | Float32Array | Int32Array,
  shape?: Shape | null,
  options?: TensorOptions,
): Tensor {
  const dtype: DType = options?.dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
  const device = options?.device ?? 'cpu';
  let flat: ArrayLike<number>;
  let inferred: Shape;
  if (data instanceof Float32Array || data instanceof Int32Array) {
    flat = data;
    inferred = [data.length];
  } else {
    inferred = inferShape(data);
    const out: number[] = [];
    flatten(data, inferred, 0, out);
    flat = out;
  }
  const finalShape = shape ?? inferred;
  checkShape(finalShape, 'tensor()');
  let typed: Float32Array | Int32Array;
  if (dtype === 'float32') {
    typed = flat instanceof Float32Array ? flat : Float32Array.from(flat);
  } else {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i]!;
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
        throw rnnlmError('ERR_RNNLM_ARGUMENT', `tensor(): int32 data holds ${v} at ${i}`);
      }
    }
    typed = flat instanceof Int32Array ? flat : Int32Array.from(flat);
  }
  return finish(fromHandle(native().fromTypedArray(typed, finalShape, device), finalShape), options);
}

export function fromFloat32Array(data: Float32Array, shape: Shape, options?: Omit<TensorOptions, 'dtype'>): Tensor {
  checkShape(shape, 'fromFloat32Array()');
  return finish(fromHandle(native().fromTypedArray(data, shape, options?.device ?? 'cpu'), shape), options);
}

export function fromInt32Array(data: Int32Array, shape: Shape, options?: Omit<TensorOptions, 'dtype' | 'requiresGrad'>): Tensor {
  checkShape(shape, 'fromInt32Array()');
  return fromHandle(native().fromTypedArray(data, shape, options?.device ?? 'cpu'), shape);
}

export function zeros(shape: Shape, options?: TensorOptions): Tensor {
  checkShape(shape, 'zeros()');
  const t = fromHandle(native().zeros(shape, options?.dtype ?? 'float32', options?.device ?? 'cpu'), shape);
  return finish(t, options);
}

export function full(shape: Shape, value: number, options?: TensorOptions): Tensor {
  checkShape(shape, 'full()');
  const handle = native().empty(shape, options?.dtype ?? 'float32', options?.device ?? 'cpu');
  const t = fromHandle(handle, shape);
  native().fill_(handle, value);
  return finish(t, options);
}

export function ones(shape: Shape, options?: TensorOptions): Tensor {
  return full(shape, 1, options);
}

export function zerosLike(t: Tensor, options?: TensorOptions): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device, ...options });
}

export function onesLike(t: Tensor, options?: TensorOptions): Tensor {
  return ones(t.shape, { dtype: t.dtype, device: t.device, ...options });
}
