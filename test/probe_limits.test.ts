// The probe's size and trainer-state cases of issue 15 (items 2 and 3), as regression tests:
// every size is checked before anything is allocated, and a resumed run checks trainer.json
// before it builds anything. Each case must be refused with ERR_RNNLM_OOM or ERR_RNNLM_CONFIG
// (a tampered trainer.json may also be ERR_RNNLM_CHECKPOINT, the code of the other trainer-state
// checks) within 2 s, with no crash. The watcher stops a case past 5 s or 1 GiB, so a case that
// still allocates fails quickly instead of taking the machine. Also replays the fuzz cases that
// wait for these fixes (test/fixtures/fuzz_regressions.json entries marked "awaits").
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertRefused, runCli } from './support/cli_process.js';
import { FuzzRunner, readRegressions } from './support/fuzz_runner.js';
import { makePristineRuns, type ModelKind } from './support/fuzz_targets.js';

const SIZE_CODES = ['ERR_RNNLM_OOM', 'ERR_RNNLM_CONFIG'];
const TRAINER_CODES = [...SIZE_CODES, 'ERR_RNNLM_CHECKPOINT'];
const BOUND_MS = 2000;

const work = mkdtempSync(join(tmpdir(), 'rnnlm-probe-limits-'));
let runs: Record<ModelKind, string>;
test.before(async () => {
  runs = await makePristineRuns(work);
});
test.after(() => rmSync(work, { recursive: true, force: true }));

/** Runs every case (one at a time: some allocate until stopped) and fails with the list of those not refused in time. */
async function refuseAll(cases: readonly (readonly [string, readonly string[], readonly string[]])[]): Promise<void> {
  const failures: string[] = [];
  for (const [what, args, codes] of cases) {
    const r = await runCli([...args], { cwd: work, killAfterMs: 5000, maxRssBytes: 2 ** 30 });
    try {
      assertRefused(r, codes, BOUND_MS, what);
    } catch (error) {
      failures.push((error as Error).message.split('\n')[0]!);
    }
  }
  assert.equal(failures, [], `${failures.length} of ${cases.length} fail:\n${failures.join('\n')}`);
}

/** A copy of `kind`'s run whose last/`file` has `edit` applied to its JSON. */
function tampered(kind: ModelKind, file: 'config.json' | 'trainer.json', edit: (json: Record<string, Record<string, unknown>>) => void): string {
  const copy = mkdtempSync(join(work, `${kind}-`));
  cpSync(join(runs[kind], 'last'), join(copy, 'last'), { recursive: true });
  const path = join(copy, 'last', file);
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
  edit(json);
  writeFileSync(path, JSON.stringify(json));
  return copy;
}

test('config.json "layers": 1e9: eval, sample, train --resume, vae sample and classify predict refuse it within 2 s', async () => {
  const lm = tampered('lm', 'config.json', (j) => (j.model!.layers = 1e9));
  const vae = tampered('vae', 'config.json', (j) => (j.model!.layers = 1e9));
  const classifier = tampered('classifier', 'config.json', (j) => (j.model!.layers = 1e9));
  const corpus = join(work, 'lm.txt');
  await refuseAll([
    ['eval with layers 1e9', ['eval', '-c', join(lm, 'last'), '--data', corpus], SIZE_CODES],
    ['sample with layers 1e9', ['sample', '-c', join(lm, 'last'), '-n', '5'], SIZE_CODES],
    ['train --resume with layers 1e9', ['train', '--resume', lm], SIZE_CODES],
    ['vae sample with layers 1e9', ['vae', 'sample', '-c', join(vae, 'last')], SIZE_CODES],
    ['classify predict with layers 1e9', ['classify', 'predict', '-c', join(classifier, 'last'), 'abcd'], SIZE_CODES],
  ]);
});

test('sizes on the command line: train --layers 1e12 / 1e6 / --hidden 1e12, bench --batch 1e6 / 1e12, --vocab 1e8, --seq 1e12, vae train --max-length 1e12 refuse within 2 s', async () => {
  const corpus = join(work, 'lm.txt');
  const train = ['train', '--data', corpus, '--steps', '1', '--sample-every', '0', '--device', 'cpu'];
  const bench = ['bench', '--preset', 'char-small', '--steps', '1', '--warmup', '1', '--device', 'cpu'];
  await refuseAll([
    ['train --layers 1e12', [...train, '--layers', '1e12', '--out', join(work, 'never1')], SIZE_CODES],
    ['train --layers 1e6', [...train, '--layers', '1000000', '--out', join(work, 'never2')], SIZE_CODES],
    ['train --hidden 1e12', [...train, '--hidden', '1e12', '--out', join(work, 'never3')], SIZE_CODES],
    ['bench --batch 1000000', [...bench, '--batch', '1000000'], SIZE_CODES],
    ['bench --batch 1e12', [...bench, '--batch', '1e12'], SIZE_CODES],
    ['bench --vocab 1e8', [...bench, '--vocab', '100000000'], SIZE_CODES],
    ['bench --layers 1e6', [...bench, '--layers', '1000000'], SIZE_CODES],
    ['bench --seq 1e12', [...bench, '--seq', '1e12'], SIZE_CODES],
    ['vae train --max-length 1e12', ['vae', 'train', '--data', join(work, 'vae.txt'), '--max-length', '1e12', '--epochs', '1', '--device', 'cpu', '--out', join(work, 'never4')], SIZE_CODES],
  ]);
});

test('a tampered trainer.json: options.hidden 9999, state.step 1e308 or 50.5 are refused by train --resume within 2 s', async () => {
  const hidden = (j: Record<string, Record<string, unknown>>): unknown => (j.options!.hidden = 9999);
  await refuseAll([
    ['train --resume with options.hidden 9999', ['train', '--resume', tampered('lm', 'trainer.json', hidden), '--steps', '100'], TRAINER_CODES],
    ['train --resume with state.step 1e308', ['train', '--resume', tampered('lm', 'trainer.json', (j) => (j.state!.step = 1e308)), '--steps', '100'], TRAINER_CODES],
    ['train --resume with state.step 50.5', ['train', '--resume', tampered('lm', 'trainer.json', (j) => (j.state!.step = 50.5)), '--steps', '100'], TRAINER_CODES],
    ['vae train --resume with options.hidden 9999', ['vae', 'train', '--resume', tampered('vae', 'trainer.json', hidden)], TRAINER_CODES],
    ['classify train --resume with options.hidden 9999', ['classify', 'train', '--resume', tampered('classifier', 'trainer.json', hidden)], TRAINER_CODES],
  ]);
});

test('the fuzz cases awaiting items 2 and 3 load or are refused with a code within 2 s and 300 MiB', async () => {
  const awaiting = readRegressions().filter((r) => r.awaits !== undefined);
  const runner = new FuzzRunner(runs, { ms: BOUND_MS, bytes: 300 * 2 ** 20 });
  const failures: string[] = [];
  try {
    for (const r of awaiting) {
      const v = await runner.run(r.case);
      if (!v.ok) failures.push(`${r.found} (${r.awaits}): ${v.why.split('\n')[0]}`);
    }
  } finally {
    runner.close();
  }
  assert.equal(failures, [], `${failures.length} of ${awaiting.length} fail:\n${failures.join('\n')}`);
});

test.run();
