// npm links the `bin` of dependencies into node_modules/.bin but never the project's own, so in a
// clone `npx rnnlm` would fetch and rebuild the project as a package instead of running it. Run by
// `prepare` (after `npm install` in a clone), this links node_modules/.bin/rnnlm to the build.
import { existsSync, lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
const link = join(binDir, 'rnnlm');
const target = join(root, 'dist', 'cli', 'main.js');

if (existsSync(join(root, 'node_modules'))) {
  mkdirSync(binDir, { recursive: true });
  try {
    if (lstatSync(link, { throwIfNoEntry: false }) !== undefined) unlinkSync(link);
    symlinkSync(relative(binDir, target), link);
  } catch (error) {
    // Only `npx rnnlm` in a clone depends on it; `node dist/cli/main.js` always works.
    console.warn(`rnnlm: could not link ${link}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
