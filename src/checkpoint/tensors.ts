// Between engine tensors and stored ones: what gets written is always F32 (float32) or I32
// (int32); what gets read may also be F64, F16, BF16 or I64 (files PyTorch wrote), converted
// where no value changes meaning (F16 and BF16 widen to float32 exactly).
import { rnnlmError } from '../errors.js';
import { bfloat16ToFloat32, halfToFloat32, isBfloat16NonFinite, isHalfNonFinite } from '../io/half_float.js';
import { FLOAT_DTYPES, type SafeTensor } from '../io/safetensors.js';
import { Tensor, fromFloat32Array, fromInt32Array, type Device } from '../tensor.js';

/** A tensor to save: an engine tensor (any device) or one already in host memory. */
export type SavedTensor = Tensor | SafeTensor;

/** A host copy of `t` (engine tensors are copied from their device). */
export function toSafeTensor(t: SavedTensor): SafeTensor {
  if (!(t instanceof Tensor)) return t;
  if (t.dtype === 'float32') return { dtype: 'F32', shape: [...t.shape], data: t.toFloat32Array() };
  return { dtype: 'I32', shape: [...t.shape], data: t.toInt32Array() };
}

/** The first non-finite element of a float tensor, or -1. */
export function firstNonFinite(t: SafeTensor): number {
  if (t.dtype === 'F16' || t.dtype === 'BF16') {
    const nonFinite = t.dtype === 'F16' ? isHalfNonFinite : isBfloat16NonFinite;
    const bits = t.data as Uint16Array;
    for (let i = 0; i < bits.length; i++) if (nonFinite(bits[i]!)) return i;
    return -1;
  }
  if (t.dtype !== 'F32' && t.dtype !== 'F64') return -1;
  const data = t.data as Float32Array | Float64Array;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

/** Element `i` of a stored tensor as its value (F16 and BF16 decoded), for messages. */
export function elementValue(t: SafeTensor, i: number): number | bigint {
  if (t.dtype === 'F16') return halfToFloat32((t.data as Uint16Array).subarray(i, i + 1))[0]!;
  if (t.dtype === 'BF16') return bfloat16ToFloat32((t.data as Uint16Array).subarray(i, i + 1))[0]!;
  return t.data[i]!;
}

/**
 * float32 data of a stored float tensor: F32 as is, F64 rounded (what PyTorch's
 * load_state_dict does with a double state into a float model), F16 and BF16 widened exactly
 * (what `.float()` does in PyTorch). Integers are refused.
 */
export function float32Data(t: SafeTensor, what: string): Float32Array {
  if (t.dtype === 'F32') return t.data as Float32Array;
  if (t.dtype === 'F64') return Float32Array.from(t.data as Float64Array);
  if (t.dtype === 'F16') return halfToFloat32(t.data as Uint16Array);
  if (t.dtype === 'BF16') return bfloat16ToFloat32(t.data as Uint16Array);
  throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${what} is ${t.dtype}, expected a float tensor (${FLOAT_DTYPES.join(', ')})`);
}

/**
 * An engine tensor (CPU unless `device`) holding a stored tensor: F32/F64/F16/BF16 become
 * float32, I32 int32, and I64 int32 when every value fits (else ERR_RNNLM_CHECKPOINT naming `what`).
 */
export function fromSafeTensor(t: SafeTensor, what: string, options: { device?: Device } = {}): Tensor {
  const device = options.device ?? 'cpu';
  if (FLOAT_DTYPES.includes(t.dtype)) return fromFloat32Array(float32Data(t, what), t.shape, { device });
  if (t.dtype === 'I32') return fromInt32Array(t.data as Int32Array, t.shape, { device });
  const wide = t.data as BigInt64Array;
  const narrow = new Int32Array(wide.length);
  for (let i = 0; i < wide.length; i++) {
    const v = wide[i]!;
    if (v < -2147483648n || v > 2147483647n) {
      throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${what} is I64 and element ${i} (${v}) does not fit in int32`);
    }
    narrow[i] = Number(v);
  }
  return fromInt32Array(narrow, t.shape, { device });
}
