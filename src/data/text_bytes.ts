// Turning the bytes of one file into text: the checks that tell a user *why* a file is not usable
// training text (empty, UTF-16, binary, broken UTF-8) instead of training on mojibake.
import { rnnlmError } from '../errors.js';

/** Why bytes are not usable text, before any decoding (null: they may be text). */
export type ByteVerdict = null | 'empty' | 'utf16' | 'binary';

// Above this share of control bytes a file is taken for binary even without NUL bytes. Text has
// tabs, newlines, form feeds; a few stray escapes are tolerated, a tenth of the file is not text.
const CONTROL_SHARE_LIMIT = 0.1;

/** Classifies bytes that cannot be text; null when they may be (UTF-8 is checked separately). */
export function sniffBytes(bytes: Uint8Array): ByteVerdict {
  if (bytes.length === 0) return 'empty';
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    return 'utf16';
  }
  let control = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0) return 'binary';
    // \t \n \v \f \r are ordinary in text; everything else below 0x20, and DEL, is not.
    if ((b < 0x20 && (b < 0x09 || b > 0x0d)) || b === 0x7f) control++;
  }
  return control / bytes.length > CONTROL_SHARE_LIMIT ? 'binary' : null;
}

/**
 * Offset of the first byte that starts an invalid UTF-8 sequence, or -1 when all bytes are valid.
 * TextDecoder only says *that* decoding failed; users need to know *where* to fix the file.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // beyond U+10FFFF
    } else return i;
    if (i + need >= n) return i; // truncated at the end of the file
    const second = bytes[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** 1-based line of a byte offset (counting LF bytes before it). */
export function lineOfByte(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Decodes UTF-8 bytes into normalised text: a leading BOM dropped (ignoreBOM: false strips it),
 * CRLF turned into LF so that Windows files give the same tokens as Unix ones.
 * Throws ERR_RNNLM_DATA naming `path`, the line and the byte offset of the first invalid byte.
 */
export function decodeUtf8(bytes: Uint8Array, path: string): string {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const at = offset >= 0 ? offset : 0;
    const byte = bytes[at] ?? 0;
    throw rnnlmError(
      'ERR_RNNLM_DATA',
      `${path} is not valid UTF-8: invalid byte 0x${byte.toString(16).padStart(2, '0')} at line ${lineOfByte(bytes, at)}, ` +
        `byte offset ${at}; save the file as UTF-8`,
    );
  }
  return text.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text;
}

/** True when the text has no characters, or only whitespace. */
export function isBlank(text: string): boolean {
  return !/\S/u.test(text);
}
