// examples/sse_server.ts (issue 16) serves a saved model's generation as server-sent events, one
// event per piece, which join to generate's text; SIGINT closes it and the process exits.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CharTokenizer, Generator, LanguageModel, generate, saveLanguageModel } from '../src/index.js';
import { TEXT } from './async-helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

test('examples/sse_server.ts streams the generated text token by token', async () => {
  const work = mkdtempSync(join(tmpdir(), 'rnnlm-sse-'));
  const tokenizer = CharTokenizer.fromText(TEXT);
  const model = new LanguageModel({ vocabSize: tokenizer.vocabSize, embedding: 16, hidden: 64, layers: 2, cell: 'lstm', dropout: 0 }, { generator: new Generator(3) });
  const dir = join(work, 'model');
  saveLanguageModel(dir, model, { vocab: tokenizer.toJSON() });
  const server = spawn(process.execPath, ['--import', tsx, join(root, 'examples', 'sse_server.ts'), dir, '0'], {
    cwd: root,
    env: { ...process.env, RNNLM_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (\S+)/.exec(out);
        if (match !== null) resolve(match[1]!);
      });
      void exited.then((code) => reject(new Error(`the server exited (${code}): ${stderr}`)));
    });
    const response = await fetch(`${url}?prime=${encodeURIComponent('The ')}&length=80&seed=5`);
    assert.is(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const body = await response.text();
    const events = body.split('\n\n').filter((e) => e !== '');
    assert.is(events.at(-1), 'event: end\ndata: {}');
    const pieces = events.slice(0, -1).map((e) => {
      assert.ok(e.startsWith('data: '), e);
      return JSON.parse(e.slice('data: '.length)) as string;
    });
    assert.is(pieces.length, 81, 'the prime, then one event per token');
    assert.is(pieces.join(''), generate(model, tokenizer, { prime: 'The ', length: 80, seed: 5 }));
  } finally {
    server.kill('SIGINT');
    const code = await exited;
    model.dispose();
    rmSync(work, { recursive: true, force: true });
    assert.is(code, 0, stderr);
  }
});

test.run();
