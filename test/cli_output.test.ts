// The CLI when its output cannot be written: a reader that closed the pipe (`| head`) ends the
// command quietly with 0, a full disk is one ERR_RNNLM_IO line and status 1; never a Node trace.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src', 'cli', 'main.ts');
const work = mkdtempSync(join(tmpdir(), 'rnnlm-cli-output-'));
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const env = { ...process.env, RNNLM_THREADS: '1' };
const rnnlm = [process.execPath, '--import', tsx, main].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');

/** Runs `script` under bash in the working folder (the CLI is `$RNNLM`). */
function bash(script: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('bash', ['-c', script], { cwd: work, encoding: 'utf8', env: { ...env, RNNLM: rnnlm } });
}

/** A Node trace or an unhandled error event, which the CLI must never print. */
function assertNoTrace(stderr: string): void {
  assert.not.match(stderr, /Unhandled|node:events|^\s+at /m, stderr);
  assert.not.match(stderr, /\bError:/, stderr);
}

test.before(() => {
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) lines.push(`the whale ${i % 10} sea ship.`);
  writeFileSync(join(work, 'corpus.txt'), `${lines.join('\n')}\n`);
  const r = bash(
    'eval "$RNNLM" train --data corpus.txt --embedding 8 --hidden 16 --layers 1 --batch 4 --seq 16 --sample-every 0 --steps 2 --out run --json',
  );
  assert.is(r.status, 0, r.stderr);
  assert.ok(existsSync(join(work, 'run', 'last', 'model.safetensors')));
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('sample into a pipe its reader closes (| head -c 10) stops generating, ends with 0 and no trace', () => {
  // 2 million tokens take minutes to generate: the command must stop at the first failed write.
  const started = performance.now();
  const r = bash('eval "$RNNLM" sample -c run/last -n 2000000 2>err.txt | head -c 10 >/dev/null; echo "${PIPESTATUS[0]}"; cat err.txt');
  const seconds = (performance.now() - started) / 1000;
  const [status, ...stderr] = r.stdout.split('\n');
  assert.is(status, '0', r.stdout);
  assertNoTrace(stderr.join('\n'));
  assert.ok(seconds < 20, `sample went on for ${seconds.toFixed(1)} s after its reader left`);
});

test('sample and eval --json into a full disk (/dev/full): one ERR_RNNLM_IO line, status 1', () => {
  for (const command of ['sample -c run/last -n 50', 'eval -c run/last --data corpus.txt --json']) {
    const r = bash(`eval "$RNNLM" ${command} > /dev/full`);
    assert.is(r.status, 1, `${command}: ${r.stderr}`);
    assert.match(r.stderr, /^rnnlm: ERR_RNNLM_IO: cannot write to stdout: ENOSPC/m, r.stderr);
    assertNoTrace(r.stderr);
    assert.is(r.stderr.split('\n').filter((l) => l.includes('ERR_RNNLM_IO')).length, 1, r.stderr);
  }
});

test('train --json into a closed pipe saves its last checkpoint and ends with 0', () => {
  const r = bash(
    'eval "$RNNLM" train --data corpus.txt --embedding 8 --hidden 16 --layers 1 --batch 4 --seq 16 --sample-every 0 --steps 100000 --valid-every 1 --out piped --json 2>err.txt | head -c 10 >/dev/null; echo "${PIPESTATUS[0]}"; cat err.txt',
  );
  const [status, ...stderr] = r.stdout.split('\n');
  assert.is(status, '0', r.stdout);
  assertNoTrace(stderr.join('\n'));
  assert.ok(existsSync(join(work, 'piped', 'last', 'trainer.json')), 'last checkpoint saved');
});

test.run();
