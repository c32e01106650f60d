// Greedy continuation of a language model through the engine's autoregressive decode op
// (decodeScan): the prime runs through the model in one chunk and its last row's argmax is the
// first token; one engine call then decodes the rest, every step feeding back its own argmax.
// Each step is the same embedding, one-step recurrent layers and output projection that a
// step-by-step model.forward runs, so the ids are exactly those of picking the argmax per step.
import { noGrad } from '../autograd.js';
import { decodeScan } from '../functional_vae.js';
import * as F from '../functional.js';
import type { LanguageModel } from '../models/language_model.js';
import { hasUnfusedCells } from '../nn/cell_path.js';
import { Generator } from '../random.js';
import { fromInt32Array, tidy, type Tensor } from '../tensor.js';
import { argmaxId } from './pick.js';

/** `length` greedy token ids after `prime` (non-empty ids); the model should be in eval mode. */
export function greedyContinuation(model: LanguageModel, prime: readonly number[], length: number): number[] {
  if (length === 0) return [];
  return noGrad(() =>
    tidy(() => {
      const device = model.embedding.weight.device;
      const { layers, hidden, vocabSize } = model.config;
      const out = model.forward(fromInt32Array(Int32Array.from(prime), [prime.length, 1], { device }), null);
      const all = out.logits.toFloat32Array();
      const first = argmaxId(all.subarray(all.length - vocabSize));
      const steps = length - 1;
      if (steps === 0) return [first];
      // The prime's final state, (L, 1, H), as one (1, H) state per layer.
      const perLayer = (state: Tensor | null): Tensor[] | null =>
        state === null ? null : Array.from({ length: layers }, (_, l) => F.sliceRows(F.reshape(state, [layers, hidden]), l, 1));
      // Only step 0 reads its input; later steps read their own picks (no teacher forcing).
      const inputs = fromInt32Array(new Int32Array(steps).fill(first), [steps], { device });
      const decoded = decodeScan(
        inputs,
        new Int32Array(steps).fill(1),
        {
          embedding: model.embedding.weight,
          layers: Array.from({ length: layers }, (_, l) => model.rnn.layerWeights(l, 0)),
          outW: model.decoder.weight,
          outB: model.decoder.bias,
        },
        // Argmax draws nothing; a private generator keeps the global stream where it was.
        { cell: model.rnn.mode, fused: !hasUnfusedCells(model.rnn), h0: perLayer(out.state.h), c0: perLayer(out.state.c), generator: new Generator(0) },
      );
      return [first, ...decoded.predicted.toInt32Array()];
    }),
  );
}
