// An optimizer's state as a trainer checkpoint holds it: a JSON record (name, hyperparameters,
// per-parameter step counts) in trainer.json and its moment buffers in optimizer.safetensors
// under `optimizer.<parameter index>.<buffer>`. Shared by every trainer that resumes exactly.
import type { SafeTensor } from '../io/safetensors.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';

/** The JSON half of an optimizer's state. */
export interface SavedOptimizer {
  name: string;
  hyperparameters: Record<string, number | boolean>;
  /** Per parameter, in order: its step count, or null when never updated. */
  steps: (number | null)[];
}

const PREFIX = 'optimizer.';

/**
 * The record and the live buffers (save them, do not dispose) of `optimizer`; the buffers are
 * added to `tensors`.
 */
export function snapshotOptimizer(optimizer: Optimizer, tensors: Map<string, Tensor>): SavedOptimizer {
  const dict = optimizer.stateDict();
  dict.state.forEach((s, i) => {
    if (s !== null) for (const [name, t] of Object.entries(s.buffers)) tensors.set(`${PREFIX}${i}.${name}`, t);
  });
  return { name: dict.optimizer, hyperparameters: { ...dict.hyperparameters }, steps: dict.state.map((s) => (s === null ? null : s.step)) };
}

/** Whether `value` has the shape of a SavedOptimizer (its contents are checked by loadStateDict). */
export function isSavedOptimizer(value: unknown): value is SavedOptimizer {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && Array.isArray(v.steps) && typeof v.hyperparameters === 'object' && v.hyperparameters !== null;
}

/**
 * The state dict to load into the optimizer; `make` turns a saved buffer into a tensor on the
 * right device (the caller owns and disposes what it makes once loadStateDict has copied it).
 */
export function optimizerStateDict(saved: SavedOptimizer, tensors: ReadonlyMap<string, SafeTensor>, make: (t: SafeTensor, name: string) => Tensor): OptimizerStateDict {
  return {
    optimizer: saved.name,
    hyperparameters: saved.hyperparameters,
    state: saved.steps.map((step, i) => {
      if (step === null) return null;
      const buffers: Record<string, Tensor> = {};
      const prefix = `${PREFIX}${i}.`;
      for (const [name, t] of tensors) if (name.startsWith(prefix)) buffers[name.slice(prefix.length)] = make(t, name);
      return { step, buffers };
    }),
  };
}
