// The safetensors format (the one PyTorch and Hugging Face use): an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {str: str}} padded with spaces to a multiple of 8, then one byte buffer holding every tensor,
// little-endian, row-major. The encoder lays tensors out exactly as the Python `safetensors`
// library does (dtype rank, then name), so a file is byte-reproducible and identical to what
// `safetensors.torch.save_file` writes for the same tensors and metadata. The decoder trusts
// nothing in the file. F16 and BF16 (what `model.half()` / bfloat16 PyTorch models save) are
// kept as their raw 16-bit patterns (Uint16Array); src/io/half_float.ts widens them to float32.
import { endianness } from 'node:os';
import { rnnlmError } from '../errors.js';
import { NOT_REGULAR_FILE, readRegularFile } from './read_file.js';

export type SafeDType = 'F32' | 'I32' | 'I64' | 'F64' | 'F16' | 'BF16';

/** F16 and BF16 data are the elements' bit patterns. */
export type SafeData = Float32Array | Int32Array | BigInt64Array | Float64Array | Uint16Array;

/** One tensor as stored: `data` is flat, row-major, with prod(shape) elements. */
export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: SafeData;
}

export interface DecodedSafetensors {
  /** The tensors in file order. */
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

const ITEM_SIZE: Record<SafeDType, number> = { F32: 4, I32: 4, I64: 8, F64: 8, F16: 2, BF16: 2 };

// Rank of each dtype in the Rust library's Dtype enum; it writes higher ranks first, so the
// 8-byte types come before the 4-byte ones, those before the 2-byte ones, and every tensor
// stays naturally aligned.
const DTYPE_RANK: Record<SafeDType, number> = { F16: 0, BF16: 1, I32: 2, F32: 3, F64: 4, I64: 5 };

/** The dtypes the decoder reads, for messages. */
export const SAFE_DTYPES: readonly SafeDType[] = ['F32', 'F64', 'F16', 'BF16', 'I32', 'I64'];

/** The float dtypes: each loads into a float32 model (src/checkpoint/tensors.ts float32Data). */
export const FLOAT_DTYPES: readonly SafeDType[] = ['F32', 'F64', 'F16', 'BF16'];

const METADATA_KEY = '__metadata__';

// The Python library refuses larger headers; so do we, before allocating a string for one.
const MAX_HEADER_BYTES = 100_000_000;

function isSafeDType(value: unknown): value is SafeDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ITEM_SIZE, value);
}

function dataMatches(dtype: SafeDType, data: SafeData): boolean {
  switch (dtype) {
    case 'F32':
      return data instanceof Float32Array;
    case 'I32':
      return data instanceof Int32Array;
    case 'I64':
      return data instanceof BigInt64Array;
    case 'F64':
      return data instanceof Float64Array;
    case 'F16':
    case 'BF16':
      return data instanceof Uint16Array;
  }
}

function checkHost(): void {
  // The byte buffer is little-endian and is viewed directly as typed arrays.
  if (endianness() !== 'LE') throw rnnlmError('ERR_RNNLM_INTERNAL', 'safetensors: big-endian hosts are not supported');
}

/** Product of the dims, or null when the shape is not a list of non-negative integers. */
function elementCount(shape: unknown): number | null {
  if (!Array.isArray(shape)) return null;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return null;
    n *= d;
  }
  return Number.isSafeInteger(n) ? n : null;
}

function byteCompare(a: string, b: string): number {
  // The Rust library orders names by their UTF-8 bytes, which differs from JS string order
  // for characters outside the Basic Multilingual Plane.
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Serialises tensors (any order; written sorted) and optional string metadata into one
 * safetensors file image. Throws ERR_RNNLM_ARGUMENT for a duplicate or reserved name, a dtype
 * that does not match the data's array type, or a shape that does not match the data length.
 */
export function encodeSafetensors(entries: Iterable<[string, SafeTensor]>, metadata?: Record<string, string>): Buffer {
  checkHost();
  const list: [string, SafeTensor][] = [];
  const seen = new Set<string>();
  for (const [name, t] of entries) {
    if (typeof name !== 'string' || name === METADATA_KEY) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `safetensors: '${String(name)}' cannot be a tensor name`);
    }
    if (seen.has(name)) throw rnnlmError('ERR_RNNLM_ARGUMENT', `safetensors: tensor '${name}' is given twice`);
    seen.add(name);
    if (!isSafeDType(t.dtype)) throw rnnlmError('ERR_RNNLM_ARGUMENT', `safetensors: tensor '${name}' has unsupported dtype '${String(t.dtype)}'`);
    if (!dataMatches(t.dtype, t.data)) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `safetensors: tensor '${name}' is ${t.dtype} but its data is a ${t.data.constructor.name}`);
    }
    const n = elementCount(t.shape);
    if (n === null || n !== t.data.length) {
      throw rnnlmError(
        'ERR_RNNLM_ARGUMENT',
        `safetensors: tensor '${name}' has shape [${String(t.shape)}] but ${t.data.length} elements`,
      );
    }
    list.push([name, t]);
  }
  list.sort(([an, a], [bn, b]) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || byteCompare(an, bn));

  // Built by hand rather than from an object: JS objects put integer-like keys ("0") first,
  // which would break the order above.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(byteCompare);
    const items = keys.map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw rnnlmError('ERR_RNNLM_ARGUMENT', `safetensors: metadata '${k}' must be a string`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${items.join(',')}}`);
  }
  let offset = 0;
  for (const [name, t] of list) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = header.length + ((8 - (header.length % 8)) % 8);
  const out = Buffer.alloc(8 + padded + offset, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  header.copy(out, 8);
  let at = 8 + padded;
  for (const [, t] of list) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function fail(source: string, problem: string): never {
  throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: not a valid safetensors file: ${problem}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function view(dtype: SafeDType, bytes: Uint8Array, start: number, count: number): SafeData {
  const size = ITEM_SIZE[dtype];
  let buffer: ArrayBufferLike = bytes.buffer;
  let byteOffset = bytes.byteOffset + start;
  // A typed array needs an offset that is a multiple of its element size; a file read into a
  // pooled or sliced Buffer need not give one, so copy in that case.
  if (byteOffset % size !== 0) {
    const copy = new Uint8Array(count * size);
    copy.set(bytes.subarray(start, start + count * size));
    buffer = copy.buffer;
    byteOffset = 0;
  }
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer, byteOffset, count);
    case 'I32':
      return new Int32Array(buffer, byteOffset, count);
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, count);
    case 'F64':
      return new Float64Array(buffer, byteOffset, count);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buffer, byteOffset, count);
  }
}

interface Entry {
  name: string;
  dtype: SafeDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses and validates a safetensors file image. `source` (usually the path) names the file in
 * errors. The returned arrays may share memory with `bytes` where it is aligned. Throws
 * ERR_RNNLM_CHECKPOINT naming the file and the problem.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): DecodedSafetensors {
  checkHost();
  if (bytes.length < 8) fail(source, `truncated: ${bytes.length} bytes, shorter than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(source, `header length ${headerLength} runs past the end of the file (${bytes.length} bytes; truncated?)`);
  }
  const n = Number(headerLength);
  if (n > MAX_HEADER_BYTES) fail(source, `header of ${n} bytes is larger than the ${MAX_HEADER_BYTES}-byte limit`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(source, 'header is not UTF-8');
  }
  if (!text.startsWith('{')) fail(source, 'header does not start with a JSON object');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    fail(source, `header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(header)) fail(source, 'header is not a JSON object');

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(info)) fail(source, `${METADATA_KEY} is not an object of strings`);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') fail(source, `${METADATA_KEY}.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isPlainObject(info)) fail(source, `tensor '${name}' is not described by an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (!isSafeDType(dtype)) {
      fail(source, `tensor '${name}' has dtype ${JSON.stringify(dtype) ?? 'undefined'}; rnnlm reads ${SAFE_DTYPES.join(', ')}`);
    }
    const count = elementCount(shape);
    if (count === null) fail(source, `tensor '${name}' has shape ${JSON.stringify(shape) ?? 'undefined'}, not a list of non-negative integers`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(source, `tensor '${name}' has data_offsets ${JSON.stringify(offsets) ?? 'undefined'}, not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(source, `tensor '${name}' has data_offsets [${begin}, ${end}] that end before they begin`);
    if (end - begin !== count * ITEM_SIZE[dtype]) {
      fail(
        source,
        `tensor '${name}' (${dtype} [${(shape as number[]).join(', ')}]) needs ${count * ITEM_SIZE[dtype]} bytes ` +
          `but its data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
    entries.push({ name, dtype, shape: [...(shape as number[])], begin, end });
  }

  // The tensors must tile the byte buffer exactly: no overlap, no gap, nothing left over.
  const bufferLength = bytes.length - 8 - n;
  const byPosition = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: Entry | null = null;
  for (const e of byPosition) {
    if (e.end > bufferLength) {
      fail(source, `tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] run past the ${bufferLength}-byte buffer (truncated?)`);
    }
    if (e.begin < covered) {
      fail(source, `tensor '${e.name}' [${e.begin}, ${e.end}) overlaps '${previous!.name}' [${previous!.begin}, ${previous!.end})`);
    }
    if (e.begin > covered) fail(source, `bytes [${covered}, ${e.begin}) of the buffer belong to no tensor`);
    covered = e.end;
    previous = e;
  }
  if (covered !== bufferLength) {
    fail(source, `bytes [${covered}, ${bufferLength}) at the end of the buffer belong to no tensor`);
  }

  const tensors = new Map<string, SafeTensor>();
  const base = 8 + n;
  for (const e of entries) {
    const count = (e.end - e.begin) / ITEM_SIZE[e.dtype];
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: view(e.dtype, bytes, base + e.begin, count) });
  }
  return { tensors, metadata };
}

/**
 * Reads and decodes a safetensors file. A missing file is ERR_RNNLM_CHECKPOINT, another OS
 * failure ERR_RNNLM_IO, a corrupt file ERR_RNNLM_CHECKPOINT.
 */
export function readSafetensorsFile(path: string): DecodedSafetensors {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(path);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${path}: file is missing`);
    if (e.code === NOT_REGULAR_FILE) throw rnnlmError('ERR_RNNLM_CHECKPOINT', e.message);
    throw rnnlmError('ERR_RNNLM_IO', `${path}: cannot read (${e.message})`);
  }
  return decodeSafetensors(bytes, path);
}
