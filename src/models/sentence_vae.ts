// SentenceVAE: the variational recurrent autoencoder of Bowman et al. 2016, "Generating
// Sentences from a Continuous Space", laid out as the PyTorch reference (timbmg/Sentence-VAE) so
// that state_dict names match: embedding, encoder_rnn, decoder_rnn, hidden2mean, hidden2logv,
// latent2hidden, outputs2vocab.
//
// A sentence w_1..w_n is read as <sos> w_1..w_n and predicts w_1..w_n <eos>. The encoder (any
// cell, L layers, optionally bidirectional) reads the packed batch; the final hidden state of
// every layer and direction of each sentence, at that sentence's own length, is flattened
// batch-major into (B, L*D*H), so that sentences never mix (the reference's view() of the
// (L*D, B, H) state does mix them when L*D > 1). hidden2mean / hidden2logv give q(z|x) =
// N(mean, e^logv); z = mean + e^(logv/2) eps. latent2hidden maps z to the decoder's initial
// hidden state (B, L*H), layer l in columns [l*H, (l+1)*H). The decoder is unidirectional (a
// bidirectional one would see the words it predicts), with the encoder's cell and depth. An
// LSTM decoder starts from c0 = 0 (config `lstm_c0: "zeros"`), in training and inference alike.
//
// With `decoderOnly` the model is the plain LM baseline: embedding, decoder_rnn, outputs2vocab,
// a zero initial state, and no KL term.
import { noGrad } from '../autograd.js';
import { rnnlmError } from '../errors.js';
import * as F from '../functional.js';
import * as FV from '../functional_vae.js';
import { hasUnfusedCells } from '../nn/cell_path.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { GRU, LSTM, RNN, type RNNBase } from '../nn/rnn.js';
import { packIds, type PackedSequence } from '../packed.js';
import { defaultGenerator, rand, randn, type Generator } from '../random.js';
import { fromFloat32Array, fromInt32Array, ones, tidy, zeros, type Tensor } from '../tensor.js';
import { CELL_TYPES, type CellType } from './language_model.js';

/** Ids of the four specials (the reference's: <pad> 0, <unk> 1, <sos> 2, <eos> 3). */
export interface VaeSpecials {
  pad: number;
  unk: number;
  sos: number;
  eos: number;
}

export interface SentenceVAEConfig {
  vocabSize: number;
  embedding: number;
  hidden: number;
  latent: number;
  layers: number;
  cell: CellType;
  /** Bidirectional encoder (the decoder is always unidirectional). */
  bidirectional: boolean;
  /** Probability that a decoder input word (never <sos>) becomes <unk> in training. */
  wordDropout: number;
  /** Dropout on the decoder's input embeddings in training. */
  embeddingDropout: number;
  /** Longest sequence: sentences keep maxLength - 1 words (+ <sos> / <eos>); decoding stops there. */
  maxLength: number;
  specials: VaeSpecials;
  /** The plain LM baseline: no encoder and no latent; the decoder starts from zeros. */
  decoderOnly: boolean;
}

export interface SentenceVAEOptions {
  /** Initial weights, the reparameterisation noise, word and embedding dropout (default: global). */
  generator?: Generator;
}

export type ZMode = 'sample' | 'mean';

export interface VaeForwardOptions {
  /**
   * Probability that the decoder reads the true previous word (default 1). Below 1 it reads its
   * own previous prediction otherwise, step by step inside the engine.
   */
  teacherForcing?: number;
  /** z drawn from q(z|x) (default: the ELBO estimate) or its mean. */
  z?: ZMode;
  /** Source of the noise and dropout of this call (default: the model's generator). */
  generator?: Generator;
  /**
   * The reparameterisation noise (B, Z) to use instead of drawing it: a data-parallel rank passes
   * its rows of the noise one process would draw for the whole global batch.
   */
  eps?: Tensor;
}

export interface VaeForward {
  /** 0-d: summed negative log-likelihood of every target token (w_1..w_n <eos>). */
  nll: Tensor;
  /** 0-d: summed KL(q(z|x) || N(0, I)) over the sentences (0 for the LM baseline). */
  kl: Tensor;
  /** (B, Z) in the caller's order (null for the LM baseline). */
  mean: Tensor | null;
  logv: Tensor | null;
  z: Tensor | null;
  /** Target tokens scored, and sentences. */
  tokens: number;
  sentences: number;
}

export interface DecodeOptions {
  /** 0 (default): greedy; > 0: draws from softmax(logits / temperature). */
  temperature?: number;
  generator?: Generator;
  /** Most tokens per sentence, <eos> included (default config.maxLength). */
  maxLength?: number;
}

function checkConfig(c: SentenceVAEConfig): void {
  for (const key of ['vocabSize', 'embedding', 'hidden', 'latent', 'layers'] as const) {
    const v = c[key];
    if (!Number.isInteger(v) || v < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `SentenceVAE: ${key} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(c.maxLength) || c.maxLength < 2) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `SentenceVAE: maxLength must be an integer >= 2 (a word and <eos>), got ${c.maxLength}`);
  }
  if (!CELL_TYPES.includes(c.cell)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `SentenceVAE: cell must be one of ${CELL_TYPES.join(', ')}, got '${String(c.cell)}'`);
  }
  for (const key of ['wordDropout', 'embeddingDropout'] as const) {
    const v = c[key];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw rnnlmError('ERR_RNNLM_ARGUMENT', `SentenceVAE: ${key} must be in [0, 1], got ${v}`);
  }
  if (typeof c.bidirectional !== 'boolean' || typeof c.decoderOnly !== 'boolean') {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', 'SentenceVAE: bidirectional and decoderOnly must be booleans', 'type');
  }
  const seen = new Set<number>();
  for (const name of ['pad', 'unk', 'sos', 'eos'] as const) {
    const id = c.specials?.[name];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= c.vocabSize || seen.has(id)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `SentenceVAE: specials.${name} must be a distinct token id in [0, ${c.vocabSize}), got ${String(id)}`);
    }
    seen.add(id);
  }
}

function makeRnn(cell: CellType, options: { inputSize: number; hiddenSize: number; numLayers: number; bidirectional: boolean; generator: Generator }): RNNBase {
  if (cell === 'lstm') return new LSTM(options);
  if (cell === 'gru') return new GRU(options);
  return new RNN({ ...options, nonlinearity: cell === 'rnn_relu' ? 'relu' : 'tanh' });
}

/** Sentences as the model reads them: word ids cut to maxLength - 1, with <sos> / <eos> added. */
export function sentenceSequences(
  sentences: readonly ArrayLike<number>[],
  specials: VaeSpecials,
  maxLength: number,
): { inputs: Int32Array[]; targets: Int32Array[] } {
  const inputs: Int32Array[] = [];
  const targets: Int32Array[] = [];
  for (const s of sentences) {
    const n = Math.min(s.length, maxLength - 1);
    const input = new Int32Array(n + 1);
    const target = new Int32Array(n + 1);
    input[0] = specials.sos;
    for (let i = 0; i < n; i++) {
      input[i + 1] = s[i]!;
      target[i] = s[i]!;
    }
    target[n] = specials.eos;
    inputs.push(input);
    targets.push(target);
  }
  return { inputs, targets };
}

export class SentenceVAE extends Module {
  readonly config: Readonly<SentenceVAEConfig>;
  readonly embedding: Embedding;
  readonly encoderRnn: RNNBase | null;
  readonly decoderRnn: RNNBase;
  readonly hidden2mean: Linear | null;
  readonly hidden2logv: Linear | null;
  readonly latent2hidden: Linear | null;
  readonly outputs2vocab: Linear;
  readonly #generator: Generator;

  constructor(config: SentenceVAEConfig, options: SentenceVAEOptions = {}) {
    super();
    checkConfig(config);
    this.config = Object.freeze({ ...config, specials: Object.freeze({ ...config.specials }) });
    const generator = options.generator ?? defaultGenerator;
    this.#generator = generator;
    const { vocabSize: V, embedding: E, hidden: H, latent: Z, layers: L } = config;
    // Registration order is the reference's, hence also the state_dict order.
    this.embedding = this.registerModule('embedding', new Embedding(V, E, { generator }));
    if (config.decoderOnly) {
      this.encoderRnn = null;
    } else {
      const enc = makeRnn(config.cell, { inputSize: E, hiddenSize: H, numLayers: L, bidirectional: config.bidirectional, generator });
      this.encoderRnn = this.registerModule('encoder_rnn', enc);
    }
    this.decoderRnn = this.registerModule('decoder_rnn', makeRnn(config.cell, { inputSize: E, hiddenSize: H, numLayers: L, bidirectional: false, generator }));
    if (config.decoderOnly) {
      this.hidden2mean = null;
      this.hidden2logv = null;
      this.latent2hidden = null;
    } else {
      const features = H * this.hiddenFactor;
      this.hidden2mean = this.registerModule('hidden2mean', new Linear(features, Z, { generator }));
      this.hidden2logv = this.registerModule('hidden2logv', new Linear(features, Z, { generator }));
      this.latent2hidden = this.registerModule('latent2hidden', new Linear(Z, H * L, { generator }));
    }
    this.outputs2vocab = this.registerModule('outputs2vocab', new Linear(H, V, { generator }));
  }

  /** (2 if bidirectional else 1) * layers: the encoder states flattened per sentence. */
  get hiddenFactor(): number {
    return (this.config.bidirectional ? 2 : 1) * this.config.layers;
  }

  get device(): 'cpu' | 'cuda' {
    return this.embedding.weight.device;
  }

  /**
   * The encoder's final states of packed int32 ids (N) flattened per sentence: (B, L*D*H) in the
   * caller's order, row b = [layer 0 forward, layer 0 reverse, layer 1 forward, ...] of sentence b.
   */
  encoderFeatures(ids: PackedSequence): Tensor {
    const enc = this.requireEncoder('encoderFeatures');
    return tidy(() => {
      const emb = this.embedding.forward(ids.data); // (N, E)
      const { hN } = enc.forward(ids.withData(emb)); // (L*D, B, H), caller order
      return flattenStates(hN);
    });
  }

  /** q(z|x) of sentences (word ids, no specials): mean and logv (B, Z) in the given order. */
  encode(sentences: readonly ArrayLike<number>[]): { mean: Tensor; logv: Tensor } {
    this.requireEncoder('encode');
    const { inputs } = sentenceSequences(sentences, this.config.specials, this.config.maxLength);
    const packed = packIds(inputs, { device: this.device });
    try {
      return tidy(() => {
        const hidden = this.encoderFeatures(packed);
        return { mean: this.hidden2mean!.forward(hidden), logv: this.hidden2logv!.forward(hidden) };
      });
    } finally {
      packed.dispose();
    }
  }

  /** The decoder's initial hidden state per layer, (B, H) each, in the order of z's rows. */
  initialStates(z: Tensor): Tensor[] {
    const l2h = this.latent2hidden;
    if (l2h === null) throw rnnlmError('ERR_RNNLM_STATE', 'initialStates: the LM baseline has no latent code');
    return tidy(() => {
      const hid = l2h.forward(z); // (B, L*H)
      const H = this.config.hidden;
      if (this.config.layers === 1) return [hid];
      return Array.from({ length: this.config.layers }, (_, l) => F.sliceCols(hid, l * H, H));
    });
  }

  /**
   * Scores sentences (word ids without specials, any lengths >= 0; longer ones are cut to
   * maxLength - 1 words). In training mode word dropout and embedding dropout apply.
   */
  forward(sentences: readonly ArrayLike<number>[], options: VaeForwardOptions = {}): VaeForward {
    if (sentences.length === 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'SentenceVAE.forward: no sentences');
    const ratio = options.teacherForcing ?? 1;
    if (!(ratio >= 0 && ratio <= 1)) throw rnnlmError('ERR_RNNLM_ARGUMENT', `teacherForcing must be in [0, 1], got ${ratio}`);
    const c = this.config;
    const device = this.device;
    const { inputs, targets } = sentenceSequences(sentences, c.specials, c.maxLength);
    const batch = inputs.length;
    const tokens = targets.reduce((n, t) => n + t.length, 0);
    const generator = options.generator ?? this.#generator;
    const decoderInputs = this.training && c.wordDropout > 0 ? this.#wordDropout(inputs, generator) : inputs;
    const packedIn = packIds(inputs, { device });
    const packedDec = packIds(decoderInputs, { device });
    const packedTgt = packIds(targets, { device });
    try {
      return tidy(() => {
        let mean: Tensor | null = null;
        let logv: Tensor | null = null;
        let z: Tensor | null = null;
        let h0: Tensor[] | null = null;
        let kl: Tensor;
        if (!c.decoderOnly) {
          const hidden = this.encoderFeatures(packedIn);
          mean = this.hidden2mean!.forward(hidden);
          logv = this.hidden2logv!.forward(hidden);
          if (options.z === 'mean') {
            z = F.reshape(mean, mean.shape);
          } else {
            if (options.eps !== undefined && (options.eps.ndim !== 2 || options.eps.shape[0] !== batch || options.eps.shape[1] !== c.latent)) {
              throw rnnlmError('ERR_RNNLM_SHAPE', `SentenceVAE: eps must be (${batch}, ${c.latent}), got [${options.eps.shape.join(', ')}]`);
            }
            const eps = options.eps ?? randn([batch, c.latent], { generator, device });
            // The noise term comes first: autograd's walk (autograd.ts) disposes add's shared
            // gradient when it accumulates it into a slot that already holds one (mean's, from
            // the KL term) before cloning it for the other input.
            z = F.add(F.mul(FV.exp(F.scale(logv, 0.5)), eps), mean);
          }
          kl = F.sumAll(FV.gaussianKl(mean, logv));
          h0 = this.initialStates(z);
        } else {
          kl = zeros([], { device });
        }
        const logits = ratio >= 1 ? this.#teacherForced(packedDec, h0, generator) : this.#stepwise(packedDec, h0, ratio, generator);
        const { loss: nll } = F.softmaxNll(logits, packedTgt.data, { ignoreIndex: c.specials.pad, reduction: 'sum' });
        return { nll, kl, mean, logv, z, tokens, sentences: batch };
      });
    } finally {
      packedIn.dispose();
      packedDec.dispose();
      packedTgt.dispose();
    }
  }

  /** Greedy (or tempered) decoding from latent codes z (B, Z): word ids per row, <eos> excluded. */
  decodeLatent(z: Tensor | null, options: DecodeOptions & { count?: number } = {}): number[][] {
    const c = this.config;
    const maxLength = options.maxLength ?? c.maxLength;
    if (!Number.isInteger(maxLength) || maxLength < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `maxLength must be a positive integer, got ${maxLength}`);
    const temperature = options.temperature ?? 0;
    if (!Number.isFinite(temperature) || temperature < 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `temperature must be >= 0 (0: greedy), got ${temperature}`);
    const batch = z !== null ? z.shape[0]! : (options.count ?? 0);
    if (!Number.isInteger(batch) || batch < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'decodeLatent: nothing to decode');
    if (z !== null && (z.ndim !== 2 || z.shape[1] !== c.latent)) {
      throw rnnlmError('ERR_RNNLM_SHAPE', `decodeLatent: z must be (B, ${c.latent}), got [${z.shape.join(', ')}]`);
    }
    if (z === null && !c.decoderOnly) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'decodeLatent: a VAE needs latent codes z');
    const device = this.device;
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() =>
        tidy(() => {
          const h0 = z !== null && !c.decoderOnly ? this.initialStates(z) : null;
          // Every row runs the same number of steps, so the packed order is the row order.
          const batchSizes = new Int32Array(maxLength).fill(batch);
          const start = new Int32Array(batch * maxLength).fill(c.specials.sos);
          const inputs = fromInt32Array(start, [start.length], { device });
          const r = FV.decodeScan(inputs, batchSizes, this.#decodeWeights(), {
            cell: this.decoderRnn.mode,
            fused: !hasUnfusedCells(this.decoderRnn),
            temperature,
            generator: options.generator ?? this.#generator,
            stopId: c.specials.eos,
            h0,
          });
          const picked = r.predicted.toInt32Array();
          const steps = r.batchSizes.length;
          const out: number[][] = [];
          for (let b = 0; b < batch; b++) {
            const ids: number[] = [];
            for (let t = 0; t < steps; t++) {
              const id = picked[t * batch + b]!;
              if (id === c.specials.eos) break;
              ids.push(id);
            }
            out.push(ids);
          }
          return out;
        }),
      );
    } finally {
      this.train(wasTraining);
    }
  }

  /** n sentences from the prior z ~ N(0, I) (the LM baseline samples from its zero state). */
  sample(n: number, options: DecodeOptions = {}): { sentences: number[][]; z: number[][] } {
    if (!Number.isInteger(n) || n < 1) throw rnnlmError('ERR_RNNLM_ARGUMENT', `the number of samples must be a positive integer, got ${n}`);
    const generator = options.generator ?? this.#generator;
    if (this.config.decoderOnly) {
      return { sentences: this.decodeLatent(null, { ...options, generator, count: n }), z: [] };
    }
    const z = randn([n, this.config.latent], { generator, device: this.device });
    try {
      return { sentences: this.decodeLatent(z, { ...options, generator }), z: rowsOf(z) };
    } finally {
      z.dispose();
    }
  }

  /**
   * Decodes linspace(z1, z2, steps + 2) (the end points included), greedily unless a temperature
   * is given. z1, z2 are latent codes (Z numbers each).
   */
  interpolate(z1: ArrayLike<number>, z2: ArrayLike<number>, steps: number, options: DecodeOptions = {}): { sentences: number[][]; z: number[][] } {
    this.requireEncoder('interpolate');
    const Z = this.config.latent;
    if (z1.length !== Z || z2.length !== Z) throw rnnlmError('ERR_RNNLM_SHAPE', `interpolate: codes must have ${Z} numbers, got ${z1.length} and ${z2.length}`);
    if (!Number.isInteger(steps) || steps < 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', `steps must be a non-negative integer, got ${steps}`);
    const points = steps + 2;
    const data = new Float32Array(points * Z);
    const codes: number[][] = [];
    for (let i = 0; i < points; i++) {
      const a = i / (points - 1);
      const row: number[] = [];
      for (let j = 0; j < Z; j++) {
        const v = z1[j]! + (z2[j]! - z1[j]!) * a;
        data[i * Z + j] = v;
        row.push(v);
      }
      codes.push(row);
    }
    const z = fromFloat32Array(data, [points, Z], { device: this.device });
    try {
      return { sentences: this.decodeLatent(z, options), z: codes };
    } finally {
      z.dispose();
    }
  }

  /** Each sentence's posterior mean, decoded greedily. */
  reconstruct(sentences: readonly ArrayLike<number>[], options: DecodeOptions = {}): { sentences: number[][]; z: number[][] } {
    const wasTraining = this.training;
    this.eval();
    try {
      const mean = noGrad(() => {
        const { mean: m, logv } = this.encode(sentences);
        logv.dispose();
        return m;
      });
      try {
        return { sentences: this.decodeLatent(mean, options), z: rowsOf(mean) };
      } finally {
        mean.dispose();
      }
    } finally {
      this.train(wasTraining);
    }
  }

  // Teacher forcing: one packed scan per layer; logits (N, V) in packed order.
  #teacherForced(dec: PackedSequence, h0: Tensor[] | null, generator: Generator): Tensor {
    const c = this.config;
    const emb = F.dropout(this.embedding.forward(dec.data), c.embeddingDropout, this.training, generator);
    let hx: { h0: Tensor } | null = null;
    if (h0 !== null) {
      // (L, B, H) in the caller's order; the RNN sorts it into the packed order itself.
      const stacked = h0.length === 1 ? h0[0]! : F.concatRows(h0);
      hx = { h0: F.reshape(stacked, [c.layers, h0[0]!.shape[0]!, c.hidden]) };
    }
    const { output } = this.decoderRnn.forward(dec.withData(emb), hx);
    return this.outputs2vocab.forward(output.data);
  }

  // Teacher forcing below 1: the engine's step-by-step decoder over the same packed layout.
  #stepwise(dec: PackedSequence, h0: Tensor[] | null, ratio: number, generator: Generator): Tensor {
    const c = this.config;
    let mask: Tensor | null = null;
    if (this.training && c.embeddingDropout > 0) {
      // The mask the teacher-forced path would draw: dropout of ones is the mask itself.
      const one = ones([dec.data.shape[0]!, c.embedding], { device: this.device });
      mask = F.dropout(one, c.embeddingDropout, true, generator);
    }
    let states: Tensor[] | null = null;
    if (h0 !== null) {
      const order = dec.sortedIndices;
      states = order === null ? h0 : h0.map((s) => F.gatherRows(s, order));
    }
    const r = FV.decodeScan(dec.data, dec.batchSizes, this.#decodeWeights(), {
      cell: this.decoderRnn.mode,
      fused: !hasUnfusedCells(this.decoderRnn),
      teacherRatio: ratio,
      generator,
      h0: states,
      inputMask: mask,
    });
    return r.logits;
  }

  #decodeWeights(): FV.DecodeWeights {
    return {
      embedding: this.embedding.weight,
      layers: Array.from({ length: this.config.layers }, (_, l) => this.decoderRnn.layerWeights(l, 0)),
      outW: this.outputs2vocab.weight,
      outB: this.outputs2vocab.bias,
    };
  }

  // Word dropout on host ids: each word (never <sos>) becomes <unk> with probability p. The
  // uniforms come from the model's generator (Philox, drawn on the CPU), in sentence order.
  #wordDropout(inputs: readonly Int32Array[], generator: Generator): Int32Array[] {
    const total = inputs.reduce((n, s) => n + s.length, 0);
    const draw = rand([total], { generator });
    const u = draw.toFloat32Array();
    draw.dispose();
    const { unk, sos, pad } = this.config.specials;
    const p = this.config.wordDropout;
    let k = 0;
    return inputs.map((s) => {
      const out = Int32Array.from(s);
      for (let i = 0; i < out.length; i++, k++) {
        if (out[i] !== sos && out[i] !== pad && u[k]! < p) out[i] = unk;
      }
      return out;
    });
  }

  private requireEncoder(what: string): RNNBase {
    if (this.encoderRnn === null) throw rnnlmError('ERR_RNNLM_STATE', `${what}: the LM baseline (decoderOnly) has no encoder`);
    return this.encoderRnn;
  }
}

/** (L*D, B, H) -> (B, L*D*H), batch-major: row b holds every state of sentence b. */
export function flattenStates(hN: Tensor): Tensor {
  const [count = 0, batch = 0, hidden = 0] = hN.shape;
  return tidy(() => {
    if (count === 1) return F.reshape(hN, [batch, hidden]);
    const parts: Tensor[] = [];
    for (let k = 0; k < count; k++) parts.push(F.reshape(F.sliceRows(hN, k, 1), [batch, hidden]));
    return F.concatCols(parts);
  });
}

function rowsOf(t: Tensor): number[][] {
  const [rows = 0, cols = 0] = t.shape;
  const data = t.toFloat32Array();
  return Array.from({ length: rows }, (_, r) => Array.from(data.subarray(r * cols, (r + 1) * cols)));
}
