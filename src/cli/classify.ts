// `rnnlm classify train | predict | eval`: many-to-one sequence classification (e.g. surnames to
// their language). Parsing, validation and printing only; the work is in src/classify.
import { jobCollective, launchJob, shouldLaunch } from './distributed.js';
import { Command, Option } from '@commander-js/extra-typings';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadClassifier } from '../checkpoint/classifier_checkpoint.js';
import { resolveCheckpointDir } from '../checkpoint/checkpoint.js';
import { readClassificationData } from '../classify/data.js';
import { CLASS_WEIGHTINGS, type ClassifierTrainOptions } from '../classify/options.js';
import { classifyTexts, evaluateClassifier, type EvaluationResult } from '../classify/predict.js';
import { ClassifierTrainer, type ClassifierReporter } from '../classify/trainer.js';
import { describeCharacters } from '../classify/vocab.js';
import { rnnlmError } from '../errors.js';
import { CELL_TYPES } from '../models/language_model.js';
import { renderConfusionHeatmap } from '../plot/heatmap.js';
import { createProgress } from '../train/progress.js';
import { METRICS_FILE } from '../train/metrics.js';
import { nonNegativeInteger, numberIn, oneOf, positiveInteger, positiveNumber, UsageError } from './errors.js';
import { whileInterruptible } from './interrupt.js';

const DEVICES = ['auto', 'cpu', 'cuda'] as const;

function defaultRunDir(): string {
  const t = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `runs/classify-${t.getFullYear()}${pad(t.getMonth() + 1)}${pad(t.getDate())}-${pad(t.getHours())}${pad(t.getMinutes())}${pad(t.getSeconds())}`;
}

const percent = (x: number): string => `${(x * 100).toFixed(2)}%`;

function writeJson(record: object): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

function cliReporter(json: boolean, epochs: number): ClassifierReporter {
  const progress = createProgress({ json });
  return {
    start(info) {
      if (info.deviceNote !== null) process.stderr.write(`rnnlm: training on the CPU: ${info.deviceNote}\n`);
      if (json) {
        writeJson({ event: 'start', ...info });
      } else {
        progress.log(
          `${info.startStep > 0 ? `resuming at step ${info.startStep}:` : 'training'} ${info.parameters} parameters on ${info.device}: ${info.labels.length} labels, ${info.trainExamples} training / ` +
            `${info.testExamples} held-out examples from ${info.source}; ${info.vocabSize - 1} characters + <unk>`,
        );
        if (info.testWithUnknown > 0) progress.log(`${info.testWithUnknown} held-out examples have characters no training example has (read as <unk>)`);
        progress.log(`run folder ${info.runDir}; ${info.stepsPerEpoch} steps per epoch`);
      }
      progress.start(info.totalSteps, info.startStep);
    },
    step(r) {
      progress.update(r.step, { loss: r.loss, tokensPerSec: r.tokensPerSec });
    },
    epoch(r) {
      if (json) {
        writeJson({ event: 'epoch', epoch: r.epoch, step: r.step, train_loss: r.trainLoss, test_loss: r.testLoss, accuracy: r.accuracy, macro_f1: r.macroF1, best: r.best, train_seconds: r.trainSeconds });
        return;
      }
      progress.log(
        `epoch ${r.epoch}/${epochs}  train loss ${r.trainLoss.toFixed(4)}  held-out loss ${r.testLoss.toFixed(4)}  ` +
          `accuracy ${percent(r.accuracy)}  macro-F1 ${percent(r.macroF1)}${r.best ? '  (best)' : ''}`,
      );
    },
    message(line) {
      if (json) writeJson({ event: 'message', text: line });
      else progress.log(line);
    },
    stop() {
      progress.stop();
    },
  };
}

function trainSubcommand() {
  return new Command('train')
    .description('train a character-level recurrent classifier on labelled texts (e.g. surnames to languages)')
    .option('--data <path>', 'a folder of LABEL.txt files (one example a line) or a CSV file with a header')
    .option('--text-column <name>', 'CSV: the column holding the texts (default "text")')
    .option('--label-column <name>', 'CSV: the column holding the labels (default "label")')
    .option('--test-fraction <p>', 'share of every label held out for testing (default 0.2)', numberIn('--test-fraction', 0, 1, true))
    .addOption(new Option('--cell <cell>', 'gru (default), lstm, rnn or rnn_relu').argParser(oneOf('--cell', CELL_TYPES)))
    .option('--embedding <n>', 'character embedding size (default 64)', positiveInteger('--embedding'))
    .option('--hidden <n>', 'hidden size per direction (default 128)', positiveInteger('--hidden'))
    .option('--layers <n>', 'stacked layers (default 1)', positiveInteger('--layers'))
    .option('--bidirectional', 'read each text both ways (the default)')
    .option('--no-bidirectional', 'read each text left to right only')
    .option('--dropout <p>', 'dropout on the final features and between layers (default 0.3)', numberIn('--dropout', 0, 1, true))
    .option('--batch <n>', 'examples per step (default 64)', positiveInteger('--batch'))
    .option('--epochs <n>', 'passes over the training examples (default 15)', positiveInteger('--epochs'))
    .option('--lr <x>', 'Adam learning rate (default 3e-3)', positiveNumber('--lr'))
    .option('--weight-decay <x>', 'L2 weight decay (default 0)', numberIn('--weight-decay', 0))
    .option('--clip <x>', 'global gradient-norm limit, 0 for none (default 5)', numberIn('--clip', 0))
    .addOption(new Option('--class-weights <kind>', 'none (default) or balanced: weigh rare labels up').argParser(oneOf('--class-weights', CLASS_WEIGHTINGS)))
    .option('--out <dir>', 'run folder (default runs/classify-<date-time>)')
    .addOption(new Option('--resume <run>', 'continue the run in this folder from its last checkpoint (--epochs may grow)').conflicts('out'))
    .addOption(new Option('--device <device>', 'auto, cpu or cuda').argParser(oneOf('--device', DEVICES)))
    .option('--seed <n>', 'random seed: split, weights, batch order, dropout (default 1)', nonNegativeInteger('--seed'))
.option('--nproc <n>', 'data-parallel over N processes on this machine (starts mpirun -np N; or run under mpirun yourself)', positiveInteger('--nproc'))
    .option('--json', 'print JSON lines (start, epoch, summary) instead of the progress view')
    .addHelpText(
      'after',
      `
The run folder gets metrics.jsonl, split.json (every training and held-out example), test.csv
(the held-out examples, for classify eval), last/ (after every epoch, with the trainer state) and
best/ (lowest held-out loss). Ctrl-C saves last/ and exits; --resume RUN continues exactly.
Characters are the tokens; characters that no training text has are read as <unk>.

Examples:
  rnnlm classify train --data ../shared/data/names --out runs/names
  rnnlm classify train --data reviews.csv --text-column review --label-column sentiment --cell lstm
  rnnlm classify train --data ../shared/data/names --class-weights balanced --epochs 20
  rnnlm classify train --resume runs/names --epochs 25`,
    )
    .action(async (flags) => {
      if (shouldLaunch(flags.nproc)) {
        process.exitCode = await launchJob(flags.nproc);
        return;
      }
      if (flags.data === undefined && flags.resume === undefined) {
        throw new UsageError('--data is required: a folder of LABEL.txt files (one example a line) or a CSV file with text and label columns');
      }
      const options: Partial<ClassifierTrainOptions> = {
        data: flags.data,
        textColumn: flags.textColumn,
        labelColumn: flags.labelColumn,
        testFraction: flags.testFraction,
        cell: flags.cell,
        embedding: flags.embedding,
        hidden: flags.hidden,
        layers: flags.layers,
        bidirectional: flags.bidirectional,
        dropout: flags.dropout,
        batch: flags.batch,
        epochs: flags.epochs,
        lr: flags.lr,
        weightDecay: flags.weightDecay,
        clip: flags.clip,
        classWeights: flags.classWeights,
        seed: flags.seed,
        device: flags.device,
      };
      const collective = jobCollective(flags.device);
      const trainer = flags.resume !== undefined ? ClassifierTrainer.resume(flags.resume, options, { collective }) : ClassifierTrainer.create({ ...options, data: flags.data! }, flags.out ?? defaultRunDir(), { collective });
      const runDir = trainer.runDir;
      try {
        const json = flags.json === true;
        const summary = await whileInterruptible((signal) => trainer.run({ reporter: cliReporter(json, trainer.options.epochs), signal }), { sigterm: collective !== null });
        if (collective !== null && collective.rank !== 0) {
          // Rank 0 reports.
        } else if (json) {
          writeJson({ event: 'summary', ...summary });
        } else {
          const f = summary.final;
          const figures = f === null ? '' : `: held-out accuracy ${percent(f.accuracy)}, macro-F1 ${percent(f.macroF1)}`;
          process.stdout.write(`${summary.status} after ${summary.epochs} epoch${summary.epochs === 1 ? '' : 's'} (${summary.trainSeconds.toFixed(1)} s of training)${figures}\n`);
          if (summary.status === 'interrupted') process.stdout.write(`continue with: rnnlm classify train --resume ${runDir}\n`);
          process.stdout.write(`evaluate with: rnnlm classify eval -c ${runDir} --data ${join(runDir, 'test.csv')}\n`);
          process.stdout.write(`predict with:  rnnlm classify predict -c ${runDir} "some text" --top 3\n`);
        }
      } finally {
        trainer.dispose();
      }
    });
}

function predictSubcommand() {
  return new Command('predict')
    .description('the most probable labels of texts, with their probabilities')
    .argument('<text...>', 'texts to classify (quote those with spaces)')
    .requiredOption('-c, --checkpoint <dir>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .option('--top <k>', 'labels to show per text', positiveInteger('--top'), 1)
    .option('--json', 'print one JSON object per text: {text, predictions: [{label, probability}], unknown}')
    .addHelpText('after', '\nExamples:\n  rnnlm classify predict -c runs/names Satoshi --top 3\n  rnnlm classify predict -c runs/names "O\'Neill" Nguyen Schmidt --json')
    .action((texts, flags) => {
      const { model, vocab, labels } = loadClassifier(flags.checkpoint);
      try {
        const results = classifyTexts(model, vocab, labels, texts, { top: flags.top });
        for (const r of results) {
          if (flags.json === true) {
            writeJson(r);
            continue;
          }
          if (r.unknown.length > 0) process.stderr.write(`rnnlm: ${JSON.stringify(r.text)}: ${describeCharacters(r.unknown)} not seen in training, read as <unk>\n`);
          const width = Math.max(...r.predictions.map((p) => p.label.length));
          process.stdout.write(`${r.text}\n`);
          for (const p of r.predictions) process.stdout.write(`  ${p.label.padEnd(width)}  ${(p.probability * 100).toFixed(2).padStart(6)}%\n`);
        }
      } finally {
        model.dispose();
      }
    });
}

/** Column headings: the shortest prefix (at least 3 characters) that tells every label apart. */
export function shortLabels(labels: readonly string[]): string[] {
  const longest = Math.max(...labels.map((l) => l.length));
  for (let n = 3; n < longest; n++) {
    const cut = labels.map((l) => l.slice(0, n));
    if (new Set(cut).size === labels.length) return cut;
  }
  return [...labels];
}

/** The human view of an evaluation: figures, per-class table, confusion matrix. */
export function formatEvaluation(r: EvaluationResult): string {
  const lines: string[] = [];
  lines.push(`examples  ${r.examples}`, `accuracy  ${percent(r.accuracy)}`, `macro-F1  ${percent(r.macroF1)}`, `loss      ${r.loss.toFixed(4)} nats`);
  if (r.examplesWithUnknown > 0) lines.push(`(${r.examplesWithUnknown} examples have characters the model never saw, read as <unk>)`);
  const lw = Math.max(5, ...r.labels.map((l) => l.length));
  lines.push('', `${'label'.padEnd(lw)}  precision  recall      f1  support`);
  for (const c of r.perClass) {
    lines.push(`${c.label.padEnd(lw)}  ${c.precision.toFixed(4).padStart(9)}  ${c.recall.toFixed(4).padStart(6)}  ${c.f1.toFixed(4).padStart(6)}  ${String(c.support).padStart(7)}`);
  }
  const heads = shortLabels(r.labels);
  const cw = Math.max(...heads.map((h) => h.length), ...r.confusion.flat().map((v) => String(v).length)) + 1;
  lines.push('', 'confusion matrix (rows: true label, columns: predicted label)');
  lines.push(`${''.padEnd(lw)} ${heads.map((h) => h.padStart(cw)).join('')}`);
  r.confusion.forEach((row, t) => lines.push(`${r.labels[t]!.padEnd(lw)} ${row.map((v) => String(v).padStart(cw)).join('')}`));
  return `${lines.join('\n')}\n`;
}

// A run folder (it has metrics.jsonl) keeps the heat map next to its metrics; a bare checkpoint
// folder must not get foreign files (saving over it would then be refused), so the heat map
// goes to the working folder instead.
function defaultSvgPath(checkpointDir: string): string {
  const parent = dirname(checkpointDir);
  if (existsSync(join(parent, METRICS_FILE))) return join(parent, 'confusion.svg');
  return resolve('confusion.svg');
}

function evalSubcommand() {
  return new Command('eval')
    .description('accuracy, macro-F1 and the confusion matrix of a classifier on labelled data')
    .requiredOption('-c, --checkpoint <dir>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .requiredOption('--data <path>', 'a folder of LABEL.txt files or a CSV file (e.g. RUN/test.csv)')
    .option('--text-column <name>', 'CSV: the column holding the texts', 'text')
    .option('--label-column <name>', 'CSV: the column holding the labels', 'label')
    .option('--svg <file>', 'where to write the confusion heat map (default RUN/confusion.svg, or ./confusion.svg)')
    .option('--json', 'print one JSON object {examples, accuracy, macro_f1, loss, confusion: {labels, matrix}, per_class, svg}')
    .addHelpText('after', '\nExamples:\n  rnnlm classify eval -c runs/names --data runs/names/test.csv\n  rnnlm classify eval -c runs/names/best --data names.csv --json --svg names.svg')
    .action((flags) => {
      const dir = resolveCheckpointDir(flags.checkpoint);
      const { model, vocab, labels } = loadClassifier(dir);
      try {
        const data = readClassificationData(flags.data, { labels, textColumn: flags.textColumn, labelColumn: flags.labelColumn });
        const r = evaluateClassifier(model, vocab, labels, data.examples);
        const svg = resolve(flags.svg ?? defaultSvgPath(dir));
        const title = `Confusion matrix: accuracy ${percent(r.accuracy)}, macro-F1 ${percent(r.macroF1)} (${r.examples} examples)`;
        try {
          writeFileSync(svg, renderConfusionHeatmap(r.confusion, r.labels, { title }));
        } catch (error) {
          throw rnnlmError('ERR_RNNLM_IO', `${svg}: cannot write the heat map (${(error as Error).message})`);
        }
        if (flags.json === true) {
          writeJson({
            examples: r.examples,
            accuracy: r.accuracy,
            macro_f1: r.macroF1,
            loss: r.loss,
            confusion: { labels: r.labels, matrix: r.confusion },
            per_class: r.perClass,
            examples_with_unknown: r.examplesWithUnknown,
            svg,
          });
        } else {
          process.stdout.write(formatEvaluation(r));
          process.stdout.write(`\nconfusion heat map: ${svg}\n`);
        }
      } finally {
        model.dispose();
      }
    });
}

export function classifyCommand() {
  return new Command('classify')
    .description('many-to-one sequence classification: train, predict, eval')
    .addCommand(trainSubcommand())
    .addCommand(predictSubcommand())
    .addCommand(evalSubcommand());
}
