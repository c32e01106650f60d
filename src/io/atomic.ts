// Crash-safe writes. A file is written under a temporary name in its own folder, flushed to disk
// and renamed over the target; a folder is built complete as a hidden sibling and swapped in.
// Either way a reader (or a crash) sees the old content or the new, never a half-written one.
// Synchronous on purpose: the training loop that saves checkpoints is synchronous.
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { rnnlmError } from '../errors.js';

function ioError(path: string, what: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return rnnlmError('ERR_RNNLM_IO', `${path}: cannot ${what} (${message})`);
}

const SIBLING_TAGS = ['tmp', 'old'] as const;

/**
 * A name in `dir` that no other writer (another process or call) will pick. It carries the
 * writer's pid so that a later save can tell a dead writer's leftover from a live one's work.
 */
function siblingName(path: string, tag: (typeof SIBLING_TAGS)[number]): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** The pid in a sibling name of `target` (`.<name>.<tag>-<pid>-<hex>`), or null for other names. */
function siblingWriterPid(target: string, entry: string): number | null {
  const prefix = `.${basename(target)}.`;
  if (!entry.startsWith(prefix)) return null;
  const match = new RegExp(`^(?:${SIBLING_TAGS.join('|')})-([1-9][0-9]*)-[0-9a-f]+$`).exec(entry.slice(prefix.length));
  return match === null ? null : Number(match[1]);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temporary and set-aside siblings of `target` left by writers that died (killed
 * mid-save, a crash between the two renames of a swap): each can be a full checkpoint, and
 * nothing else would ever remove them. Called after `target` holds a complete new version, so
 * none of them is the only copy any more. A live writer's sibling (this process's included) is
 * left alone; a pid reused by an unrelated process only delays the removal to a later save.
 */
function removeDeadWritersSiblings(target: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dirname(target));
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = siblingWriterPid(target, entry);
    if (pid !== null && !isAlive(pid)) removeQuietly(join(dirname(target), entry));
  }
}

function writeAndSync(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename or a new entry in `dir` durable. */
function syncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return; // Some platforms (Windows) cannot open folders; their renames need no folder sync.
  }
  try {
    fsyncSync(fd);
  } catch {
    // EINVAL/EPERM on file systems that cannot sync folders: nothing more can be done there.
  } finally {
    closeSync(fd);
  }
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // Best effort: the caller is already reporting the error that matters.
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `data` (a string is UTF-8) to `path` atomically: a temporary file in the same folder,
 * written and fsynced, then renamed over `path`, then the folder fsynced. OS errors are
 * ERR_RNNLM_IO naming the path; no temporary file is left behind, and those that writers killed
 * mid-write left beside `path` are removed.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const target = resolve(path);
  const temp = siblingName(target, 'tmp');
  try {
    writeAndSync(temp, data);
  } catch (error) {
    removeQuietly(temp);
    throw ioError(target, 'write', error);
  }
  try {
    renameSync(temp, target);
  } catch (error) {
    removeQuietly(temp);
    throw ioError(target, 'replace', error);
  }
  syncDir(dirname(target));
  removeDeadWritersSiblings(target);
}

function checkFileName(dir: string, name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${dir}: '${name}' is not a plain file name`);
  }
}

/**
 * Replaces the folder `dir` by one holding exactly `files` (plain names -> contents). The new
 * folder is written and fsynced as a hidden sibling, then the old `dir` (if any) is renamed
 * aside, the new one renamed in, and the old one removed. A failure before the swap leaves
 * `dir` as it was; a crash during the swap leaves either the old folder or the new one at
 * `dir`, or (between the two renames) the complete old one at `.<name>.old-*` beside it.
 * A successful swap then removes such leftovers of writers that are no longer running.
 * Parent folders are created. OS errors are ERR_RNNLM_IO naming the path.
 */
export function writeDirAtomic(dir: string, files: ReadonlyMap<string, Uint8Array | string>): void {
  const target = resolve(dir);
  for (const name of files.keys()) checkFileName(target, name);
  const parent = dirname(target);
  try {
    mkdirSync(parent, { recursive: true });
  } catch (error) {
    throw ioError(parent, 'create the folder', error);
  }

  const temp = siblingName(target, 'tmp');
  try {
    mkdirSync(temp);
    for (const [name, data] of files) writeAndSync(join(temp, name), data);
    syncDir(temp);
  } catch (error) {
    removeQuietly(temp);
    const path = error instanceof Error && 'path' in error && typeof error.path === 'string' ? error.path : temp;
    throw ioError(path, 'write', error);
  }

  let old: string | null = null;
  if (exists(target)) {
    old = siblingName(target, 'old');
    try {
      renameSync(target, old);
    } catch (error) {
      removeQuietly(temp);
      throw ioError(target, 'move the previous version aside', error);
    }
  }
  try {
    renameSync(temp, target);
  } catch (error) {
    // Put the previous version back so that `dir` keeps a complete checkpoint.
    if (old !== null) {
      try {
        renameSync(old, target);
      } catch {
        // Leaves it at `old`, which the error names.
      }
    }
    removeQuietly(temp);
    throw ioError(target, `move the new version in${old !== null && !exists(target) ? ` (the previous one is at ${old})` : ''}`, error);
  }
  syncDir(parent);
  if (old !== null) removeQuietly(old);
  removeDeadWritersSiblings(target);
}
