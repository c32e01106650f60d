// `rnnlm train`: parses flags into LmTrainOptions, runs the trainer, and shows its progress as a
// bar (terminal), plain lines (pipes, CI) or JSON lines (--json). Ctrl-C saves and exits.
import { jobCollective, launchJob, shouldLaunch } from './distributed.js';
import { Command, Option } from '@commander-js/extra-typings';
import { CELL_TYPES } from '../models/language_model.js';
import { LanguageModelTrainer, type TrainReporter } from '../train/lm_trainer.js';
import { OPTIMIZER_KINDS, type LmTrainOptions } from '../train/lm_options.js';
import { createProgress } from '../train/progress.js';
import { SCHEDULE_KINDS } from '../train/schedule.js';
import { nonNegativeInteger, numberIn, oneOf, positiveInteger, positiveNumber } from './errors.js';
import { whileInterruptible } from './interrupt.js';

const DEVICES = ['auto', 'cpu', 'cuda'] as const;

function defaultRunDir(): string {
  const t = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `runs/${t.getFullYear()}${pad(t.getMonth() + 1)}${pad(t.getDate())}-${pad(t.getHours())}${pad(t.getMinutes())}${pad(t.getSeconds())}`;
}

function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/** The reporter for people (bar or plain lines) or for machines (JSON lines on stdout). */
function cliReporter(json: boolean): TrainReporter {
  const progress = createProgress({ json });
  const out = (record: object): void => {
    process.stdout.write(`${JSON.stringify(record)}\n`);
  };
  return {
    start(info) {
      if (info.deviceNote !== null) process.stderr.write(`rnnlm: training on the CPU: ${info.deviceNote}\n`);
      if (info.dataNote !== null) process.stderr.write(`rnnlm: ${info.dataNote}\n`);
      if (json) {
        out({ event: 'start', ...info });
      } else {
        progress.log(
          `${info.resumed ? 'resuming' : 'training'} ${formatCount(info.parameters)} parameters on ${info.device}; ` +
            `vocabulary ${info.vocabSize}; ${formatCount(info.trainTokens)} training / ${formatCount(info.validTokens)} validation tokens from ${info.source}`,
        );
        progress.log(`run folder ${info.runDir}; ${info.chunksPerEpoch} steps per epoch`);
      }
      progress.start(info.totalSteps, info.startStep);
    },
    step(r) {
      progress.update(r.step, { loss: r.loss, tokensPerSec: r.tokensPerSec, lr: r.lr });
    },
    validation(r) {
      if (json) {
        out({ event: 'valid', step: r.step, epoch: r.epoch, loss: r.loss, ppl: r.ppl, ...(r.bpc === null ? {} : { bpc: r.bpc }), best: r.best });
        return;
      }
      const bpc = r.bpc === null ? '' : `  bpc ${r.bpc.toFixed(3)}`;
      progress.log(`step ${r.step}  valid loss ${r.loss.toFixed(4)}  ppl ${r.ppl.toFixed(2)}${bpc}${r.best ? '  (best)' : ''}`);
    },
    sample(step, text) {
      if (json) out({ event: 'sample', step, text });
      else progress.log(`--- sample at step ${step} ---\n${text}\n---`);
    },
    message(line) {
      if (json) out({ event: 'message', text: line });
      else progress.log(line);
    },
    stop() {
      progress.stop();
    },
  };
}

export function trainCommand() {
  return new Command('train')
    .description('train a character- or word-level language model (default: on the bundled Moby Dick)')
    .option('--data <path>', 'UTF-8 text file or folder of them (default: Moby Dick, bundled)')
    .option('--valid <file>', 'validation text (default: the last --valid-fraction of the data)')
    .option('--valid-fraction <p>', 'share of the data held out for validation', numberIn('--valid-fraction', 0, 1, true))
    .addOption(new Option('--level <level>', 'char or word tokens').argParser(oneOf('--level', ['char', 'word'] as const)))
    .option('--min-count <n>', 'word level: rarer words become <unk>', positiveInteger('--min-count'))
    .option('--max-vocab <n>', 'word level: keep at most this many words', positiveInteger('--max-vocab'))
    .addOption(new Option('--cell <cell>', 'lstm, gru, rnn or rnn_relu').argParser(oneOf('--cell', CELL_TYPES)))
    .option('--embedding <n>', 'embedding size', positiveInteger('--embedding'))
    .option('--hidden <n>', 'hidden size', positiveInteger('--hidden'))
    .option('--layers <n>', 'stacked layers', positiveInteger('--layers'))
    .option('--dropout <p>', 'dropout on embeddings, between layers and on outputs', numberIn('--dropout', 0, 1, true))
    .option('--batch <n>', 'parallel streams per step', positiveInteger('--batch'))
    .option('--seq <n>', 'time steps per chunk (truncated BPTT length)', positiveInteger('--seq'))
    .option('--valid-batch <n>', 'parallel streams when scoring the validation text', positiveInteger('--valid-batch'))
    .addOption(new Option('--optimizer <name>', 'adam, sgd or rmsprop').argParser(oneOf('--optimizer', OPTIMIZER_KINDS)))
    .option('--lr <x>', 'learning rate', positiveNumber('--lr'))
    .option('--momentum <x>', 'SGD / RMSProp momentum', numberIn('--momentum', 0, 1, true))
    .option('--weight-decay <x>', 'L2 weight decay', numberIn('--weight-decay', 0))
    .option('--clip <x>', 'global gradient-norm limit (0: off)', numberIn('--clip', 0))
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule: constant, step or cosine').argParser(oneOf('--schedule', SCHEDULE_KINDS)))
    .option('--warmup <n>', 'linear warm-up steps', nonNegativeInteger('--warmup'))
    .option('--step-size <n>', 'step schedule: decay every N steps', positiveInteger('--step-size'))
    .option('--gamma <x>', 'step schedule: decay factor', numberIn('--gamma', 0, 1))
    .option('--min-lr <x>', 'cosine schedule: final learning rate', numberIn('--min-lr', 0))
    .option('--steps <n>', 'training steps (default 2000 unless --epochs)', positiveInteger('--steps'))
    .option('--epochs <n>', 'passes over the training text', positiveInteger('--epochs'))
    .option('--valid-every <n>', 'validate and save RUN/last every N steps', positiveInteger('--valid-every'))
    .option('--sample-every <n>', 'print a sample every N steps (0: never)', nonNegativeInteger('--sample-every'))
    .option('--sample-length <n>', 'tokens per sample', positiveInteger('--sample-length'))
    .option('--patience <n>', 'stop after N validations without improvement (0: never)', nonNegativeInteger('--patience'))
    .option('--out <dir>', 'run folder (default runs/<date-time>)')
    .addOption(new Option('--device <device>', 'auto, cpu or cuda').argParser(oneOf('--device', DEVICES)))
    .option('--seed <n>', 'random seed', nonNegativeInteger('--seed'))
    .addOption(new Option('--resume <run>', 'continue the run in this folder from its last checkpoint').conflicts('out'))
.option('--nproc <n>', 'data-parallel over N processes on this machine (starts mpirun -np N; or run under mpirun yourself)', positiveInteger('--nproc'))
    .option('--json', 'print JSON lines (start, valid, sample, summary) instead of the progress view')
    .addHelpText(
      'after',
      `
The run folder gets metrics.jsonl, last/ (with the trainer state, for --resume) and best/
(lowest validation loss). Ctrl-C saves last/ and exits; --resume RUN continues exactly.

Examples:
  rnnlm train                                   # char-LSTM on Moby Dick, 2000 steps
  rnnlm train --data input.txt --hidden 512 --layers 2 --seq 128 --batch 64 --out runs/shakespeare
  rnnlm train --data ptb.train.txt --valid ptb.valid.txt --level word --embedding 650 --hidden 650 \\
              --dropout 0.5 --batch 20 --seq 35 --epochs 1
  rnnlm train --resume runs/shakespeare --steps 4000`,
    )
    .action(async (flags) => {
      if (shouldLaunch(flags.nproc)) {
        process.exitCode = await launchJob(flags.nproc);
        return;
      }
      const options: Partial<LmTrainOptions> = {
        data: flags.data,
        valid: flags.valid,
        validFraction: flags.validFraction,
        level: flags.level,
        minCount: flags.minCount,
        maxVocab: flags.maxVocab,
        cell: flags.cell,
        embedding: flags.embedding,
        hidden: flags.hidden,
        layers: flags.layers,
        dropout: flags.dropout,
        batch: flags.batch,
        seq: flags.seq,
        validBatch: flags.validBatch ?? flags.batch,
        optimizer: flags.optimizer,
        lr: flags.lr,
        momentum: flags.momentum,
        weightDecay: flags.weightDecay,
        clip: flags.clip,
        schedule: flags.schedule,
        warmup: flags.warmup,
        stepSize: flags.stepSize,
        gamma: flags.gamma,
        minLr: flags.minLr,
        steps: flags.steps,
        epochs: flags.epochs,
        validEvery: flags.validEvery,
        sampleEvery: flags.sampleEvery,
        sampleLength: flags.sampleLength,
        patience: flags.patience,
        seed: flags.seed,
        device: flags.device,
      };
      const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<LmTrainOptions>;
      // --steps and --epochs choose the length together: naming one clears the other.
      if (given.steps !== undefined && given.epochs === undefined) given.epochs = null;
      if (given.epochs !== undefined && given.steps === undefined) given.steps = null;
      const collective = jobCollective(flags.device);
      const trainer = flags.resume !== undefined ? LanguageModelTrainer.resume(flags.resume, given, { collective }) : LanguageModelTrainer.create(given, flags.out ?? defaultRunDir(), { collective });
      try {
        const reporter = cliReporter(flags.json === true);
        const summary = await whileInterruptible((signal) => trainer.run({ reporter, signal }), { sigterm: collective !== null });
        if (collective !== null && collective.rank !== 0) {
          // Rank 0 reports.
        } else if (flags.json === true) {
          process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary })}\n`);
        } else {
          const best = summary.bestValidLoss === null ? '' : `; best validation loss ${summary.bestValidLoss.toFixed(4)} at step ${summary.bestStep}`;
          process.stdout.write(`${summary.status} at step ${summary.step}${best}\n`);
          process.stdout.write(summary.status === 'interrupted' ? `continue with: rnnlm train --resume ${trainer.runDir}\n` : `sample with:   rnnlm sample -c ${trainer.runDir}\n`);
        }
      } finally {
        trainer.dispose();
      }
    });
}
