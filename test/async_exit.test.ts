// A process using the async API exits by itself when its work is done (an idle worker holds no
// reference), waits for a pending result (a busy one does), and exits cleanly when it aborts a
// generation or evaluation, or calls process.exit() while its worker is inside an engine call.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const api = pathToFileURL(join(root, 'src', 'index.ts')).href;

const PREAMBLE = `
import { CharTokenizer, Generator, LanguageModel, evaluateTextAsync, generate, generateAsync } from ${JSON.stringify(api)};
const tokenizer = CharTokenizer.fromText('abcdefghijklmnopqrstuvwxyz .\\n');
const model = new LanguageModel({ vocabSize: tokenizer.vocabSize, embedding: 16, hidden: 128, layers: 2, cell: 'lstm', dropout: 0 }, { generator: new Generator(1) });
`;

/** Runs `body` after PREAMBLE as an ES module; its exit code, output and duration. */
function runScript(body: string): { status: number | null; stdout: string; stderr: string } {
  const work = mkdtempSync(join(tmpdir(), 'rnnlm-async-exit-'));
  try {
    const file = join(work, 'script.mts');
    writeFileSync(file, PREAMBLE + body);
    const r = spawnSync(process.execPath, ['--import', tsx, file], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, RNNLM_THREADS: '1' } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

test('a script awaiting generateAsync gets its text and then exits by itself', () => {
  const r = runScript(`
const text = await generateAsync(model, tokenizer, { length: 50, seed: 2 });
console.log(text === generate(model, tokenizer, { length: 50, seed: 2 }) ? 'same' : 'different');
`);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'same\n');
});

test('aborted generation and evaluation leave no worker that keeps the process alive', () => {
  const r = runScript(`
const g = new AbortController();
let n = 0;
const generation = generateAsync(model, tokenizer, { length: 1_000_000, signal: g.signal, onText: () => { if (++n === 10) g.abort(); } });
await generation.catch((e) => console.log(e.code));
const e = new AbortController();
setTimeout(() => e.abort(), 30);
await evaluateTextAsync(model, tokenizer, 'the sea was calm. '.repeat(20000), { chunk: 2, signal: e.signal }).catch((error) => console.log(error.code));
`);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'ERR_RNNLM_ABORTED\nERR_RNNLM_ABORTED\n');
});

test('process.exit() while the worker is generating ends the process cleanly', () => {
  const r = runScript(`
let n = 0;
void generateAsync(model, tokenizer, { length: 1_000_000, onText: () => { if (++n === 100) { console.log('exiting'); process.exit(0); } } });
`);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'exiting\n');
  assert.not.match(r.stderr, /terminate called/);
});

test.run();
