// Labelled texts from disk, in one of two layouts:
//  - a folder of LABEL.txt files, one example a line (the names-to-language data set);
//  - a CSV file whose header names a text column and a label column (quoted fields allowed).
// Texts are trimmed and put in Unicode NFC, so "José" typed with a combining accent is the same
// characters as the file's. Every problem names the file (and the line) and what is wrong.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { rnnlmError } from '../errors.js';
import { decodeUtf8, sniffBytes } from '../data/text_bytes.js';
import { parseCsv } from './csv.js';

export interface Example {
  text: string;
  /** Index into the data set's labels. */
  label: number;
}

export interface ClassificationData {
  /** The path read, absolute. */
  source: string;
  /** Label names; an example's label is an index into them. */
  labels: string[];
  examples: Example[];
  /** Where each example comes from ("file:line"), for messages. */
  origins: string[];
}

export interface ReadClassificationOptions {
  /** CSV: the text column's header (default "text"). */
  textColumn?: string;
  /** CSV: the label column's header (default "label"). */
  labelColumn?: string;
  /**
   * The labels a model knows (eval): examples are numbered by them and any other label is an
   * error. Without it the labels are those of the data, sorted.
   */
  labels?: readonly string[];
}

/** Text as the classifier sees it: trimmed, NFC. */
export function normalizeText(text: string): string {
  return text.trim().normalize('NFC');
}

interface RawExample {
  text: string;
  label: string;
  origin: string;
}

/**
 * Reads a folder of LABEL.txt files or a CSV file (see the file comment). Throws ERR_RNNLM_DATA
 * for a missing path, a folder without .txt files, an empty label file, a file that is not UTF-8
 * text, a CSV without the two columns, a row of the wrong width, an empty text or label, or
 * (with `labels`) a label the model does not know; ERR_RNNLM_IO when the OS refuses to read.
 */
export function readClassificationData(path: string, options: ReadClassificationOptions = {}): ClassificationData {
  if (typeof path !== 'string' || path.length === 0) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', 'readClassificationData: the path must be a non-empty string', 'type');
  }
  const source = nodePath.resolve(path);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw rnnlmError('ERR_RNNLM_DATA', `${path} does not exist`);
    throw ioError(`cannot read ${path}`, error);
  }
  let raw: RawExample[];
  if (stat.isDirectory()) raw = readLabelFolder(source);
  else if (stat.isFile()) raw = readCsvFile(source, options.textColumn ?? 'text', options.labelColumn ?? 'label');
  else throw rnnlmError('ERR_RNNLM_DATA', `${path} is neither a file nor a folder; pass a folder of LABEL.txt files or a CSV file`);
  if (raw.length === 0) throw rnnlmError('ERR_RNNLM_DATA', `${source} holds no examples`);

  const labels = options.labels !== undefined ? [...options.labels] : [...new Set(raw.map((r) => r.label))].sort(compareCodeUnits);
  const index = new Map(labels.map((l, i) => [l, i]));
  const examples: Example[] = [];
  const origins: string[] = [];
  for (const r of raw) {
    const label = index.get(r.label);
    if (label === undefined) {
      throw rnnlmError('ERR_RNNLM_DATA', `${r.origin}: the label ${JSON.stringify(r.label)} is not one the model knows (${labels.join(', ')})`);
    }
    examples.push({ text: r.text, label });
    origins.push(r.origin);
  }
  return { source, labels, examples, origins };
}

function readLabelFolder(dir: string): RawExample[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw ioError(`cannot list the folder ${dir}`, error);
  }
  const files = entries
    .filter((e) => !e.name.startsWith('.') && e.name.toLowerCase().endsWith('.txt') && (e.isFile() || e.isSymbolicLink()))
    .map((e) => e.name)
    .sort(compareCodeUnits);
  if (files.length === 0) {
    throw rnnlmError('ERR_RNNLM_DATA', `the folder ${dir} has no LABEL.txt files (one file per label, one example a line)`);
  }
  const out: RawExample[] = [];
  for (const name of files) {
    const file = nodePath.join(dir, name);
    const label = name.slice(0, -'.txt'.length);
    const text = readText(file);
    const lines = text.split('\n');
    let count = 0;
    lines.forEach((line, i) => {
      const t = normalizeText(line);
      // One example a line: blank lines (the final newline, spacing) carry none.
      if (t === '') return;
      out.push({ text: t, label, origin: `${file}:${i + 1}` });
      count++;
    });
    if (count === 0) {
      throw rnnlmError('ERR_RNNLM_DATA', `${file} is empty: the label file "${label}" needs at least one example, one a line`);
    }
  }
  return out;
}

function readCsvFile(file: string, textColumn: string, labelColumn: string): RawExample[] {
  const rows = parseCsv(readText(file), file);
  if (rows.length === 0) throw rnnlmError('ERR_RNNLM_DATA', `${file} is empty`);
  const header = rows[0]!.fields.map((h) => h.trim());
  const find = (name: string): number => {
    const exact = header.indexOf(name);
    if (exact >= 0) return exact;
    return header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  };
  const ti = find(textColumn);
  const li = find(labelColumn);
  const missing = [ti < 0 ? textColumn : null, li < 0 ? labelColumn : null].filter((m): m is string => m !== null);
  if (missing.length > 0) {
    throw rnnlmError(
      'ERR_RNNLM_DATA',
      `${file}: the header row has no ${missing.map((m) => `"${m}"`).join(' or ')} column (it has ${header.map((h) => JSON.stringify(h)).join(', ')}); ` +
        'a CSV needs a header naming a text and a label column, or pass a folder of LABEL.txt files',
    );
  }
  const out: RawExample[] = [];
  for (const row of rows.slice(1)) {
    const where = `${file}:${row.line}`;
    if (row.fields.length !== header.length) {
      throw rnnlmError('ERR_RNNLM_DATA', `${where}: ${row.fields.length} fields, but the header has ${header.length}`);
    }
    const text = normalizeText(row.fields[ti]!);
    const label = row.fields[li]!.trim();
    if (text === '') throw rnnlmError('ERR_RNNLM_DATA', `${where}: the text is empty`);
    if (label === '') throw rnnlmError('ERR_RNNLM_DATA', `${where}: the label is empty`);
    out.push({ text, label, origin: where });
  }
  if (out.length === 0) throw rnnlmError('ERR_RNNLM_DATA', `${file} has a header but no examples`);
  return out;
}

function readText(file: string): string {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw rnnlmError('ERR_RNNLM_DATA', `${file} does not exist`);
    throw ioError(`cannot read ${file}`, error);
  }
  const verdict = sniffBytes(bytes);
  if (verdict === 'empty') return '';
  if (verdict === 'utf16') throw rnnlmError('ERR_RNNLM_DATA', `${file} is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8`);
  if (verdict === 'binary') throw rnnlmError('ERR_RNNLM_DATA', `${file} looks binary (NUL bytes or many control characters), not like UTF-8 text`);
  return decodeUtf8(bytes, file);
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ioError(what: string, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  return rnnlmError('ERR_RNNLM_IO', `${what}: ${reason}`);
}
