// `rnnlm classify` end to end on a tiny generated data set, through the command object itself
// (parseAsync with stdout and stderr captured): train (JSON and human views, CSV input, Ctrl-C),
// eval (JSON, table, heat map), predict, and the errors a user meets first.
import { Command, CommanderError } from '@commander-js/extra-typings';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifyCommand } from '../src/cli/classify.js';
import { SampleRandom } from '../src/sample/pick.js';

const work = mkdtempSync(join(tmpdir(), 'rnnlm-classify-cli-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

interface CliResult {
  stdout: string;
  stderr: string;
  error: (Error & { code?: string }) | null;
  exitCode: number | undefined;
}

// Commander settings are not inherited by commands added with addCommand, so apply them to all.
function configure(command: Command<unknown[], Record<string, unknown>>, out: (s: string) => void, err: (s: string) => void): void {
  command.exitOverride().configureOutput({ writeOut: out, writeErr: err });
  for (const sub of command.commands) configure(sub as unknown as Command<unknown[], Record<string, unknown>>, out, err);
}

/** Runs `rnnlm classify ...args` in this process; `during` runs while the command is in flight. */
async function cli(args: string[], during?: () => void): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const program = new Command().name('rnnlm');
  program.addCommand(classifyCommand());
  configure(program as unknown as Command<unknown[], Record<string, unknown>>, (s) => (stdout += s), (s) => (stderr += s));
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array): boolean => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  const cwd = process.cwd();
  process.chdir(work);
  process.exitCode = undefined;
  let error: CliResult['error'] = null;
  const timer = during !== undefined ? setInterval(during, 1) : null;
  try {
    await program.parseAsync(['node', 'rnnlm', 'classify', ...args]);
  } catch (e) {
    error = e as CliResult['error'];
  } finally {
    if (timer !== null) clearInterval(timer);
    process.chdir(cwd);
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  return { stdout, stderr, error, exitCode };
}

function ok(r: CliResult): CliResult {
  if (r.error !== null) assert.unreachable(`command failed: ${r.error.message}\n${r.stderr}`);
  return r;
}

function fails(r: CliResult, code: string, pattern: RegExp): void {
  assert.ok(r.error !== null, `expected a failure ${code}; stdout: ${r.stdout}`);
  assert.is(r.error!.code, code, r.error!.message);
  assert.match(r.error!.message, pattern);
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// Three labels with their own alphabets: a small model separates them in a few epochs.
const alphabets: Record<string, string> = { Alpha: 'abcde', Beta: 'vwxyz', Gamma: 'klmno' };
const random = new SampleRandom(17);
const word = (alphabet: string): string => {
  let w = alphabet[Math.floor(random.next() * 5)]!.toUpperCase();
  const length = 1 + Math.floor(random.next() * 6);
  for (let k = 0; k < length; k++) w += alphabet[Math.floor(random.next() * 5)]!;
  return w;
};
const data = join(work, 'names');
mkdirSync(data);
const rows: string[] = ['lang,name'];
for (const [label, alphabet] of Object.entries(alphabets)) {
  const words = Array.from({ length: 40 }, () => word(alphabet));
  writeFileSync(join(data, `${label}.txt`), `${words.join('\n')}\n`);
  for (const w of words.slice(0, 10)) rows.push(`${label},"${w}"`);
}
const csv = join(work, 'names.csv');
writeFileSync(csv, `${rows.join('\n')}\n`);

const small = ['--data', data, '--embedding', '8', '--hidden', '12', '--batch', '8', '--lr', '0.02', '--seed', '3', '--device', 'cpu'];
const run = join(work, 'run');

test('train --json: start, one line per epoch, a summary; the run folder holds split, test.csv, metrics, checkpoints', async () => {
  const r = ok(await cli(['train', ...small, '--epochs', '6', '--out', run, '--json']));
  const events = jsonLines(r.stdout);
  assert.is(events[0]!.event, 'start');
  assert.equal(events[0]!.labels, ['Alpha', 'Beta', 'Gamma']);
  assert.is(events[0]!.trainExamples, 96);
  assert.is(events[0]!.testExamples, 24);
  assert.is(events.filter((e) => e.event === 'epoch').length, 6);
  const summary = events.at(-1)!;
  assert.is(summary.event, 'summary');
  assert.is(summary.status, 'finished');
  assert.is(summary.step, 6 * 12);
  const final = summary.final as { accuracy: number; macroF1: number };
  assert.ok(final.accuracy >= 0.8, `held-out accuracy ${final.accuracy}`);
  for (const f of ['split.json', 'test.csv', 'metrics.jsonl', 'best/model.safetensors', 'last/config.json', 'last/vocab.json']) {
    assert.ok(existsSync(join(run, f)), f);
  }
  const split = JSON.parse(readFileSync(join(run, 'split.json'), 'utf8')) as { train: [string, number][]; test: [string, number][]; labels: string[] };
  assert.is(split.train.length + split.test.length, 120);
  assert.equal(split.test.map((p) => p[1]).sort(), [...Array(8).fill(0), ...Array(8).fill(1), ...Array(8).fill(2)], 'stratified');
  assert.is(readFileSync(join(run, 'test.csv'), 'utf8').trim().split('\n').length, 25);
  const metrics = jsonLines(readFileSync(join(run, 'metrics.jsonl'), 'utf8'));
  assert.is(metrics.filter((m) => m.split === 'train').length, 72);
  assert.is(metrics.filter((m) => m.split === 'valid').length, 6);
  const config = JSON.parse(readFileSync(join(run, 'best', 'config.json'), 'utf8')) as { kind: string; model: { bidirectional: boolean; cell: string } };
  assert.is(config.kind, 'classifier');
  assert.is(config.model.bidirectional, true);
  assert.is(config.model.cell, 'gru');
});

test('eval --json on the held-out test.csv: figures, confusion matrix, heat map in the run folder', async () => {
  const r = ok(await cli(['eval', '-c', join(run, 'last'), '--data', join(run, 'test.csv'), '--json']));
  const out = jsonLines(r.stdout);
  assert.is(out.length, 1);
  const e = out[0]! as { examples: number; accuracy: number; macro_f1: number; confusion: { labels: string[]; matrix: number[][] }; svg: string };
  assert.is(e.examples, 24);
  assert.equal(e.confusion.labels, ['Alpha', 'Beta', 'Gamma']);
  assert.is(e.confusion.matrix.flat().reduce((a, b) => a + b), 24);
  assert.equal(e.confusion.matrix.map((row) => row.reduce((a, b) => a + b)), [8, 8, 8]);
  const diagonal = e.confusion.matrix.reduce((s, row, i) => s + row[i]!, 0);
  assert.is(e.accuracy, diagonal / 24);
  // The last checkpoint is the model the summary's final figures describe.
  const summary = jsonLines(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).filter((m) => m.split === 'valid').at(-1)!;
  assert.is(e.accuracy, summary.accuracy);
  assert.is(e.macro_f1, summary.macro_f1);
  assert.is(e.svg, join(run, 'confusion.svg'));
  assert.match(readFileSync(e.svg, 'utf8'), /<svg[^>]*>[\s\S]*Gamma[\s\S]*<\/svg>/);
});

test('eval prints a table and writes the heat map where --svg says', async () => {
  const svg = join(work, 'heat.svg');
  const r = ok(await cli(['eval', '-c', run, '--data', data, '--svg', svg]));
  assert.match(r.stdout, /^examples {2}120\naccuracy {2}\d+\.\d\d%\nmacro-F1 {2}\d+\.\d\d%/);
  assert.match(r.stdout, /label\s+precision\s+recall\s+f1\s+support\nAlpha\s/);
  assert.match(r.stdout, /confusion matrix \(rows: true label, columns: predicted label\)\n\s+Alp\s+Bet\s+Gam\nAlpha\s+\d+/);
  assert.ok(r.stdout.includes(`confusion heat map: ${svg}`));
  assert.ok(existsSync(svg));
});

test('predict: top labels with probabilities, JSON or text; unknown characters noted', async () => {
  let r = ok(await cli(['predict', '-c', run, 'Abcab', 'Vwxzy', 'Klmno', '--top', '2', '--json']));
  const out = jsonLines(r.stdout) as { text: string; predictions: { label: string; probability: number }[]; unknown: string[] }[];
  assert.equal(out.map((o) => o.predictions[0]!.label), ['Alpha', 'Beta', 'Gamma']);
  for (const o of out) {
    assert.is(o.predictions.length, 2);
    assert.ok(o.predictions[0]!.probability >= o.predictions[1]!.probability);
    assert.ok(o.predictions[0]!.probability + o.predictions[1]!.probability <= 1 + 1e-6);
  }
  r = ok(await cli(['predict', '-c', run, 'Bcaé']));
  assert.match(r.stdout, /^Bcaé\n {2}Alpha {2}\s*\d+\.\d\d%\n$/);
  assert.match(r.stderr, /'é' \(U\+00E9\) not seen in training, read as <unk>/);
});

test('train on a CSV with named columns, LSTM, one direction, balanced class weights; the human view', async () => {
  const out = join(work, 'csv-run');
  const r = ok(await cli(['train', '--data', csv, '--text-column', 'name', '--label-column', 'lang', '--cell', 'lstm', '--no-bidirectional', '--class-weights', 'balanced', '--embedding', '4', '--hidden', '4', '--epochs', '1', '--out', out]));
  // No --device: the run takes RNNLM_DEVICE or the default, and the view names the one it got.
  const device = /training \d+ parameters on (cpu|cuda\S*): 3 labels, 24 training \/ 6 held-out examples/.exec(r.stdout);
  assert.ok(device, r.stdout);
  console.log(`  (classify train ran on ${device[1]})`);
  assert.match(r.stdout, /epoch 1\/1 {2}train loss \d\.\d{4} {2}held-out loss \d\.\d{4} {2}accuracy/);
  assert.match(r.stdout, /finished after 1 epoch .*\nevaluate with: rnnlm classify eval -c .*csv-run --data .*test\.csv\n/);
  const config = JSON.parse(readFileSync(join(out, 'last', 'config.json'), 'utf8')) as { model: { bidirectional: boolean; cell: string } };
  assert.is(config.model.bidirectional, false);
  assert.is(config.model.cell, 'lstm');
});

test('Ctrl-C during training saves last/ and exits with 130', async () => {
  const out = join(work, 'interrupted');
  const r = ok(await cli(['train', ...small, '--epochs', '50', '--out', out, '--json'], () => process.emit('SIGINT')));
  const summary = jsonLines(r.stdout).at(-1)!;
  assert.is(summary.status, 'interrupted');
  assert.ok((summary.step as number) < 50 * 12);
  assert.is(r.exitCode, 130);
  assert.ok(existsSync(join(out, 'last', 'model.safetensors')));
  assert.is(process.listenerCount('SIGINT'), 0, 'the handler is removed');
});

test('train --resume after Ctrl-C finishes the run bit for bit as one uninterrupted run', async () => {
  const out = join(work, 'resumed');
  let calls = 0;
  // Ctrl-C after a few event-loop turns: mid-epoch, some steps in.
  const first = ok(await cli(['train', ...small, '--epochs', '6', '--out', out, '--json'], () => (calls += 1) === 15 && process.emit('SIGINT')));
  const stopped = jsonLines(first.stdout).at(-1)!;
  assert.is(stopped.status, 'interrupted');
  assert.ok((stopped.step as number) < 6 * 12, `stopped at step ${String(stopped.step)}`);
  fails(await cli(['train', '--resume', out, '--hidden', '20']), 'ERR_RNNLM_ARGUMENT', /'hidden' cannot change/);
  const second = ok(await cli(['train', '--resume', out, '--json']));
  const summary = jsonLines(second.stdout).at(-1)!;
  assert.is(summary.status, 'finished');
  assert.is(summary.step, 6 * 12);
  for (const f of ['model.safetensors', 'optimizer.safetensors']) {
    assert.ok(readFileSync(join(out, 'last', f)).equals(readFileSync(join(run, 'last', f))), `last/${f} equals the uninterrupted run's`);
  }
  const records = (dir: string): unknown[] => jsonLines(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'));
  assert.equal(records(out), records(run));
});

test('train --resume refuses examples that changed since the run was saved', async () => {
  const copy = join(work, 'names-copy');
  mkdirSync(copy);
  for (const label of Object.keys(alphabets)) writeFileSync(join(copy, `${label}.txt`), readFileSync(join(data, `${label}.txt`)));
  const out = join(work, 'changing');
  ok(await cli(['train', ...small.slice(2), '--data', copy, '--epochs', '1', '--out', out, '--json']));
  writeFileSync(join(copy, 'Alpha.txt'), `${readFileSync(join(data, 'Alpha.txt'), 'utf8')}Abcdea\n`);
  fails(await cli(['train', '--resume', out, '--epochs', '2']), 'ERR_RNNLM_DATA', /the data differ from those the run in .*changing was trained on/);
});

test('errors: missing --data, empty label file, existing run, bad CSV, unknown label, empty text, bad flags', async () => {
  fails(await cli(['train', '--epochs', '1']), 'ERR_RNNLM_USAGE', /--data is required/);
  const bad = join(work, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'A.txt'), 'Abc\nBcd\n');
  writeFileSync(join(bad, 'B.txt'), '');
  fails(await cli(['train', '--data', bad, '--out', join(work, 'never')]), 'ERR_RNNLM_DATA', /B\.txt is empty/);
  fails(await cli(['train', ...small, '--out', run]), 'ERR_RNNLM_ARGUMENT', /already holds a run/);
  const noLabel = join(work, 'nolabel.csv');
  writeFileSync(noLabel, 'text,language\nAbc,Alpha\n');
  fails(await cli(['eval', '-c', run, '--data', noLabel]), 'ERR_RNNLM_DATA', /no "label" column/);
  const other = join(work, 'other.csv');
  writeFileSync(other, 'text,label\nAbc,Alpha\nXyz,Delta\n');
  fails(await cli(['eval', '-c', run, '--data', other]), 'ERR_RNNLM_DATA', /other\.csv:3: the label "Delta" is not one the model knows/);
  fails(await cli(['predict', '-c', run, '  ']), 'ERR_RNNLM_ARGUMENT', /empty/);
  fails(await cli(['predict', '-c', join(work, 'nothing'), 'Abc']), 'ERR_RNNLM_CHECKPOINT', /does not exist/);
  fails(await cli(['predict', '-c', run, 'Abc', '--top', '0']), 'ERR_RNNLM_USAGE', /--top must be a positive integer/);
  fails(await cli(['train', '--data', data, '--cell', 'transformer']), 'ERR_RNNLM_USAGE', /--cell must be one of/);
  const missing = await cli(['eval', '--data', data]);
  assert.instance(missing.error, CommanderError);
  assert.match(missing.stderr, /required option '-c, --checkpoint <dir>' not specified/);
});

test.run();
