// Reading corpora (files, folders, and every way they can be unusable), the bundled default
// corpus, and the train/valid split.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCorpus, readTextFile } from '../src/data/reader.js';
import { defaultCorpus } from '../src/data/default_corpus.js';
import { splitTrainValid } from '../src/data/split.js';
import { firstInvalidUtf8, sniffBytes } from '../src/data/text_bytes.js';
import { CharTokenizer } from '../src/data/char_tokenizer.js';
import { WordTokenizer, splitWords } from '../src/data/word_tokenizer.js';
import { throwsCode } from './api-helpers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlm-data-test-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** Writes `content` to a fresh file under the temp root. */
function write(content: string | Uint8Array, name = `f${counter++}.txt`): string {
  const file = path.join(root, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}
function folder(files: Record<string, string | Uint8Array>): string {
  const dir = path.join(root, `dir${counter++}`);
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// --- single files ---

test('a UTF-8 file is read as is, with its path listed', () => {
  const file = write('héllo wörld 🐳\nsecond line\n');
  const corpus = readCorpus(file);
  assert.is(corpus.text, 'héllo wörld 🐳\nsecond line\n');
  assert.equal(corpus.files, [file]);
  assert.equal(corpus.skipped, []);
  assert.is(readTextFile(file), corpus.text);
});

test('a leading BOM is dropped and CRLF becomes LF (a lone CR is kept)', () => {
  const file = write(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('one\r\ntwo\r\nthree\rfour\r\n')]));
  assert.is(readCorpus(file).text, 'one\ntwo\nthree\rfour\n');
});

test('a missing path is ERR_RNNLM_DATA naming it', () => {
  const missing = path.join(root, 'no-such-file.txt');
  const e = throwsCode(() => readCorpus(missing), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes(missing) && /does not exist/.test(e.message), e.message);
});

test('an empty file, and a file with only whitespace, are errors naming the file', () => {
  const empty = write('');
  let e = throwsCode(() => readCorpus(empty), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes(empty) && /empty/.test(e.message), e.message);
  const bomOnly = write(Buffer.from([0xef, 0xbb, 0xbf]));
  e = throwsCode(() => readCorpus(bomOnly), 'ERR_RNNLM_DATA');
  assert.ok(/empty/.test(e.message), e.message);
  const blank = write('  \n\t\r\n   \n');
  e = throwsCode(() => readCorpus(blank), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes(blank) && /only whitespace/.test(e.message), e.message);
});

test('binary files (NUL bytes or many control bytes) "look binary"', () => {
  const withNul = write(Buffer.from('text\u0000more text\n', 'latin1'));
  let e = throwsCode(() => readCorpus(withNul), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes(withNul) && /looks binary/.test(e.message), e.message);
  const controls = Buffer.alloc(200);
  for (let i = 0; i < controls.length; i++) controls[i] = i % 3 === 0 ? 0x01 + (i % 7) : 0x41;
  const noisy = write(controls);
  e = throwsCode(() => readCorpus(noisy), 'ERR_RNNLM_DATA');
  assert.ok(/looks binary/.test(e.message), e.message);
  // Tabs, form feeds and a stray escape are ordinary text.
  assert.is(sniffBytes(Buffer.from('a\tb\fc\u001b[0m d\n'.repeat(20))), null);
});

test('a UTF-16 file is told apart from binary', () => {
  const file = write(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hello\n', 'utf16le')]));
  const e = throwsCode(() => readCorpus(file), 'ERR_RNNLM_DATA');
  assert.ok(/UTF-16/.test(e.message) && e.message.includes(file), e.message);
});

test('invalid UTF-8 reports the line and the byte offset', () => {
  // Latin-1 "é" (0xE9) on line 3, at byte 12.
  const bytes = Buffer.concat([Buffer.from('abc\ndef\ngh'), Buffer.from([0x20, 0xe9, 0x74]), Buffer.from('\nlast\n')]);
  const file = write(bytes);
  const e = throwsCode(() => readCorpus(file), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes(file), e.message);
  assert.ok(/UTF-8/.test(e.message), e.message);
  assert.ok(/line 3\b/.test(e.message), e.message);
  assert.ok(/byte offset 11\b/.test(e.message), e.message);
  assert.ok(/0xe9/.test(e.message), e.message);
});

test('firstInvalidUtf8 agrees with the decoder on tricky sequences', () => {
  const cases: Array<[number[], number]> = [
    [[0x61, 0xc3, 0xa9], -1], // é
    [[0xf0, 0x9f, 0x90, 0xb3], -1], // 🐳
    [[0x61, 0xc0, 0x80], 1], // overlong NUL
    [[0xe0, 0x80, 0x80], 0], // overlong
    [[0xed, 0xa0, 0x80], 0], // surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // beyond U+10FFFF
    [[0x61, 0x62, 0xe2, 0x82], 2], // truncated at the end
    [[0x80], 0], // lone continuation byte
    [[0x61, 0xc3, 0x28], 1], // bad continuation
  ];
  for (const [bytes, expected] of cases) {
    assert.is(firstInvalidUtf8(Uint8Array.from(bytes)), expected, `bytes ${bytes.map((b) => b.toString(16)).join(' ')}`);
    let valid = true;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    } catch {
      valid = false;
    }
    assert.is(valid, expected === -1, 'the same verdict as TextDecoder');
  }
});

test('a device path (neither file nor folder) is rejected', () => {
  if (!fs.existsSync('/dev/null')) return;
  const e = throwsCode(() => readCorpus('/dev/null'), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes('/dev/null') && /neither a file nor a folder/.test(e.message), e.message);
});

// --- folders ---

test('a folder: recursive, sorted paths, hidden files and folders skipped, newline between files', () => {
  const dir = folder({
    'b.txt': 'bee\n',
    'a.txt': 'ay without newline',
    'sub/c.txt': 'sea\n',
    'sub/.hidden.txt': 'HIDDEN\n',
    '.git/objects.txt': 'HIDDEN\n',
    'z/.z': 'HIDDEN\n',
  });
  const corpus = readCorpus(dir);
  assert.is(corpus.text, 'ay without newline\nbee\nsea\n');
  assert.equal(corpus.files, [path.join(dir, 'a.txt'), path.join(dir, 'b.txt'), path.join(dir, 'sub', 'c.txt')]);
  assert.equal(corpus.skipped, []);
});

test('a folder skips binary and empty files (listed) but rejects broken UTF-8', () => {
  const dir = folder({
    'a.txt': 'text\n',
    'image.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]),
    'empty.txt': '',
    'blank.txt': ' \n',
  });
  const corpus = readCorpus(dir);
  assert.is(corpus.text, 'text\n');
  assert.equal(
    corpus.skipped.map((s) => [path.basename(s.path), s.reason]),
    [
      ['blank.txt', 'empty'],
      ['empty.txt', 'empty'],
      ['image.png', 'binary'],
    ],
  );
  const broken = folder({ 'a.txt': 'fine\n', 'b.txt': Buffer.from([0x61, 0x0a, 0xff, 0x0a]) });
  const e = throwsCode(() => readCorpus(broken), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes(path.join(broken, 'b.txt')) && /line 2\b/.test(e.message), e.message);
});

test('a folder with no text files is an error naming the folder', () => {
  const emptyDir = folder({});
  let e = throwsCode(() => readCorpus(emptyDir), 'ERR_RNNLM_DATA');
  assert.ok(e.message.includes(emptyDir) && /no text files/.test(e.message), e.message);
  const onlyHidden = folder({ '.secret.txt': 'words\n' });
  throwsCode(() => readCorpus(onlyHidden), 'ERR_RNNLM_DATA');
  const onlyBinary = folder({ 'x.bin': Buffer.from([1, 0, 2, 0]) });
  e = throwsCode(() => readCorpus(onlyBinary), 'ERR_RNNLM_DATA');
  assert.ok(/no text files/.test(e.message) && /binary/.test(e.message), e.message);
});

test('a symbolic link loop in a folder does not recurse forever', () => {
  const dir = folder({ 'a.txt': 'alpha\n' });
  try {
    fs.symlinkSync(dir, path.join(dir, 'loop'), 'dir');
  } catch {
    return; // no symlinks on this file system
  }
  assert.is(readCorpus(dir).text, 'alpha\n');
});

// --- the default corpus ---

test('the default corpus is Moby Dick, offline, over a million characters', () => {
  const corpus = defaultCorpus();
  assert.is(corpus.name, 'moby-dick');
  assert.ok(corpus.text.length > 1e6, `length ${corpus.text.length}`);
  assert.ok(corpus.text.includes('CHAPTER 1. Loomings.\n\nCall me Ishmael.'));
  assert.ok(corpus.text.includes('CHAPTER 135. The Chase.—Third Day.'));
  assert.ok(!corpus.text.includes('\r'));
  assert.is(defaultCorpus().text, corpus.text, 'deterministic');
  const chars = CharTokenizer.fromText(corpus.text);
  assert.ok(chars.vocabSize > 60 && chars.vocabSize < 120, `char vocabulary ${chars.vocabSize}`);
});

// --- train / valid split ---

test('char split: exactly the last fraction, in code points, never inside a surrogate pair', () => {
  const text = 'abcdefghij'.repeat(10);
  const { train, valid } = splitTrainValid(text, 0.1, 'char');
  assert.is(train, text.slice(0, 90));
  assert.is(valid, text.slice(90));
  // 10 code points, 4 of them astral (2 UTF-16 units each): the cut is after 9 code points.
  const astral = 'a🐳b🐳c🐳d🐳ef';
  const split = splitTrainValid(astral, 0.1, 'char');
  assert.is(split.train + split.valid, astral);
  assert.equal([...split.valid], ['f']);
  const s2 = splitTrainValid('🐳🐳🐳🐳🐳🐳🐳🐳🐳🐳', 0.3, 'char');
  assert.equal([...s2.train].length, 7);
  assert.equal([...s2.valid].length, 3);
  assert.ok(!/^[\udc00-\udfff]/.test(s2.valid), 'the validation part does not start with a low surrogate');
});

test('word split: cut at the nearest line boundary, tokens preserved', () => {
  const lines = Array.from({ length: 20 }, (_, i) => `line number ${i} here`);
  const text = lines.join('\n') + '\n';
  const { train, valid } = splitTrainValid(text, 0.1, 'word');
  assert.is(train + valid, text);
  assert.ok(train.endsWith('\n'), 'train ends at a line end');
  assert.equal(valid.split('\n').filter(Boolean).length, 2, 'about 10% of 20 lines');
  assert.equal([...splitWords(train), ...splitWords(valid)], splitWords(text), 'no line broken in two');
  // The cut is the boundary nearest to the 90% point, even if that means a larger train part.
  const uneven = 'a\n' + 'b '.repeat(40) + 'b\n' + 'c c\n';
  const s = splitTrainValid(uneven, 0.1, 'word');
  assert.is(s.valid, 'c c\n');
});

test('word split without a newline at the end of the text', () => {
  const text = 'one two\nthree four\nfive six\nseven eight\nnine ten';
  const { train, valid } = splitTrainValid(text, 0.2, 'word');
  assert.is(train + valid, text);
  assert.is(valid, 'nine ten');
  const tok = WordTokenizer.fromText(text);
  assert.equal([...tok.encode(train), ...tok.encode(valid)], [...tok.encode(text)]);
});

test('split errors: empty parts, one-line word text, bad fractions', () => {
  throwsCode(() => splitTrainValid('abc', 0.1, 'char'), 'ERR_RNNLM_DATA'); // 10% of 3 rounds to 0
  throwsCode(() => splitTrainValid('', 0.5, 'char'), 'ERR_RNNLM_DATA');
  const e = throwsCode(() => splitTrainValid('a single long line of words without any newline at all', 0.1, 'word'), 'ERR_RNNLM_DATA');
  assert.ok(/line boundary/.test(e.message), e.message);
  // The only boundary leaves a blank validation part.
  throwsCode(() => splitTrainValid('words words words words words\n\n', 0.1, 'word'), 'ERR_RNNLM_DATA');
  throwsCode(() => splitTrainValid('abcdefghij', 0, 'char'), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => splitTrainValid('abcdefghij', 1, 'char'), 'ERR_RNNLM_ARGUMENT');
  throwsCode(() => splitTrainValid('abcdefghij', Number.NaN, 'char'), 'ERR_RNNLM_ARGUMENT');
});

test('optional: tiny-shakespeare reads as 65 characters (skipped without ../shared)', () => {
  const file = path.resolve('../shared/data/tinyshakespeare/input.txt');
  if (!fs.existsSync(file)) return;
  const text = readCorpus(file).text;
  assert.is(CharTokenizer.fromText(text).vocabSize, 65);
  const { train, valid } = splitTrainValid(text, 0.1, 'char');
  assert.is(train.length + valid.length, text.length);
  assert.is(valid.length, Math.round(text.length * 0.1));
});

test.run();
