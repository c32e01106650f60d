// safetensors: the byte layout (as the Python library writes it), round trips of every dtype,
// alignment, and every kind of corrupt file the decoder must refuse with ERR_RNNLM_CHECKPOINT.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../src/io/safetensors.js';
import { throwsCode } from './api-helpers.js';

function headerOf(file: Uint8Array): string {
  const n = Number(Buffer.from(file.buffer, file.byteOffset, 8).readBigUInt64LE(0));
  return Buffer.from(file.buffer, file.byteOffset + 8, n).toString('utf8');
}

/** A file image from a header (object or raw text) and a byte buffer of `bytes` bytes. */
function craft(header: unknown, bytes: number, headerLength?: bigint): Buffer {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + text.length + bytes);
  out.writeBigUInt64LE(headerLength ?? BigInt(text.length), 0);
  text.copy(out, 8);
  return out;
}

function corrupt(file: Uint8Array, phrase: string): void {
  const e = throwsCode(() => decodeSafetensors(file, 'bad.safetensors'), 'ERR_RNNLM_CHECKPOINT');
  assert.ok(e.message.startsWith('bad.safetensors: '), `names the file: ${e.message}`);
  assert.ok(e.message.includes(phrase), `'${e.message}' should say '${phrase}'`);
}

const sample: [string, SafeTensor][] = [
  ['w', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1.5, -2, 3.25, 0, -0, 1e-30]) }],
  ['odd', { dtype: 'F32', shape: [3], data: Float32Array.from([7, 8, 9]) }],
  ['ids', { dtype: 'I32', shape: [1], data: Int32Array.from([-2147483648]) }],
  ['empty', { dtype: 'F32', shape: [2, 0], data: new Float32Array(0) }],
  ['scalar', { dtype: 'F32', shape: [], data: Float32Array.from([Math.PI]) }],
  ['steps', { dtype: 'I64', shape: [2], data: BigInt64Array.from([2n ** 40n, -1n]) }],
  ['dbl', { dtype: 'F64', shape: [1, 1], data: Float64Array.from([0.1]) }],
  ['half', { dtype: 'F16', shape: [3], data: Uint16Array.from([0x3c00, 0x8001, 0x7e00]) }],
  ['brain', { dtype: 'BF16', shape: [1], data: Uint16Array.from([0xbf80]) }],
];

test('round trip of F32, I32, I64, F64, F16, BF16, empty and scalar tensors with metadata', () => {
  const file = encodeSafetensors(sample, { step: '12', note: 'héllo "x"' });
  const { tensors, metadata } = decodeSafetensors(file, 'mem');
  assert.equal(metadata, { note: 'héllo "x"', step: '12' });
  assert.equal([...tensors.keys()].sort(), sample.map(([n]) => n).sort());
  for (const [name, t] of sample) {
    const got = tensors.get(name)!;
    assert.is(got.dtype, t.dtype, name);
    assert.equal(got.shape, t.shape, name);
    assert.is(got.data.constructor, t.data.constructor, name);
    assert.equal(Array.from(got.data as ArrayLike<number | bigint>), Array.from(t.data as ArrayLike<number | bigint>), name);
  }
  assert.ok(Object.is((tensors.get('w')!.data as Float32Array)[4], -0), 'negative zero survives');
});

test('layout matches the Python safetensors library: dtype rank, then name; padded header', () => {
  const file = encodeSafetensors(
    [
      ['b', { dtype: 'F32', shape: [1], data: Float32Array.from([1]) }],
      ['a', { dtype: 'I32', shape: [2], data: Int32Array.from([2, 3]) }],
      ['0', { dtype: 'F32', shape: [], data: Float32Array.from([4]) }],
      ['z', { dtype: 'I64', shape: [1], data: BigInt64Array.from([5n]) }],
      ['h', { dtype: 'F16', shape: [1], data: Uint16Array.from([0x3c00]) }],
      ['c', { dtype: 'BF16', shape: [1], data: Uint16Array.from([0x3f80]) }],
    ],
    { format: 'pt' },
  );
  const header = headerOf(file);
  assert.is(
    header.trimEnd(),
    '{"__metadata__":{"format":"pt"},' +
      '"z":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
      '"0":{"dtype":"F32","shape":[],"data_offsets":[8,12]},' +
      '"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
      '"a":{"dtype":"I32","shape":[2],"data_offsets":[16,24]},' +
      '"c":{"dtype":"BF16","shape":[1],"data_offsets":[24,26]},' +
      '"h":{"dtype":"F16","shape":[1],"data_offsets":[26,28]}}',
  );
  assert.is(header.length % 8, 0, 'header padded to 8 bytes');
  assert.ok(/^[^ ]* *$/.test(header), 'padding is spaces');
  assert.is(file.length, 8 + header.length + 28);
  assert.is(file.readBigInt64LE(8 + header.length), 5n, 'the I64 tensor comes first in the buffer');
  assert.is(file.readFloatLE(8 + header.length + 8), 4);
  // An empty file: exactly what safetensors.torch.save({}) writes.
  assert.equal([...encodeSafetensors([])], [...Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}      ')])]);
});

test('output is deterministic whatever the input order', () => {
  const a = encodeSafetensors(sample, { x: '1', a: '2' });
  const b = encodeSafetensors([...sample].reverse(), { a: '2', x: '1' });
  assert.ok(a.equals(b));
});

test('unaligned input (a file inside a larger buffer at an odd offset) is copied, not misread', () => {
  const file = encodeSafetensors(sample);
  for (const shift of [1, 2, 3, 5]) {
    const big = new Uint8Array(file.length + shift);
    big.set(file, shift);
    const { tensors } = decodeSafetensors(big.subarray(shift), 'shifted');
    assert.equal(Array.from(tensors.get('w')!.data as Float32Array), Array.from(sample[0]![1].data as Float32Array));
    assert.equal(Array.from(tensors.get('steps')!.data as BigInt64Array), [2n ** 40n, -1n]);
    assert.is((tensors.get('dbl')!.data as Float64Array)[0], 0.1);
    assert.equal(Array.from(tensors.get('half')!.data as Uint16Array), [0x3c00, 0x8001, 0x7e00]);
  }
});

test('encoder refuses inconsistent tensors', () => {
  const f = (n: number): Float32Array => new Float32Array(n);
  throwsCode(() => encodeSafetensors([['a', { dtype: 'F32', shape: [2, 2], data: f(3) }]]), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => encodeSafetensors([['a', { dtype: 'I32', shape: [3], data: f(3) }]]), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => encodeSafetensors([['a', { dtype: 'F16', shape: [3], data: f(3) }]]), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => encodeSafetensors([['a', { dtype: 'F32', shape: [-3], data: f(3) }]]), 'ERR_RNNLM_ARGUMENT');
  throwsCode(
    () => encodeSafetensors([['a', { dtype: 'F32', shape: [1], data: f(1) }], ['a', { dtype: 'F32', shape: [1], data: f(1) }]]),
    'ERR_RNNLM_ARGUMENT',
  );
  throwsCode(() => encodeSafetensors([['__metadata__', { dtype: 'F32', shape: [1], data: f(1) }]]), 'ERR_RNNLM_ARGUMENT');
});

const one = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

test('corrupt: truncated files and header lengths', () => {
  const good = encodeSafetensors(sample);
  corrupt(good.subarray(0, 5), 'truncated');
  corrupt(good.subarray(0, 40), 'runs past the end of the file');
  corrupt(good.subarray(0, good.length - 3), 'run past');
  corrupt(craft({ a: one }, 8, 2n ** 63n), 'runs past the end of the file');
});

test('corrupt: header that is not JSON, not an object, not UTF-8', () => {
  corrupt(craft('{"a": {"dtype": "F32",', 8), 'not valid JSON');
  corrupt(craft('[1, 2, 3]', 0), 'does not start with a JSON object');
  corrupt(craft('{"a": 1}', 0), "tensor 'a' is not described by an object");
  const latin = craft('{"\xff": 1}', 0);
  latin[10] = 0xff;
  corrupt(latin, 'not UTF-8');
  corrupt(craft({ __metadata__: { step: 3 } }, 0), '__metadata__.step is not a string');
});

test('corrupt: unknown dtype, bad shapes, bad offsets', () => {
  corrupt(craft({ a: { ...one, dtype: 'F8_E4M3', shape: [8] } }, 8), 'has dtype "F8_E4M3"; rnnlm reads F32, F64, F16, BF16, I32, I64');
  corrupt(craft({ a: { ...one, dtype: 'U16', shape: [4] } }, 8), 'has dtype "U16"');
  corrupt(craft({ a: { ...one, shape: [2.5] } }, 8), 'not a list of non-negative integers');
  corrupt(craft({ a: { ...one, shape: [-2] } }, 8), 'not a list of non-negative integers');
  corrupt(craft({ a: { ...one, shape: '2' } }, 8), 'not a list of non-negative integers');
  corrupt(craft({ a: { ...one, data_offsets: [0] } }, 8), 'not [begin, end]');
  corrupt(craft({ a: { ...one, data_offsets: [8, 0] } }, 8), 'end before they begin');
  corrupt(craft({ a: { ...one, data_offsets: [0, 12] } }, 12), 'needs 8 bytes');
  corrupt(craft({ a: { ...one, shape: [3] } }, 8), 'needs 12 bytes');
  corrupt(craft({ a: { ...one, dtype: 'F16', shape: [3] } }, 8), "tensor 'a' (F16 [3]) needs 6 bytes");
  corrupt(craft({ a: { ...one, dtype: 'BF16', shape: [2], data_offsets: [0, 3] } }, 3), 'needs 4 bytes');
});

test('corrupt: offsets out of bounds, overlapping, leaving gaps or trailing bytes', () => {
  corrupt(craft({ a: { ...one, data_offsets: [8, 16] } }, 8), 'run past the 8-byte buffer');
  corrupt(craft({ a: one, b: { ...one, data_offsets: [4, 12] } }, 12), 'overlaps');
  corrupt(craft({ a: one, b: { ...one, data_offsets: [12, 20] } }, 20), 'bytes [8, 12) of the buffer belong to no tensor');
  corrupt(craft({ a: one }, 12), 'bytes [8, 12) at the end of the buffer belong to no tensor');
  corrupt(craft({}, 4), 'bytes [0, 4) at the end');
  // Zero-size tensors may share an offset.
  const ok = craft({ a: one, e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] }, f: { dtype: 'I32', shape: [0, 4], data_offsets: [8, 8] } }, 8);
  assert.equal([...decodeSafetensors(ok, 'ok').tensors.keys()], ['a', 'e', 'f']);
});

test.run();
