// Holding out the end of a corpus for validation when no separate file is given. The tail (not a
// random sample) keeps both parts contiguous text, as truncated BPTT needs, and is what char-rnn
// does. train + valid === text, always.
import { rnnlmError } from '../errors.js';
import type { TokenizerLevel } from './tokenizer.js';
import { isBlank } from './text_bytes.js';

export interface TrainValidSplit {
  train: string;
  valid: string;
}

/**
 * Splits off about the last `validFraction` of `text` (counted in characters, i.e. code points).
 * Char level: cut exactly there (never inside a surrogate pair). Word level: cut at the line
 * boundary nearest to that point, so that no line is broken in two and both parts end their
 * lines with <eos> as the whole text would.
 * Throws ERR_RNNLM_ARGUMENT for a fraction outside (0, 1), ERR_RNNLM_DATA when either part would
 * be empty (word level: blank) or a word-level text has no line boundary to cut at.
 */
export function splitTrainValid(text: string, validFraction = 0.1, level: TokenizerLevel): TrainValidSplit {
  if (typeof validFraction !== 'number' || !(validFraction > 0 && validFraction < 1)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `the validation fraction must be in (0, 1), got ${String(validFraction)}`);
  }
  if (level !== 'char' && level !== 'word') {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `the tokenizer level must be 'char' or 'word', got ${JSON.stringify(level)}`);
  }
  const percent = `${+(validFraction * 100).toFixed(2)}%`;
  const chars = codePointCount(text);
  const validChars = Math.round(chars * validFraction);
  if (validChars === 0 || validChars === chars) {
    throw rnnlmError(
      'ERR_RNNLM_DATA',
      `the text (${chars} characters) is too short to hold out ${percent} of it for validation; give a separate validation file`,
    );
  }
  const target = codeUnitIndex(text, chars - validChars);
  if (level === 'char') return { train: text.slice(0, target), valid: text.slice(target) };

  // Cut points are starts of lines: just after the newline before the target, or after the next.
  const usable = (cut: number): boolean =>
    cut > 0 && cut < text.length && !isBlank(text.slice(0, cut)) && !isBlank(text.slice(cut));
  const before = text.lastIndexOf('\n', target - 1) + 1;
  const nextNewline = text.indexOf('\n', target);
  const after = nextNewline < 0 ? -1 : nextNewline + 1;
  const candidates = [before, after].filter(usable);
  if (candidates.length === 0) {
    throw rnnlmError(
      'ERR_RNNLM_DATA',
      `cannot hold out ${percent} of the text for validation at a line boundary (it needs words on both sides of a ` +
        `newline near the end); give a separate validation file`,
    );
  }
  // Nearest to the target; on a tie the earlier cut (a larger validation part).
  const cut = candidates.reduce((best, c) => (Math.abs(c - target) < Math.abs(best - target) ? c : best));
  return { train: text.slice(0, cut), valid: text.slice(cut) };
}

function codePointCount(text: string): number {
  let n = text.length;
  for (let i = 0; i + 1 < text.length; i++) {
    if (isPair(text, i)) {
      n--;
      i++;
    }
  }
  return n;
}

/** The UTF-16 index where code point number `points` starts. */
function codeUnitIndex(text: string, points: number): number {
  let i = 0;
  for (let p = 0; p < points && i < text.length; p++) i += isPair(text, i) ? 2 : 1;
  return i;
}

function isPair(text: string, i: number): boolean {
  const hi = text.charCodeAt(i);
  if (hi < 0xd800 || hi > 0xdbff) return false;
  const lo = text.charCodeAt(i + 1);
  return lo >= 0xdc00 && lo <= 0xdfff;
}
