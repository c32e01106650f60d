// IEEE half precision (F16: 1 sign, 5 exponent, 10 mantissa bits) and bfloat16 (BF16: 1 sign,
// 8 exponent, 7 mantissa bits, the top half of a float32) widened to float32. Both are exact:
// every half and bfloat16 value is a float32 value, subnormals, infinities and NaN (payload kept)
// included; the results are PyTorch's `.float()` bit for bit (an F16 signalling NaN comes out
// quiet, as there). Node 20 has no Float16Array, so the bits are decoded here, once, for every
// caller.

/** float32 values of F16 bit patterns. */
export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      // Zero or subnormal: mantissa * 2^-24, exact in float32 (whose subnormals reach 2^-149).
      out[i] = mantissa * 2 ** -24;
      outBits[i]! |= sign;
    } else if (exponent === 0x1f) {
      // Infinity (mantissa 0), or NaN with its payload in the top mantissa bits and the quiet
      // bit set, bit for bit what PyTorch's .float() (and x86's vcvtph2ps) gives.
      outBits[i] = sign | (mantissa === 0 ? 0x7f800000 : 0x7fc00000) | (mantissa << 13);
    } else {
      // Normal: rebias the exponent (15 -> 127) and widen the mantissa.
      outBits[i] = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
  }
  return out;
}

/** float32 values of BF16 bit patterns: each is the upper 16 bits of its float32. */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const outBits = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return new Float32Array(outBits.buffer);
}

/** Whether an F16 bit pattern is an infinity or NaN (all exponent bits set). */
export function isHalfNonFinite(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00;
}

/** Whether a BF16 bit pattern is an infinity or NaN (all exponent bits set). */
export function isBfloat16NonFinite(bits: number): boolean {
  return (bits & 0x7f80) === 0x7f80;
}
