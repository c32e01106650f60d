// Reading a corpus from disk: one UTF-8 file, or a folder of them. Every failure names the path
// and what is wrong with it, since "train" is often the first command a user runs.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { rnnlmError } from '../errors.js';
import { decodeUtf8, isBlank, sniffBytes } from './text_bytes.js';

/** A file of a folder corpus that was left out, and why. */
export interface SkippedFile {
  path: string;
  reason: 'binary' | 'empty' | 'broken link' | 'not a regular file';
}

export interface Corpus {
  /** The text, BOMs dropped and CRLF turned into LF; files joined by a newline where needed. */
  text: string;
  /** The files read, in the order their text appears. */
  files: string[];
  /** Files of a folder that were not used (hidden files are not listed: they are never looked at). */
  skipped: SkippedFile[];
}

/**
 * Reads a UTF-8 text file, or every text file under a folder (recursively; paths sorted by
 * code unit so that the order does not depend on the locale or the file system; names starting
 * with "." skipped). In a folder, binary and empty files are skipped (listed in `skipped`), while
 * a file that looks like text but is not UTF-8 is an error: silently dropping it would hide it.
 * Throws ERR_RNNLM_DATA for a missing path, empty or whitespace-only text, a binary or UTF-16
 * file, invalid UTF-8 (with line and byte offset), a folder without text files, or a path that
 * is neither a file nor a folder; ERR_RNNLM_IO when the OS refuses to read.
 */
export function readCorpus(path: string): Corpus {
  if (typeof path !== 'string' || path.length === 0) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `readCorpus: the path must be a non-empty string, got ${String(path)}`, 'type');
  }
  const stat = statOrThrow(path);
  if (stat.isFile()) return { text: readTextFile(path), files: [path], skipped: [] };
  if (stat.isDirectory()) return readFolder(path);
  throw rnnlmError('ERR_RNNLM_DATA', `${path} is neither a file nor a folder; pass a UTF-8 text file or a folder of them`);
}

/**
 * Reads one file as training text (see readCorpus for the checks). Exported for callers that
 * must insist on a single file (e.g. `eval --data`).
 */
export function readTextFile(path: string): string {
  const bytes = readBytes(path);
  const verdict = sniffBytes(bytes);
  if (verdict !== null) throw verdictError(path, verdict);
  const text = decodeUtf8(bytes, path);
  if (text.length === 0) throw rnnlmError('ERR_RNNLM_DATA', `${path} is empty`);
  if (isBlank(text)) throw rnnlmError('ERR_RNNLM_DATA', `${path} contains only whitespace`);
  return text;
}

function verdictError(path: string, verdict: 'empty' | 'utf16' | 'binary'): Error {
  switch (verdict) {
    case 'empty':
      return rnnlmError('ERR_RNNLM_DATA', `${path} is empty`);
    case 'utf16':
      return rnnlmError('ERR_RNNLM_DATA', `${path} is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8`);
    case 'binary':
      return rnnlmError('ERR_RNNLM_DATA', `${path} looks binary (NUL bytes or many control characters), not like UTF-8 text`);
  }
}

function readFolder(root: string): Corpus {
  const found: string[] = [];
  const skipped: SkippedFile[] = [];
  walk(root, found, skipped, new Set([realpath(root)]));
  found.sort(compareCodeUnits);
  const files: string[] = [];
  const parts: string[] = [];
  for (const file of found) {
    const bytes = readBytes(file);
    const verdict = sniffBytes(bytes);
    if (verdict === 'binary' || verdict === 'empty') {
      skipped.push({ path: file, reason: verdict });
      continue;
    }
    if (verdict !== null) throw verdictError(file, verdict);
    const text = decodeUtf8(bytes, file);
    if (isBlank(text)) {
      skipped.push({ path: file, reason: 'empty' });
      continue;
    }
    files.push(file);
    parts.push(text);
  }
  if (files.length === 0) {
    const detail = skipped.length > 0 ? ` (${skipped.length} skipped: ${describeSkipped(skipped)})` : '';
    throw rnnlmError('ERR_RNNLM_DATA', `the folder ${root} contains no text files${detail}`);
  }
  skipped.sort((a, b) => compareCodeUnits(a.path, b.path));
  return { text: joinTexts(parts), files, skipped };
}

// Files are concatenated as if by `cat`, except that a file without a final newline does not
// run into the first line of the next one.
function joinTexts(parts: readonly string[]): string {
  let out = '';
  for (const part of parts) {
    if (out.length > 0 && !out.endsWith('\n')) out += '\n';
    out += part;
  }
  return out;
}

function walk(dir: string, found: string[], skipped: SkippedFile[], seen: Set<string>): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw ioError(`cannot list the folder ${dir}`, error);
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = nodePath.join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      let target: fs.Stats;
      try {
        target = fs.statSync(full);
      } catch {
        skipped.push({ path: full, reason: 'broken link' });
        continue;
      }
      isDir = target.isDirectory();
      isFile = target.isFile();
    }
    if (isDir) {
      // A link back up the tree would otherwise recurse forever.
      const real = realpath(full);
      if (seen.has(real)) continue;
      seen.add(real);
      walk(full, found, skipped, seen);
    } else if (isFile) {
      found.push(full);
    } else {
      skipped.push({ path: full, reason: 'not a regular file' });
    }
  }
}

/**
 * One line naming the files a folder corpus left out ("skipped 2 files of data/: a.bin
 * (binary), b.txt (empty)"), or null when none was; commands print it once, so that a file the
 * user meant to train on is not dropped silently.
 */
export function skippedFilesNote(skipped: readonly SkippedFile[]): string | null {
  if (skipped.length === 0) return null;
  const listed = skipped.map((s) => `${s.path} (${s.reason})`);
  const shown = listed.length > 10 ? [...listed.slice(0, 10), `and ${listed.length - 10} more`] : listed;
  return `skipped ${skipped.length} file${skipped.length > 1 ? 's' : ''} that hold no text: ${shown.join(', ')}`;
}

function describeSkipped(skipped: readonly SkippedFile[]): string {
  const shown = skipped.slice(0, 3).map((s) => `${s.path} (${s.reason})`);
  return shown.join(', ') + (skipped.length > 3 ? `, ...` : '');
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function statOrThrow(path: string): fs.Stats {
  try {
    return fs.statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw rnnlmError('ERR_RNNLM_DATA', `${path} does not exist`);
    }
    throw ioError(`cannot read ${path}`, error);
  }
}

function readBytes(path: string): Uint8Array {
  try {
    return fs.readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw rnnlmError('ERR_RNNLM_DATA', `${path} does not exist`);
    throw ioError(`cannot read ${path}`, error);
  }
}

function realpath(path: string): string {
  try {
    return fs.realpathSync(path);
  } catch {
    return nodePath.resolve(path);
  }
}

function ioError(what: string, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  return rnnlmError('ERR_RNNLM_IO', `${what}: ${reason}`);
}
