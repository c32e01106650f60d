// Differentiable ops the sentence VAE uses: exp (the reparameterisation's standard deviation),
// the Gaussian KL term (core/ops.h), and decodeScan, autoregressive decoding (ops/decode/decode_op.h):
// a stacked decoder run step by step inside one engine call, feeding each step its own previous
// prediction or (with probability teacherRatio) the true word. Its backward treats the ids that
// were fed as constants, as PyTorch's autograd does when a model feeds back an argmax.
import { needsGrad, record, type BackwardFn } from './autograd.js';
import { rnnlmError } from './errors.js';
import type { RnnLayerWeights } from './functional.js';
import {
  native,
  type CellKind,
  type NativeDecodeForward,
  type NativeDecodeSpec,
  type NativeDecodeWeights,
  type NativeTensor,
} from './native.js';
import { defaultGenerator, type Generator } from './random.js';
import { Tensor, fromHandle, handleOf } from './tensor.js';

function h(t: Tensor): NativeTensor {
  return handleOf(t, 'rnnlm op');
}

/** e^x element-wise; the gradient is g * e^x. */
export function exp(x: Tensor): Tensor {
  const y = fromHandle(native().exp(h(x)), x.shape);
  if (needsGrad(x)) {
    record('exp', [x], [y], (node) => {
      const sy = node.save(y);
      return ([g]) => [fromHandle(native().mul(h(g!), h(sy)), sy.shape)];
    });
  }
  return y;
}

/**
 * KL(N(mean, e^logv) || N(0, I)) of every row: mean, logv (B, Z) -> (B),
 * -0.5 * sum_j (1 + logv - mean^2 - e^logv).
 */
export function gaussianKl(mean: Tensor, logv: Tensor): Tensor {
  const kl = fromHandle(native().gaussianKl(h(mean), h(logv)));
  if (needsGrad(mean, logv)) {
    record('gaussianKl', [mean, logv], [kl], (node) => {
      const sm = node.save(mean);
      const sl = node.save(logv);
      return ([g]) => {
        const r = native().gaussianKlBackward(h(sm), h(sl), h(g!));
        return [fromHandle(r.dmean, sm.shape), fromHandle(r.dlogv, sl.shape)];
      };
    });
  }
  return kl;
}

export interface DecodeWeights {
  /** (V, E) */
  embedding: Tensor;
  /** One entry per stacked unidirectional layer (PyTorch shapes). */
  layers: readonly RnnLayerWeights[];
  /** (V, H) and (V): the projection onto the embedding's vocabulary. */
  outW: Tensor;
  outB?: Tensor | null;
}

export interface DecodeScanOptions {
  cell: CellKind;
  fused?: boolean;
  /** Probability that a row at step t >= 1 reads the true word (default 0: always its own prediction). */
  teacherRatio?: number;
  /** 0 (default): argmax predictions; > 0: draws from softmax(logits / temperature). */
  temperature?: number;
  /** Source of the Philox stream of the teacher choices and the draws (one draw per call). */
  generator?: Generator;
  /** Stop once every sequence has predicted this id (inference); the results then cover fewer steps. */
  stopId?: number | null;
  /** Initial states per layer, (B, H) in packed order; null entries (or none) are zeros. */
  h0?: readonly (Tensor | null)[] | null;
  /** LSTM initial cell states per layer, like h0. */
  c0?: readonly (Tensor | null)[] | null;
  /** (N, E) multiplier of the embedded inputs (an embedding-dropout mask), or null. */
  inputMask?: Tensor | null;
}

export interface DecodeScanResult {
  /** (N', V) logits of every packed row that ran (differentiable). */
  logits: Tensor;
  /** (N') int32: the model's pick at every packed row (its prediction of the next word). */
  predicted: Tensor;
  /** (N') int32: the id each packed row read. */
  inputs: Tensor;
  /** The steps that ran: batchSizes, or a prefix of it when stopId stopped early. */
  batchSizes: Int32Array;
}

interface DecodeSaved {
  weights: NativeDecodeWeights;
  h0: (NativeTensor | null)[] | null;
  c0: (NativeTensor | null)[] | null;
  mask: NativeTensor | null;
  forward: Pick<NativeDecodeForward, 'batchSizes' | 'inputs' | 'x' | 'layers'>;
}

// Built at top level so that the closure holds the saved handles only (see rnnLayerBackward).
function decodeBackward(spec: NativeDecodeSpec, s: DecodeSaved, layers: number, hasBias: boolean, hasOutBias: boolean): BackwardFn {
  return ([g]) => {
    const r = native().autoregressiveDecodeBackward({ ...spec, batchSizes: s.forward.batchSizes }, s.weights, s.h0, s.c0, s.mask, s.forward, h(g!));
    const w = (t: NativeTensor | null): Tensor | null => (t !== null ? fromHandle(t) : null);
    // Inputs: embedding, per layer (wIh, wHh[, bIh, bHh]), outW[, outB], h0 x L, c0 x L.
    const out: (Tensor | null)[] = [fromHandle(r.dEmbedding)];
    for (const lg of r.layers) {
      out.push(fromHandle(lg.dwIh), fromHandle(lg.dwHh));
      if (hasBias) out.push(w(lg.dbIh), w(lg.dbHh));
      else {
        lg.dbIh?.dispose();
        lg.dbHh?.dispose();
      }
    }
    out.push(fromHandle(r.dOutW));
    if (hasOutBias) out.push(w(r.dOutB));
    for (const lg of r.layers) out.push(fromHandle(lg.dh0));
    for (let l = 0; l < layers; l++) {
      const dc0 = r.layers[l]!.dc0;
      out.push(w(dc0));
    }
    return out;
  };
}

/**
 * Runs a stacked unidirectional recurrent decoder step by step over a packed batch, in one
 * engine call: at every step each row reads an id (step 0: `inputs`; later steps: the true word
 * `inputs` with probability teacherRatio, else its own previous prediction), embeds it (times
 * inputMask), runs the layers and projects onto the vocabulary. `inputs` (N) int32 is packed as
 * `batchSizes` says (sequences sorted by decreasing length).
 */
export function decodeScan(
  inputs: Tensor,
  batchSizes: Int32Array | readonly number[],
  weights: DecodeWeights,
  options: DecodeScanOptions,
): DecodeScanResult {
  if (weights.layers.length === 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'decodeScan: the decoder needs at least one layer');
  const teacherRatio = options.teacherRatio ?? 0;
  const temperature = options.temperature ?? 0;
  const { seed, offset } = (options.generator ?? defaultGenerator).next();
  const spec: NativeDecodeSpec = {
    cell: options.cell,
    fused: options.fused ?? true,
    batchSizes: Int32Array.from(batchSizes),
    teacherRatio,
    temperature,
    seed,
    offset,
    stopId: options.stopId ?? -1,
  };
  const hasBias = weights.layers.every((l) => (l.bIh ?? null) !== null);
  const outB = weights.outB ?? null;
  const nw: NativeDecodeWeights = {
    embedding: h(weights.embedding),
    layers: weights.layers.map((l) => ({
      wIh: h(l.wIh),
      wHh: h(l.wHh),
      bIh: l.bIh != null ? h(l.bIh) : null,
      bHh: l.bHh != null ? h(l.bHh) : null,
    })),
    outW: h(weights.outW),
    outB: outB !== null ? h(outB) : null,
  };
  const states = (list: readonly (Tensor | null)[] | null | undefined): (NativeTensor | null)[] | null =>
    list == null || list.length === 0 ? null : list.map((t) => (t !== null ? h(t) : null));
  const mask = options.inputMask ?? null;
  const f = native().autoregressiveDecodeForward(spec, h(inputs), nw, states(options.h0), states(options.c0), mask !== null ? h(mask) : null);
  const logits = fromHandle(f.logits);
  const predicted = fromHandle(f.predicted);
  const read = fromHandle(f.inputs);
  const x = fromHandle(f.x);
  const layerTensors = f.layers.map((l) => ({
    y: fromHandle(l.y),
    hN: fromHandle(l.hN),
    cN: l.cN !== null ? fromHandle(l.cN) : null,
    workspace: fromHandle(l.workspace),
  }));
  const L = weights.layers.length;
  const pad = (list: readonly (Tensor | null)[] | null | undefined): (Tensor | null)[] =>
    Array.from({ length: L }, (_, l) => list?.[l] ?? null);
  const inputsList: (Tensor | null)[] = [weights.embedding];
  for (const l of weights.layers) {
    inputsList.push(l.wIh, l.wHh);
    if (hasBias) inputsList.push(l.bIh ?? null, l.bHh ?? null);
  }
  inputsList.push(weights.outW);
  if (outB !== null) inputsList.push(outB);
  inputsList.push(...pad(options.h0), ...pad(options.c0));
  if (needsGrad(...inputsList)) {
    record('decodeScan', inputsList, [logits], (node) => {
      const keepHandle = (t: Tensor): NativeTensor => h(node.save(t));
      const own = (t: Tensor): NativeTensor => h(node.adopt(t));
      const saved: DecodeSaved = {
        weights: {
          embedding: keepHandle(weights.embedding),
          layers: weights.layers.map((l) => ({
            wIh: keepHandle(l.wIh),
            wHh: keepHandle(l.wHh),
            bIh: l.bIh != null ? keepHandle(l.bIh) : null,
            bHh: l.bHh != null ? keepHandle(l.bHh) : null,
          })),
          outW: keepHandle(weights.outW),
          outB: outB !== null ? keepHandle(outB) : null,
        },
        h0: options.h0 == null || options.h0.length === 0 ? null : options.h0.map((t) => (t !== null ? keepHandle(t) : null)),
        c0: options.c0 == null || options.c0.length === 0 ? null : options.c0.map((t) => (t !== null ? keepHandle(t) : null)),
        mask: mask !== null ? keepHandle(mask) : null,
        forward: {
          batchSizes: f.batchSizes,
          inputs: keepHandle(read),
          x: own(x),
          layers: layerTensors.map((l) => ({
            y: own(l.y),
            hN: own(l.hN),
            cN: l.cN !== null ? own(l.cN) : null,
            workspace: own(l.workspace),
          })),
        },
      };
      return decodeBackward(spec, saved, L, hasBias, outB !== null);
    });
  } else {
    x.dispose();
    for (const l of layerTensors) {
      l.y.dispose();
      l.hN.dispose();
      l.cN?.dispose();
      l.workspace.dispose();
    }
  }
  return { logits, predicted, inputs: read, batchSizes: f.batchSizes };
}
