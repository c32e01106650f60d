// Tokenizers: char vocabularies in code points, word vocabularies with <unk>/<eos>, the
// vocab.json round trip and its validation, and detokenisation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CharTokenizer } from '../src/data/char_tokenizer.js';
import { WordTokenizer, splitWords } from '../src/data/word_tokenizer.js';
import type { Tokenizer } from '../src/data/tokenizer.js';
import { tokenizerFromJSON, tokenizerFromText } from '../src/data/tokenizer_factory.js';
import { detokenize } from '../src/data/detokenize.js';
import { throwsCode } from './api-helpers.js';

const ids = (a: Int32Array): number[] => Array.from(a);

// --- char level ---

test('char vocabulary: sorted distinct code points, no specials', () => {
  const tok = CharTokenizer.fromText('hello world\n');
  assert.equal(tok.toJSON(), { level: 'char', tokens: ['\n', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w'], specials: {} });
  assert.is(tok.vocabSize, 9);
  assert.equal(ids(tok.encode('hello')), [4, 3, 5, 5, 6]);
  assert.is(tok.decode(tok.encode('hello world\n')), 'hello world\n');
  assert.is(tok.token(0), '\n');
});

test('char vocabulary: astral code points are one token each, sorted by code point', () => {
  // U+1F433 sorts after U+FF21 as a code point, though its UTF-16 high surrogate (D83D) sorts before.
  const text = 'a🐳Ａb🐳\u{20000}';
  const tok = CharTokenizer.fromText(text);
  assert.equal(tok.toJSON().tokens, ['a', 'b', 'Ａ', '🐳', '\u{20000}']);
  const encoded = tok.encode(text);
  assert.equal(ids(encoded), [0, 3, 2, 1, 3, 4], 'six characters, not nine UTF-16 units');
  assert.is(tok.decode(encoded), text);
});

test('char encode of an unknown character names it, its line and the vocabulary mismatch', () => {
  const tok = CharTokenizer.fromText('abc\n');
  let e = throwsCode(() => tok.encode('ab\ncaz', 'valid.txt'), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes("'z'") && /line 2\b/.test(e.message) && e.message.includes('valid.txt'), e.message);
  assert.ok(/vocabulary/.test(e.message), e.message);
  // Invisible characters are shown by code point, not printed raw.
  e = throwsCode(() => tok.encode('a\u200bb'), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes('U+200B') && !e.message.includes('\u200b'), e.message);
  e = throwsCode(() => tok.encode('a\tb'), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes('U+0009') && !e.message.includes('\t'), e.message);
  e = throwsCode(() => tok.encode('🐳'), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes('U+1F433'), e.message);
});

test('char decode and token reject ids out of range', () => {
  const tok = CharTokenizer.fromText('ab');
  throwsCode(() => tok.decode([0, 2]), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => tok.token(-1), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => tok.token(0.5), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => CharTokenizer.fromText(''), 'ERR_RNNLM_DATA');
});

// --- word level ---

test('word vocabulary: <unk>=0, <eos>=1, then by descending count, ties by first appearance', () => {
  const tok = WordTokenizer.fromText('b a c\na b\n');
  // counts: b 2, a 2, c 1; b was seen first.
  assert.equal(tok.toJSON(), { level: 'word', tokens: ['<unk>', '<eos>', 'b', 'a', 'c'], specials: { unk: 0, eos: 1 } });
  assert.is(tok.unkId, 0);
  assert.is(tok.eosId, 1);
  assert.equal(ids(tok.encode('a b c\n')), [3, 2, 4, 1]);
  assert.equal(ids(tok.encode('a zebra\n')), [3, 0, 1], 'unknown words are <unk>');
});

test('word lines: every line gets <eos>, blank lines too; a last line without newline too', () => {
  assert.equal(splitWords('a b\n'), ['a', 'b', '<eos>']);
  assert.equal(splitWords('a b'), ['a', 'b', '<eos>']);
  assert.equal(splitWords('a\n\nb\n'), ['a', '<eos>', '<eos>', 'b', '<eos>']);
  assert.equal(splitWords('  a \t b  \n'), ['a', 'b', '<eos>']);
  assert.equal(splitWords('\n'), ['<eos>']);
  assert.equal(splitWords(''), []);
  const tok = WordTokenizer.fromText('x y\n\nx\n');
  assert.equal(ids(tok.encode('x y\n\nx')), [2, 3, 1, 1, 2, 1]);
});

test('a literal <unk> in the text (as in PTB) is the <unk> special, not a new word', () => {
  const tok = WordTokenizer.fromText('the <unk> sat\n<unk> <unk> the\n');
  assert.equal(tok.toJSON().tokens, ['<unk>', '<eos>', 'the', 'sat']);
  assert.equal(ids(tok.encode('<unk> the\n')), [0, 2, 1]);
  assert.equal(ids(tok.encode('the <eos> sat')), [2, 1, 3, 1], 'a literal <eos> is <eos>');
});

test('minCount and maxVocab send rare words to <unk>', () => {
  const text = 'a a a b b c\nd d d d a\n';
  // counts: a 4, d 4, b 2, c 1 (a before d on ties)
  let tok = WordTokenizer.fromText(text, { minCount: 2 });
  assert.equal(tok.toJSON().tokens, ['<unk>', '<eos>', 'a', 'd', 'b']);
  assert.equal(ids(tok.encode('c b\n')), [0, 4, 1]);
  tok = WordTokenizer.fromText(text, { maxVocab: 3 });
  assert.equal(tok.toJSON().tokens, ['<unk>', '<eos>', 'a'], 'maxVocab counts the specials');
  assert.is(tok.vocabSize, 3);
  tok = WordTokenizer.fromText(text, { maxVocab: 2 });
  assert.equal(ids(tok.encode('a d\n')), [0, 0, 1]);
  throwsCode(() => WordTokenizer.fromText(text, { minCount: 0 }), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => WordTokenizer.fromText(text, { maxVocab: 1 }), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => WordTokenizer.fromText(' \n\n'), 'ERR_RNNLM_DATA');
});

test('word decode: <eos> is a newline, no space before punctuation and clitics', () => {
  const tok = WordTokenizer.fromText('he said , " it is n\'t the dog \'s bone . "\nwhy ?\n( yes ) $ 5 100 %\n');
  const text = 'he said , " it is n\'t the dog \'s bone . "\nwhy ?\n( yes ) $ 5 100 %\n';
  assert.is(tok.decode(tok.encode(text)), 'he said, " it isn\'t the dog\'s bone. "\nwhy?\n(yes) $5 100%\n');
  assert.is(tok.decode(tok.encode('unknownword here\n')), '<unk> <unk>\n');
  // Untokenised text (punctuation attached) decodes to itself, blank lines kept.
  const moby = WordTokenizer.fromText('Call me Ishmael.\n\nSome years ago—never mind.\n');
  assert.is(moby.decode(moby.encode('Call me Ishmael.\n\nSome years ago—never mind.\n')), 'Call me Ishmael.\n\nSome years ago—never mind.\n');
});

test('detokenize rules', () => {
  assert.is(detokenize(['a', ',', 'b', '...', 'c', "'", 'd', "'ll", 'go', '!', '?']), "a, b... c' d'll go!?");
  assert.is(detokenize(['``', 'hi', "''", 'x', '[', 'y', ']', '\n', ',', 'z']), "``hi'' x [y]\n, z");
  assert.is(detokenize(['ca', "N'T", 'stop', "'S"]), "caN'T stop'S");
  assert.is(detokenize([]), '');
});

test('incremental decoders produce the same text as decode', () => {
  const word = WordTokenizer.fromText('it is n\'t , ok\n( a b )\n');
  const char = CharTokenizer.fromText('a🐳b\n');
  for (const [tok, text] of [
    [word, 'it is n\'t , ok\n( a b )\nit\n'],
    [char, 'ba🐳\na'],
  ] as Array<[Tokenizer, string]>) {
    const encoded = tok.encode(text);
    const dec = tok.decoder();
    let out = '';
    for (const id of encoded) out += dec.push(id);
    assert.is(out, tok.decode(encoded));
  }
});

// --- vocab.json ---

test('vocab JSON round trip keeps ids, for both levels', () => {
  const texts: Array<[Tokenizer, string]> = [
    [CharTokenizer.fromText('zebra 🐳 Ünïcödé\n'), 'bra 🐳 dé\n'],
    [WordTokenizer.fromText('the cat sat on the mat\nthe end\n', { minCount: 1 }), 'the mat sat dog\n'],
  ];
  for (const [tok, sample] of texts) {
    const json = JSON.parse(JSON.stringify(tok.toJSON())) as unknown;
    const back = tokenizerFromJSON(json, 'ckpt/vocab.json');
    assert.is(back.level, tok.level);
    assert.is(back.vocabSize, tok.vocabSize);
    assert.equal(back.toJSON(), tok.toJSON());
    assert.equal(ids(back.encode(sample)), ids(tok.encode(sample)));
    assert.is(back.decode(back.encode(sample)), tok.decode(tok.encode(sample)));
  }
  // A vocabulary whose specials sit elsewhere (e.g. converted from PyTorch's example) works.
  const moved = tokenizerFromJSON({ level: 'word', tokens: ['a', '<eos>', 'b', '<unk>'], specials: { eos: 1, unk: 3 } }, 'v.json');
  assert.equal(ids(moved.encode('a b c\n')), [0, 2, 3, 1]);
  assert.is(moved.decode([0, 1, 2]), 'a\nb');
});

test('broken vocab JSON is ERR_RNNLM_CHECKPOINT naming the source and the problem', () => {
  const bad: Array<[unknown, RegExp]> = [
    [null, /object/],
    [[], /object/],
    [{ level: 'byte', tokens: ['a'], specials: {} }, /level/],
    [{ level: 'char', tokens: 'abc', specials: {} }, /tokens/],
    [{ level: 'char', tokens: [], specials: {} }, /no tokens/],
    [{ level: 'char', tokens: ['a', 'b', 'a'], specials: {} }, /token 2 .*duplicates token 0/],
    [{ level: 'char', tokens: ['a', 7], specials: {} }, /token 1 must be a string/],
    [{ level: 'char', tokens: ['a', 'bc'], specials: {} }, /one character/],
    [{ level: 'char', tokens: ['a', ''], specials: {} }, /empty/],
    [{ level: 'char', tokens: ['a'] }, /specials/],
    [{ level: 'word', tokens: ['<unk>', '<eos>', 'a b'], specials: { unk: 0, eos: 1 } }, /whitespace/],
    [{ level: 'word', tokens: ['<unk>', '<eos>'], specials: { unk: 0 } }, /"eos"/],
    [{ level: 'word', tokens: ['<unk>', '<eos>'], specials: { unk: 0, eos: 2 } }, /out of range|\[0, 2\)/],
    [{ level: 'word', tokens: ['<unk>', '<eos>'], specials: { unk: 0, eos: -1 } }, /\[0, 2\)/],
    [{ level: 'word', tokens: ['<unk>', '<eos>'], specials: { unk: 0, eos: '1' } }, /\[0, 2\)/],
    [{ level: 'word', tokens: ['<unk>', '<eos>'], specials: { unk: 1, eos: 1 } }, /share/],
  ];
  for (const [json, pattern] of bad) {
    const e = throwsCode(() => tokenizerFromJSON(json, 'run/best/vocab.json'), 'ERR_RNNLM_CHECKPOINT');
    assert.ok(e.message.startsWith('run/best/vocab.json: '), e.message);
    assert.ok(pattern.test(e.message), `${JSON.stringify(json)}: ${e.message}`);
  }
});

test('tokenizerFromText picks the level', () => {
  assert.is(tokenizerFromText('ab ab\n', 'char').vocabSize, 4);
  assert.is(tokenizerFromText('ab ab\n', 'word').vocabSize, 3);
  assert.is(tokenizerFromText('a a b\n', 'word', { minCount: 2 }).vocabSize, 3);
  throwsCode(() => tokenizerFromText('ab', 'byte' as never), 'ERR_RNNLM_ARGUMENT');
});

test('optional: PTB gives the usual 10,000-word vocabulary (skipped without ../shared)', () => {
  const file = path.resolve('../shared/data/ptb/ptb.train.txt');
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file, 'utf8');
  const tok = WordTokenizer.fromText(text);
  assert.is(tok.vocabSize, 10000);
  const encoded = tok.encode(text);
  assert.is(encoded.length, 929589, 'the standard count of PTB training tokens');
  assert.ok(!encoded.includes(-1));
});

test.run();
