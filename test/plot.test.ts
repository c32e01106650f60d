// The SVG chart writer and `plotRun`: well-formed output, ticks, gaps for NaN, bounded size.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { plotRun, panelsFromRecords } from '../src/plot/curves.js';
import { downsampleMinMax, type Point } from '../src/plot/downsample.js';
import { renderChart, escapeXml } from '../src/plot/svg_chart.js';
import { formatTick, formatTicks, linearTicks, logTicks, niceStep } from '../src/plot/ticks.js';
import { MetricsWriter } from '../src/train/metrics.js';
import { plotCommand } from '../src/cli/plot.js';
import { throwsCode } from './api-helpers.js';

/** Throws unless every element is closed in order and no text holds a bare < or &. */
function assertWellFormed(svg: string): void {
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const text = body.slice(last, m.index);
    assert.not.ok(/<|&(?!(amp|lt|gt|quot|apos);)/.test(text), `bare markup in text: ${JSON.stringify(text)}`);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (selfClose) continue;
    if (close) assert.is(stack.pop(), name, `</${name}> closes the open element`);
    else stack.push(name!);
  }
  assert.is(body.slice(last).trim(), '', 'nothing after the last tag');
  assert.equal(stack, [], 'every element is closed');
  assert.ok(body.startsWith('<svg '), 'one <svg> root');
}

const count = (svg: string, re: RegExp): number => (svg.match(re) ?? []).length;

function polylinePoints(svg: string): number[] {
  return [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1]!.trim().split(/\s+/).length);
}

test('nice ticks step by 1, 2 or 5 times a power of ten', () => {
  assert.is(niceStep(0.7), 1);
  assert.is(niceStep(1.3), 2);
  assert.is(niceStep(3), 5);
  assert.is(niceStep(7), 10);
  assert.is(niceStep(230), 500);
  const t = linearTicks(1.37, 4.81, 5);
  assert.is(t.step, 1);
  assert.equal(t.values, [1, 2, 3, 4, 5]);
  assert.ok(t.min <= 1.37 && t.max >= 4.81);
  assert.equal(linearTicks(0, 0.3, 3).values, [0, 0.1, 0.2, 0.3], 'no 0.30000000000000004');
  const flat = linearTicks(2, 2);
  assert.ok(flat.min < 2 && flat.max > 2, 'a flat series still gets a range');
  assert.equal(logTicks(150, 9000).values, [200, 500, 1000, 2000, 5000, 10000]);
  assert.equal(logTicks(1, 1e6).values, [1, 10, 100, 1000, 10000, 100000, 1e6]);
  const log = logTicks(150, 9000);
  assert.ok(log.min < 150 && log.max > 9000, 'a log axis is padded a little beyond the data');
  assert.equal(formatTicks([0, 4000, 8000, 12000], 4000), ['0', '4k', '8k', '12k'], 'one style per axis');
  assert.equal(formatTicks([0, 2000, 4000], 2000), ['0', '2000', '4000']);
  assert.is(formatTick(0.25, 0.05), '0.25');
  assert.is(formatTick(1.5, 0.5), '1.5');
  assert.is(formatTick(3, 1), '3');
});

test('a chart is well-formed SVG with one polyline per series, ticks, a title and a legend', () => {
  const train: Point[] = Array.from({ length: 50 }, (_, i) => [i * 10, 4 - i * 0.05]);
  const valid: Point[] = [[100, 3.6], [200, 3.2], [300, 3.0], [400, 2.9]];
  const svg = renderChart([{ title: 'loss <nats> & more', series: [{ name: 'train', points: train }, { name: 'valid', points: valid }], xLabel: 'step' }]);
  assertWellFormed(svg);
  assert.is(count(svg, /<polyline /g), 2);
  assert.ok(svg.includes('loss &lt;nats&gt; &amp; more'), 'the title is escaped');
  assert.ok(svg.includes('>train</text>') && svg.includes('>valid</text>'), 'the legend names each series');
  // x from 0 to 490 in steps of 100; y from 1.55 to 4 in steps of 0.5.
  for (const label of ['0', '100', '200', '300', '400', '500', '1.5', '2.0', '4.0']) {
    assert.ok(svg.includes(`>${label}</text>`), `tick label ${label}`);
  }
  assert.is(count(svg, /<circle /g), 4, 'a sparse series gets a dot per point');
  assert.not.ok(/NaN|Infinity|undefined/.test(svg));
});

test('NaN and Infinity leave a gap; a single point is a dot; an all-NaN panel says so', () => {
  const points: Point[] = [[0, 1], [1, 2], [2, NaN], [3, 3], [4, 4], [5, Infinity], [6, 5]];
  const svg = renderChart([
    { title: 'gappy', series: [{ name: 'train', points }] },
    { title: 'one', series: [{ name: 'valid', points: [[7, 2.5]] }] },
    { title: 'empty', series: [{ name: 'train', points: [[1, NaN]] }] },
  ]);
  assertWellFormed(svg);
  assert.not.ok(/NaN|Infinity/.test(svg), 'no non-finite number reaches the SVG');
  assert.equal(polylinePoints(svg), [2, 2], 'two drawable pieces, the lone last point as a dot');
  assert.ok(svg.includes('no finite values'));
  assert.ok(svg.includes('>one</text>'));
});

test('log-scale y skips values <= 0 and uses decade ticks', () => {
  const points: Point[] = [[0, 5000], [1, 800], [2, 0], [3, 120], [4, 90]];
  const svg = renderChart([{ title: 'ppl', series: [{ name: 'valid', points }], logY: true }]);
  assertWellFormed(svg);
  assert.equal(polylinePoints(svg), [2, 2]);
  for (const label of ['100', '200', '500', '1000', '5000']) assert.ok(svg.includes(`>${label}</text>`), label);
});

test('thousands of points are downsampled to the bound, keeping spikes', () => {
  const n = 20_000;
  const points: Point[] = Array.from({ length: n }, (_, i) => [i, Math.sin(i / 300) + (i === 12_345 ? 50 : 0) + (i === 777 ? -50 : 0)]);
  const reduced = downsampleMinMax(points, 2000);
  assert.ok(reduced.length <= 2002, `${reduced.length} points`);
  assert.ok(reduced.length > 1000);
  assert.ok(reduced.some((p) => p[0] === 12_345), 'the upward spike is kept');
  assert.ok(reduced.some((p) => p[0] === 777), 'the downward spike is kept');
  assert.equal(reduced[0], points[0]);
  assert.equal(reduced[reduced.length - 1], points[n - 1]);
  for (let i = 1; i < reduced.length; i++) assert.ok(reduced[i]![0] > reduced[i - 1]![0], 'x stays in order');
  const svg = renderChart([{ title: 'loss', series: [{ name: 'train', points }] }]);
  const [drawn] = polylinePoints(svg);
  assert.ok(drawn! <= 2002, `${drawn} vertices drawn`);
  assert.ok(svg.length < 60_000, `${svg.length} bytes`);
});

test('escapeXml escapes the five XML specials', () => {
  assert.is(escapeXml(`a<b>&"c'`), 'a&lt;b&gt;&amp;&quot;c&apos;');
});

function writeLmRun(run: string): void {
  const w = new MetricsWriter(run);
  for (let step = 10; step <= 300; step += 10) {
    w.write({ split: 'train', step, epoch: 0, loss: 5 / Math.sqrt(step), lr: 0.002, tokens_per_s: 1000, time: step / 10 });
    if (step % 100 === 0) w.write({ split: 'valid', step, epoch: 0, loss: 6 / Math.sqrt(step), ppl: Math.exp(6 / Math.sqrt(step)) });
  }
  w.close();
}

test('plotRun writes RUN/curves.svg with loss and ppl panels for a language model', () => {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlm-plot-'));
  writeLmRun(run);
  const out = plotRun(run);
  assert.is(out, path.join(run, 'curves.svg'));
  const svg = fs.readFileSync(out, 'utf8');
  assertWellFormed(svg);
  assert.ok(svg.includes('>loss</text>') && svg.includes('>ppl</text>'), 'a loss panel and a ppl panel');
  assert.is(count(svg, /<polyline /g), 3, 'train + valid loss, valid ppl');
  assert.equal(fs.readdirSync(run).sort(), ['curves.svg', 'metrics.jsonl'], 'no temporary file left behind');

  const custom = path.join(run, 'sub', 'lr.svg');
  assert.is(plotRun(run, { out: custom, metrics: ['lr'] }), custom);
  assert.ok(fs.readFileSync(custom, 'utf8').includes('>lr</text>'));
  const e = throwsCode(() => plotRun(run, { metrics: ['bleu'] }), 'ERR_RNNLM_ARGUMENT');
  assert.ok(e.message.includes('loss'), 'the error lists the metrics there are');
  fs.rmSync(run, { recursive: true });
});

test('VAE records get elbo, nll, kl and kl_weight panels', () => {
  const records = [1, 2, 3].flatMap((epoch) => [
    { split: 'train', step: epoch * 100, epoch, elbo: 90 - epoch, nll: 85 - epoch, kl: epoch, kl_weight: epoch / 3 },
    { split: 'valid', step: epoch * 100, epoch, elbo: 92 - epoch, nll: 86 - epoch, kl: epoch, kl_weight: epoch / 3 },
  ]);
  const panels = panelsFromRecords(records);
  assert.equal(panels.map((p) => p.title), ['elbo', 'nll', 'kl', 'kl_weight']);
  assert.equal(panels[0]!.series.map((s) => s.name), ['train', 'valid']);
});

test('after a resume, the records the resumed run rewrote replace the old ones', () => {
  const records = [10, 20, 30, 40, 30, 40, 50].map((step, i) => ({ split: 'train', step, loss: i }));
  const [panel] = panelsFromRecords(records, ['loss']);
  assert.equal(panel!.series[0]!.points, [[10, 0], [20, 1], [30, 4], [40, 5], [50, 6]]);
});

test('plotRun on a folder without metrics, or with an empty file, is ERR_RNNLM_DATA', () => {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlm-plot-'));
  throwsCode(() => plotRun(run), 'ERR_RNNLM_DATA');
  throwsCode(() => plotRun(path.join(run, 'missing')), 'ERR_RNNLM_DATA');
  fs.writeFileSync(path.join(run, 'metrics.jsonl'), '');
  throwsCode(() => plotRun(run), 'ERR_RNNLM_DATA');
  assert.not.ok(fs.existsSync(path.join(run, 'curves.svg')));
  fs.rmSync(run, { recursive: true });
});

test('rnnlm plot RUN --metric a --metric b,c --out FILE prints the path it wrote', async () => {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlm-plot-'));
  writeLmRun(run);
  const out = path.join(run, 'x.svg');
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => (printed.push(chunk), true)) as typeof process.stdout.write;
  try {
    await plotCommand().exitOverride().parseAsync(['node', 'plot', run, '--metric', 'loss', '--metric', 'lr,ppl', '--out', out]);
  } finally {
    process.stdout.write = write;
  }
  assert.equal(printed, [`${out}\n`]);
  const svg = fs.readFileSync(out, 'utf8');
  for (const title of ['loss', 'lr', 'ppl']) assert.ok(svg.includes(`font-weight="bold">${title}</text>`), title);
  let help = '';
  const cmd = plotCommand().configureOutput({ writeOut: (s) => void (help += s) });
  cmd.outputHelp();
  assert.ok(help.includes('--metric') && help.includes('--out'), help);
  assert.ok(help.includes('rnnlm plot runs/'), 'the help shows an example');
  fs.rmSync(run, { recursive: true });
});

test.run();
