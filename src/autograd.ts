// A coarse-grained autograd tape: one GradNode per op call (a whole recurrent layer over a whole
// packed batch is one node), possibly with several outputs. Nodes hold their own handles on the
// tensors backward needs, so disposing (or tidying away) the tensors a user saw never breaks a
// later backward; and they are reference counted (by their live outputs and by the nodes that
// consume them), so a graph nobody can reach any more frees its saved tensors at once.
//
// backward() walks the reachable nodes in dependency order (Kahn's algorithm), frees each node's
// saved tensors and its incoming gradients as soon as the node has run, and accumulates into the
// `.grad` of leaves that require grad. Memory therefore stays flat across training steps.
import { rnnlmError } from './errors.js';
import { native } from './native.js';
import { Tensor, fromHandle, keep, tidy, full, installTensorMethods } from './tensor.js';

let gradEnabled = true;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording the graph (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Runs `fn` with recording on, even inside noGrad(). */
export function enableGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** True when recording is on and some input requires grad. */
export function needsGrad(...inputs: readonly (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t != null && t.requiresGrad) return true;
  return false;
}

// Only record() sets a tensor's node, and always to a GradNode.
function nodeOf(t: Tensor): GradNode | null {
  return t._node as GradNode | null;
}

type Edge = { readonly node: GradNode; readonly index: number } | { readonly leaf: Tensor } | null;

/**
 * Gradients of the node's inputs (one entry per input, null where none flows) from gradients
 * of its outputs (null where nothing flowed back). Each returned tensor must own its storage:
 * freshly computed, one of `grads` (which the node may also modify in place), or a view of one.
 * Never return a saved tensor itself; take() it first.
 */
export type BackwardFn = (grads: readonly (Tensor | null)[]) => readonly (Tensor | null | undefined)[];

type NodeState = 'live' | 'consumed' | 'released';

export class GradNode {
  readonly name: string;
  readonly numOutputs: number;
  #edges: Edge[];
  #saved: Tensor[] = [];
  #backward: BackwardFn | null = null;
  #refs = 0;
  #state: NodeState = 'live';

  /** @internal Use record(). */
  constructor(name: string, inputs: readonly (Tensor | null | undefined)[], numOutputs: number) {
    this.name = name;
    this.numOutputs = numOutputs;
    this.#edges = inputs.map((t): Edge => {
      if (t == null) return null;
      const node = nodeOf(t);
      if (node !== null) {
        node.retain();
        return { node, index: t._outputIndex };
      }
      return t.requiresGrad ? { leaf: t } : null;
    });
  }

  /** Whether input `i` wants a gradient (skip computing the others). */
  needsInputGrad(i: number): boolean {
    return this.#edges[i] != null;
  }

  /** Keeps a handle on `t` (sharing its storage) until the node has run or is released. */
  save(t: Tensor): Tensor {
    const alias = keep(new Tensor(t._native().reshape(t.shape), t.shape));
    this.#saved.push(alias);
    return alias;
  }

  /** Like save(), for a tensor created only to be saved: the node takes ownership of `t`. */
  adopt(t: Tensor): Tensor {
    keep(t);
    this.#saved.push(t);
    return t;
  }

  /** Removes a saved tensor from the node's care; the caller now owns it (backward only). */
  take(t: Tensor): Tensor {
    const i = this.#saved.indexOf(t);
    if (i < 0) throw rnnlmError('ERR_RNNLM_INTERNAL', `${this.name}: take() of a tensor the node did not save`);
    this.#saved.splice(i, 1);
    return t;
  }

  /** @internal */
  setBackward(fn: BackwardFn): void {
    this.#backward = fn;
  }

  /** @internal One more holder (an output tensor, a consuming node, a running backward). */
  retain(): void {
    this.#refs += 1;
  }

  /** @internal One holder fewer; the last one frees everything the node holds. */
  release(): void {
    this.#refs -= 1;
    if (this.#refs > 0 || this.#state === 'released') return;
    this.#state = 'released';
    this.freeSaved();
    this.dropEdges();
  }

  /** @internal The node's input edges, for the backward walk. */
  get edges(): readonly Edge[] {
    return this.#edges;
  }

  /** @internal */
  get consumed(): boolean {
    return this.#state !== 'live';
  }

  /** @internal Runs the node's backward once, then frees what it saved. */
  run(grads: readonly (Tensor | null)[]): (Tensor | null)[] {
    if (this.#state !== 'live') {
      throw rnnlmError(
        'ERR_RNNLM_AUTOGRAD',
        `backward through ${this.name} a second time: its saved tensors were freed by the first backward`,
      );
    }
    const fn = this.#backward;
    let out: readonly (Tensor | null | undefined)[] = [];
    try {
      if (fn !== null && grads.some((g) => g !== null)) {
        // Temporaries of the backward function are disposed by the scope; what it returns
        // survives (and is then owned by the walk).
        out = tidy(() => noGrad(() => fn(grads)));
      }
    } finally {
      this.#state = 'consumed';
      this.#backward = null;
      this.freeSaved();
    }
    return this.#edges.map((_, i) => out[i] ?? null);
  }

  /** @internal Drops the references to input nodes (after the walk has routed gradients). */
  dropEdges(): void {
    const edges = this.#edges;
    this.#edges = [];
    for (const e of edges) if (e !== null && 'node' in e) e.node.release();
  }

  private freeSaved(): void {
    for (const t of this.#saved) t.dispose();
    this.#saved = [];
  }
}

/**
 * Records one op call: `build` receives the new node (to save tensors and query which inputs
 * want gradients) and returns its backward function. Call only when needsGrad(...inputs).
 * `outputs` may contain null for absent outputs (e.g. cN of a GRU).
 */
export function record(
  name: string,
  inputs: readonly (Tensor | null | undefined)[],
  outputs: readonly (Tensor | null)[],
  build: (node: GradNode) => BackwardFn,
): GradNode {
  const node = new GradNode(name, inputs, outputs.length);
  try {
    node.setBackward(build(node));
  } catch (error) {
    // Nothing holds the half-built node: let it free what it saved and its input references.
    node.retain();
    node.release();
    throw error;
  }
  outputs.forEach((t, i) => {
    if (t !== null) t._setNode(node, i);
  });
  return node;
}

// --- the backward walk ----------------------------------------------------------------------

function cloneOwned(t: Tensor): Tensor {
  const copy = fromHandle(native().clone(t._native()), t.shape);
  copy._scalarHint = t._scalarHint;
  return copy;
}

// Adds `g` into slot `existing` (both owned by the walk); returns the slot's new tensor.
function accumulate(existing: Tensor | null, g: Tensor): Tensor {
  if (existing === null) return g;
  native().add_(existing._native(), g._native(), 1);
  existing._scalarHint =
    existing._scalarHint !== undefined && g._scalarHint !== undefined ? existing._scalarHint + g._scalarHint : undefined;
  g.dispose();
  return existing;
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.isDisposed) {
    // Nobody can read the gradient of a disposed tensor.
    g.dispose();
    return;
  }
  if (leaf.grad === null || leaf.grad.isDisposed) {
    g._scalarHint = undefined;
    leaf.grad = keep(g);
  } else {
    native().add_(leaf.grad._native(), g._native(), 1);
    g.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Backpropagates from `root`: accumulates d(root)/d(leaf) (times `grad`, if given) into `.grad`
 * of every leaf that requires grad, then frees the graph behind `root`.
 */
export function backward(root: Tensor, grad: Tensor | null = null): void {
  if (root.isDisposed) throw rnnlmError('ERR_RNNLM_DISPOSED', 'backward() of a disposed tensor');
  if (!root.requiresGrad) {
    throw rnnlmError('ERR_RNNLM_AUTOGRAD', 'backward() of a tensor that does not require grad (no input had requiresGrad)');
  }
  let seed: Tensor;
  if (grad !== null) {
    if (!sameShape(grad.shape, root.shape)) {
      throw rnnlmError(
        'ERR_RNNLM_SHAPE',
        `backward(): grad has shape [${grad.shape.join(', ')}] but the tensor has [${root.shape.join(', ')}]`,
      );
    }
    seed = keep(cloneOwned(grad));
  } else {
    if (root.numel !== 1) {
      throw rnnlmError(
        'ERR_RNNLM_AUTOGRAD',
        `backward() without a grad needs a one-element tensor, got shape [${root.shape.join(', ')}]`,
      );
    }
    seed = keep(full(root.shape, 1, { device: root.device }));
    seed._scalarHint = 1;
  }

  const rootNode = nodeOf(root);
  if (rootNode === null) {
    accumulateLeaf(root, seed);
    return;
  }

  // Dependencies: how many edges from reachable nodes point at each node.
  const deps = new Map<GradNode, number>([[rootNode, 0]]);
  const stack: GradNode[] = [rootNode];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.consumed) {
      seed.dispose();
      throw rnnlmError(
        'ERR_RNNLM_AUTOGRAD',
        `backward through ${node.name} a second time: its saved tensors were freed by the first backward`,
      );
    }
    for (const e of node.edges) {
      if (e === null || !('node' in e)) continue;
      const count = deps.get(e.node);
      if (count === undefined) {
        deps.set(e.node, 1);
        stack.push(e.node);
      } else {
        deps.set(e.node, count + 1);
      }
    }
  }
  // Hold every reachable node until the walk is done, so that dropping edges on the way never
  // frees a node that still has to run.
  for (const node of deps.keys()) node.retain();

  const buffers = new Map<GradNode, (Tensor | null)[]>();
  const rootSlots: (Tensor | null)[] = new Array<Tensor | null>(rootNode.numOutputs).fill(null);
  rootSlots[root._outputIndex] = seed;
  buffers.set(rootNode, rootSlots);
  const ready: GradNode[] = [rootNode];
  try {
    while (ready.length > 0) {
      const node = ready.pop()!;
      const grads = buffers.get(node) ?? new Array<Tensor | null>(node.numOutputs).fill(null);
      buffers.delete(node);
      let inputGrads: (Tensor | null)[] = [];
      try {
        inputGrads = node.run(grads);
      } finally {
        // The node's incoming gradients are spent, except those it passed through as results.
        for (const g of grads) if (g !== null && !inputGrads.includes(g)) g.dispose();
      }
      const edges = node.edges;
      const routed = new Set<Tensor>();
      for (let i = 0; i < edges.length; i++) {
        const e = edges[i] ?? null;
        let g = inputGrads[i] ?? null;
        if (e === null) continue;
        if (g !== null) {
          // The same tensor returned for two inputs (e.g. add): each slot must own its storage,
          // and a slot may consume what it is given, so the copies go out before the original.
          const original = g;
          const usedLater = inputGrads.some((h, j) => j > i && h === original && (edges[j] ?? null) !== null);
          if (usedLater) g = cloneOwned(original);
          else routed.add(original);
          if ('leaf' in e) {
            accumulateLeaf(e.leaf, g);
          } else {
            let slots = buffers.get(e.node);
            if (slots === undefined) {
              slots = new Array<Tensor | null>(e.node.numOutputs).fill(null);
              buffers.set(e.node, slots);
            }
            slots[e.index] = accumulate(slots[e.index] ?? null, keep(g));
          }
        }
        if ('node' in e) {
          const left = deps.get(e.node)! - 1;
          deps.set(e.node, left);
          if (left === 0) ready.push(e.node);
        }
      }
      // Gradients for inputs that wanted none (edges[i] === null) are not needed.
      for (const g of inputGrads) if (g !== null && !routed.has(g)) g.dispose();
      node.dropEdges();
    }
  } finally {
    for (const slots of buffers.values()) for (const g of slots) g?.dispose();
    for (const node of deps.keys()) node.release();
  }
}

installTensorMethods({ backward });
