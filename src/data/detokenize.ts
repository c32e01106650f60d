// Joining word tokens back into readable text. Words are split on whitespace only, so most
// punctuation stays attached to its word and a plain space-join is already right; these rules
// handle corpora that were tokenised beforehand (PTB style: "it 's", "do n't", "word ,").

/** Line break marker in a token list (a word tokenizer turns <eos> into this). */
export const LINE_BREAK = '\n';

// Tokens written without a space before them: closing punctuation, clitics and the possessive.
const ATTACHES_LEFT = /^(?:[.,;:!?%)\]}]+|'|''|n't|'(?:s|re|ve|m|ll|d))$/i;
// Tokens written without a space after them: opening brackets, PTB's opening quote, currency.
const ATTACHES_RIGHT = /^(?:[([{$]|``)$/;

/** Whether `token` is written against the word before it ("," "." "'s" "n't" ...). */
export function attachesLeft(token: string): boolean {
  return ATTACHES_LEFT.test(token);
}

/** Whether the word after `token` is written against it ("(" "$" "``"). */
export function attachesRight(token: string): boolean {
  return ATTACHES_RIGHT.test(token);
}

/**
 * A stateful joiner: push tokens one at a time and append what it returns, e.g. while sampling.
 * LINE_BREAK tokens become newlines; no space is added at the start of a line.
 */
export class Detokenizer {
  private atLineStart = true;
  private glueNext = false;

  push(token: string): string {
    if (token === LINE_BREAK) {
      this.atLineStart = true;
      this.glueNext = false;
      return LINE_BREAK;
    }
    const space = !this.atLineStart && !this.glueNext && !attachesLeft(token);
    this.atLineStart = false;
    this.glueNext = attachesRight(token);
    return space ? ' ' + token : token;
  }
}

/** Joins tokens into text: spaces between words except around punctuation, LINE_BREAK as "\n". */
export function detokenize(tokens: Iterable<string>): string {
  const joiner = new Detokenizer();
  let out = '';
  for (const token of tokens) out += joiner.push(token);
  return out;
}
