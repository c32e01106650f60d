// The tensors a checkpoint must hold, from its config.json alone (the format is the contract,
// so a wrong file is refused before any model is built), and the check that names every
// difference: missing and unexpected names, shapes, dtypes.
import type { ErrorCode } from '../errors.js';
import { rnnlmError } from '../errors.js';
import { FLOAT_DTYPES, type SafeDType } from '../io/safetensors.js';
import type { CellType } from '../nn/create_rnn.js';
import type { LanguageModelCheckpointConfig } from './config.js';

export interface ExpectedTensor {
  shape: number[];
  /** What the size comes from, for messages ("hidden 8 x 4 gates"). */
  why: string;
}

const GATES = { lstm: 4, gru: 3, rnn: 1, rnn_relu: 1 } as const;

/**
 * Adds the names and shapes of an nn.LSTM/GRU/RNN's parameters under `prefix` (L layers, D
 * directions, `input` features into the first layer): weight_ih_l{k}[_reverse], weight_hh_l{k},
 * bias_ih_l{k}, bias_hh_l{k}.
 */
export function rnnWeightShapes(out: Map<string, ExpectedTensor>, prefix: string, cell: CellType, input: number, H: number, L: number, D: 1 | 2): void {
  const G = GATES[cell];
  const gates = `${cell}: ${G} gate${G > 1 ? 's' : ''} x hidden ${H}`;
  for (let k = 0; k < L; k++) {
    const inSize = k === 0 ? input : H * D;
    for (const suffix of D === 2 ? ['', '_reverse'] : ['']) {
      out.set(`${prefix}.weight_ih_l${k}${suffix}`, { shape: [G * H, inSize], why: `${gates}, input ${inSize}` });
      out.set(`${prefix}.weight_hh_l${k}${suffix}`, { shape: [G * H, H], why: `${gates}, hidden ${H}` });
      out.set(`${prefix}.bias_ih_l${k}${suffix}`, { shape: [G * H], why: gates });
      out.set(`${prefix}.bias_hh_l${k}${suffix}`, { shape: [G * H], why: gates });
    }
  }
}

/** PyTorch state_dict names and shapes of a language model: embedding, rnn.*, decoder. */
export function languageModelWeightShapes(config: LanguageModelCheckpointConfig): Map<string, ExpectedTensor> {
  const { vocab_size: V, embedding: E, hidden: H, layers: L, cell } = config.model;
  const out = new Map<string, ExpectedTensor>();
  out.set('embedding.weight', { shape: [V, E], why: `vocab_size ${V}, embedding ${E}` });
  rnnWeightShapes(out, 'rnn', cell, E, H, L, 1);
  out.set('decoder.weight', { shape: [V, H], why: `vocab_size ${V}, hidden ${H}` });
  out.set('decoder.bias', { shape: [V], why: `vocab_size ${V}` });
  return out;
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 8).map((n) => `'${n}'`).join(', ');
  return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown;
}

// Common reasons a PyTorch state_dict has extra prefixes: DataParallel and torch.compile.
function prefixHint(unexpected: string[], expected: Iterable<string>): string {
  const want = new Set(expected);
  for (const prefix of ['module.', '_orig_mod.', 'model.']) {
    if (unexpected.some((n) => n.startsWith(prefix) && want.has(n.slice(prefix.length)))) {
      return ` (the names carry a '${prefix}' prefix: strip it from the state_dict before saving)`;
    }
  }
  return '';
}

/**
 * Checks stored tensors against the expected names and shapes; throws `code` with `source` and
 * every problem found. Loading (`anyFloat`, the default) takes every float dtype a PyTorch file
 * may hold (F32, F64, F16, BF16), all widened or rounded to float32; saving only F32.
 */
export function checkWeights(
  weights: ReadonlyMap<string, { dtype: SafeDType; shape: readonly number[] }>,
  expected: ReadonlyMap<string, ExpectedTensor>,
  source: string,
  code: ErrorCode,
  anyFloat = true,
): void {
  const problems: string[] = [];
  const missing = [...expected.keys()].filter((n) => !weights.has(n));
  const unexpected = [...weights.keys()].filter((n) => !expected.has(n));
  if (missing.length > 0) problems.push(`missing tensor${missing.length > 1 ? 's' : ''} ${listNames(missing)}`);
  if (unexpected.length > 0) {
    problems.push(`unexpected tensor${unexpected.length > 1 ? 's' : ''} ${listNames(unexpected)}${prefixHint(unexpected, expected.keys())}`);
  }
  for (const [name, want] of expected) {
    const got = weights.get(name);
    if (got === undefined) continue;
    if (got.dtype !== 'F32' && !(anyFloat && FLOAT_DTYPES.includes(got.dtype))) {
      const others = FLOAT_DTYPES.filter((d) => d !== 'F32').join(', ');
      problems.push(`'${name}' is ${got.dtype}, expected F32${anyFloat ? ` (or ${others}, which load as float32)` : ''}`);
    }
    if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
      problems.push(`'${name}' has shape [${got.shape.join(', ')}], expected [${want.shape.join(', ')}] (${want.why})`);
    }
  }
  if (problems.length > 0) throw rnnlmError(code, `${source}: ${problems.join('; ')}`);
}
