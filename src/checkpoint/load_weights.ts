// Puts a checkpoint's (already validated) weights into a freshly built model, moves it to the
// device and switches it to eval mode; a failure frees the model. Shared by every model loader.
import type { SafeTensor } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { tidy, type Device, type Tensor } from '../tensor.js';
import { fromSafeTensor } from './tensors.js';

export function loadWeightsInto<M extends Module>(model: M, weights: ReadonlyMap<string, SafeTensor>, source: string, device: Device | undefined): M {
  try {
    tidy(() => {
      const state = new Map<string, Tensor>();
      for (const [name, t] of weights) state.set(name, fromSafeTensor(t, `${source}: '${name}'`));
      model.loadStateDict(state);
    });
    if (device !== undefined && device !== 'cpu') model.to(device);
  } catch (error) {
    model.dispose();
    throw error;
  }
  model.eval();
  return model;
}
