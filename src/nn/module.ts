// Module: the base of every layer and model. It owns named parameters and submodules, names them
// as PyTorch's state_dict does ("rnn.weight_ih_l0"), switches train/eval mode, and moves,
// saves, loads and frees its parameters.
import { rnnlmError } from '../errors.js';
import { native } from '../native.js';
import { fromHandle, keep, type Device, type Tensor } from '../tensor.js';

export type StateDict = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

export interface LoadStateDictOptions {
  /** Require exactly the module's names (default true); false skips missing and unexpected ones. */
  strict?: boolean;
}

function isMapLike(state: StateDict): state is ReadonlyMap<string, Tensor> {
  return state instanceof Map;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export abstract class Module {
  /** Training mode (dropout active). Set with train() / eval(). */
  training = true;
  readonly #parameters = new Map<string, Tensor>();
  readonly #modules = new Map<string, Module>();

  /** Adds a parameter: it requires grad and lives outside every tidy scope. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    if (name === '' || name.includes('.')) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `parameter name '${name}' must be non-empty and contain no '.'`);
    }
    if (this.#parameters.has(name) || this.#modules.has(name)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `'${name}' is already registered`);
    }
    keep(t);
    t.requiresGrad = true;
    this.#parameters.set(name, t);
    return t;
  }

  /** Adds a submodule, whose parameters are named "<name>.<its names>". */
  protected registerModule<M extends Module>(name: string, module: M): M {
    if (name === '' || name.includes('.')) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `module name '${name}' must be non-empty and contain no '.'`);
    }
    if (this.#parameters.has(name) || this.#modules.has(name)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `'${name}' is already registered`);
    }
    this.#modules.set(name, module);
    return module;
  }

  /** The parameter registered under `name` on this module. */
  protected param(name: string): Tensor {
    const t = this.#parameters.get(name);
    if (t === undefined) throw rnnlmError('ERR_RNNLM_ARGUMENT', `no parameter '${name}'`);
    return t;
  }

  /**
   * Every (name, parameter), shared ones under each of their names: this module's own first,
   * then each submodule's in registration order (PyTorch's state_dict order).
   */
  protected *entries(prefix = ''): Generator<[string, Tensor]> {
    for (const [name, t] of this.#parameters) yield [prefix + name, t];
    for (const [name, m] of this.#modules) yield* m.entries(`${prefix}${name}.`);
  }

  /** Named parameters, each tensor once (a shared parameter under its first name). */
  namedParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [name, t] of this.entries()) {
      if (seen.has(t)) continue;
      seen.add(t);
      out.push([name, t]);
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Direct submodules with their names. */
  namedChildren(): [string, Module][] {
    return [...this.#modules];
  }

  /** Total number of parameter elements. */
  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.numel, 0);
  }

  train(mode = true): this {
    this.training = mode;
    for (const m of this.#modules.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * The parameters by PyTorch state_dict name (shared ones under each name). These are the live
   * tensors, not copies: read or save them, do not dispose them.
   */
  stateDict(): Map<string, Tensor> {
    return new Map(this.entries());
  }

  /**
   * Copies values into the parameters (moving them to each parameter's device), after checking
   * every name and shape. With strict (default) missing or unexpected names are errors.
   * Returns the names that were missing and unexpected.
   */
  loadStateDict(state: StateDict, options: LoadStateDictOptions = {}): { missing: string[]; unexpected: string[] } {
    const strict = options.strict ?? true;
    const incoming = new Map<string, Tensor>(isMapLike(state) ? state.entries() : Object.entries(state));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !incoming.has(k));
    const unexpected = [...incoming.keys()].filter((k) => !own.has(k));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`missing: ${missing.join(', ')}`);
      if (unexpected.length > 0) parts.push(`unexpected: ${unexpected.join(', ')}`);
      throw rnnlmError('ERR_RNNLM_STATE', `loadStateDict: names do not match (${parts.join('; ')})`);
    }
    // Validate everything before changing anything, so a failed load leaves the module intact.
    for (const [name, target] of own) {
      const source = incoming.get(name);
      if (source === undefined) continue;
      if (source.isDisposed) throw rnnlmError('ERR_RNNLM_DISPOSED', `loadStateDict: '${name}' is disposed`);
      if (source.dtype !== target.dtype) {
        throw rnnlmError('ERR_RNNLM_DTYPE', `loadStateDict: '${name}' is ${source.dtype}, expected ${target.dtype}`);
      }
      if (source.shape.length !== target.shape.length || source.shape.some((d, i) => d !== target.shape[i])) {
        throw rnnlmError(
          'ERR_RNNLM_SHAPE',
          `loadStateDict: '${name}' has shape ${shapeText(source.shape)}, expected ${shapeText(target.shape)}`,
        );
      }
    }
    const done = new Set<Tensor>();
    for (const [name, target] of own) {
      const source = incoming.get(name);
      if (source === undefined || done.has(target)) continue;
      done.add(target);
      const h = source.device === target.device ? native().clone(source._native()) : native().toDevice(source._native(), target.device);
      target._assignFrom(fromHandle(h, target.shape));
    }
    return { missing, unexpected };
  }

  /** Moves every parameter to `device` in place (the parameter objects stay the same). */
  to(device: Device): this {
    for (const t of this.parameters()) {
      if (t.device === device) continue;
      t._assignFrom(fromHandle(native().toDevice(t._native(), device), t.shape));
    }
    return this;
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const t of this.parameters()) {
      t.grad?.dispose();
      t.grad = null;
    }
  }

  /** Frees every parameter (and gradient) of this module and its submodules. */
  dispose(): void {
    for (const [, t] of this.entries()) t.dispose();
  }
}
