// No import cycles in src/: a module graph with cycles makes load order matter (a class can be
// undefined when a module in the cycle first runs) and hides which layer depends on which.
// Type-only imports count too: they tie the files' designs together just the same.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

// `import ... from './x.js'`, `export ... from './x.js'` and `import('./x.js')`, relative only.
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
}

/** The cycles of `graph` (file -> files it imports), found by a depth-first walk. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const found: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

test('the walk finds cycles, and only cycles (a made-up graph)', () => {
  const graph = new Map([
    ['a', ['b', 'c']],
    ['b', ['c']],
    ['c', ['d']],
    ['d', ['b']],
    ['e', ['e']],
  ]);
  assert.equal(cycles(graph), [['b', 'c', 'd', 'b'], ['e', 'e']]);
  assert.equal(cycles(new Map([['a', ['b']], ['b', []]])), []);
});

test('every kind of relative import is seen', () => {
  const text = "import { a } from './a.js';\nimport type { B } from '../b.js';\nexport * from './c.js';\nimport './d.js';\nconst e = await import('./e.js');\nimport { x } from 'node:fs';";
  assert.equal([...text.matchAll(IMPORT)].map((m) => m[1]), ['./a.js', '../b.js', './c.js', './d.js', './e.js']);
});

test('src/ has no import cycles', () => {
  const graph = new Map(sourceFiles(src).map((f) => [f, importsOf(f)]));
  const found = cycles(graph).map((c) => c.map((f) => relative(src, f)).join(' -> '));
  assert.equal(found, [], `import cycles in src/:\n${found.join('\n')}`);
});

test.run();
