// Reading a whole file that must be a regular file. A FIFO, a device (/dev/zero) or a folder
// where a file is expected is refused at once: reading one would block until a writer comes,
// read forever, or fail with an errno that says nothing about the cause.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/** What readRegularFile throws for anything but a regular file (the OS errors keep their codes). */
export const NOT_REGULAR_FILE = 'ENOTREGULAR';

/**
 * The bytes of the regular file at `path` (symbolic links followed). Throws the OS error
 * (ENOENT, EACCES...) or, for a FIFO, device, socket or folder, an Error with code
 * NOT_REGULAR_FILE, before reading anything.
 */
export function readRegularFile(path: string): Buffer {
  // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for one.
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const kind = stat.isDirectory() ? 'a folder' : stat.isFIFO() ? 'a FIFO' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'a device' : 'not a regular file';
      throw Object.assign(new Error(`${path} is ${kind}, not a regular file`), { code: NOT_REGULAR_FILE });
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
