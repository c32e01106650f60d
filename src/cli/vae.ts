// `rnnlm vae ...`: the sentence VAE (Bowman et al. 2016). Parsing, validation and printing
// only; the work is in src/vae and src/models/sentence_vae.ts.
import { jobCollective, launchJob, shouldLaunch } from './distributed.js';
import { Command, Option } from '@commander-js/extra-typings';
import { loadSentenceVae } from '../checkpoint/vae_checkpoint.js';
import { CELL_TYPES } from '../models/language_model.js';
import { createProgress } from '../train/progress.js';
import { ANNEAL_KINDS } from '../vae/anneal.js';
import { evaluateVae } from '../vae/evaluate.js';
import { interpolateSentences, reconstructSentences, sampleSentences, type DecodedSentence } from '../vae/inference.js';
import type { VaeTrainOptions } from '../vae/options.js';
import { readSentences, SENTENCE_FORMATS } from '../vae/sentences.js';
import { SentenceVaeTrainer, type VaeReporter } from '../vae/trainer.js';
import { whileInterruptible } from './interrupt.js';
import { nonNegativeInteger, numberIn, oneOf, positiveInteger, positiveNumber } from './errors.js';

const DEVICES = ['auto', 'cpu', 'cuda'] as const;

function defaultRunDir(): string {
  const t = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `runs/vae-${t.getFullYear()}${pad(t.getMonth() + 1)}${pad(t.getDate())}-${pad(t.getHours())}${pad(t.getMinutes())}${pad(t.getSeconds())}`;
}

function out(record: object): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

const f2 = (x: number): string => x.toFixed(2);

function reporter(json: boolean): VaeReporter {
  const progress = createProgress({ json });
  return {
    start(info) {
      if (info.deviceNote !== null) process.stderr.write(`rnnlm: training on the CPU: ${info.deviceNote}\n`);
      if (info.dataNote !== null) process.stderr.write(`rnnlm: ${info.dataNote}\n`);
      if (json) out({ event: 'start', ...info });
      else {
        progress.log(
          `${info.resumed ? `resuming at step ${info.step}:` : 'training'} a sentence VAE (${(info.parameters / 1e6).toFixed(2)}M parameters) on ${info.device}; vocabulary ${info.vocabSize}; ` +
            `${info.trainSentences} training / ${info.validSentences} validation sentences from ${info.source}`,
        );
        progress.log(`run folder ${info.runDir}; ${info.stepsPerEpoch} steps per epoch`);
      }
      progress.start(info.totalSteps, info.step);
    },
    step(r) {
      progress.update(r.step, { loss: r.loss, tokensPerSec: r.tokensPerSec });
    },
    epoch(r) {
      if (json) {
        out({ event: 'epoch', ...r });
        return;
      }
      progress.log(
        `epoch ${r.epoch} (step ${r.step}, kl weight ${r.klWeight.toFixed(3)}): ` +
          `train elbo ${f2(r.train.elbo)} nll ${f2(r.train.nll)} kl ${f2(r.train.kl)} | ` +
          `valid elbo ${f2(r.valid.elbo)} nll ${f2(r.valid.nll)} kl ${f2(r.valid.kl)} ppl ${f2(r.valid.ppl)}${r.best ? ' (best)' : ''} ` +
          `[${r.trainSeconds.toFixed(0)}s + ${r.validSeconds.toFixed(0)}s]`,
      );
      for (const s of r.samples) progress.log(`  sample: ${s}`);
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

function trainCommand() {
  return new Command('train')
    .description('train a sentence VAE (default: sentences of the bundled Moby Dick)')
    .option('--data <path>', 'training sentences: a file or folder (default: Moby Dick, bundled)')
    .option('--valid <file>', 'validation sentences (default: the last --valid-fraction of the data)')
    .option('--valid-fraction <p>', 'share of the sentences held out without --valid', numberIn('--valid-fraction', 0, 1, true))
    .addOption(new Option('--format <format>', "lines: one sentence per line (PTB; default for --data); text: running text split into sentences").argParser(oneOf('--format', SENTENCE_FORMATS)))
    .addOption(new Option('--cell <cell>', 'lstm, gru, rnn or rnn_relu (default gru)').argParser(oneOf('--cell', CELL_TYPES)))
    .option('--embedding <n>', 'embedding size (default 300)', positiveInteger('--embedding'))
    .option('--hidden <n>', 'hidden size (default 256)', positiveInteger('--hidden'))
    .option('--latent <n>', 'latent size (default 16)', positiveInteger('--latent'))
    .option('--layers <n>', 'stacked layers of encoder and decoder (default 1)', positiveInteger('--layers'))
    .option('--bidirectional', 'bidirectional encoder')
    .option('--word-dropout <p>', 'decoder input words replaced by <unk> (default 0)', numberIn('--word-dropout', 0, 1))
    .option('--embedding-dropout <p>', 'dropout on the decoder input embeddings (default 0.5)', numberIn('--embedding-dropout', 0, 1, true))
    .addOption(new Option('--anneal <kind>', 'KL weight schedule: logistic (default), linear, or none (weight 1)').argParser(oneOf('--anneal', ANNEAL_KINDS)))
    .option('--k <x>', 'logistic annealing steepness (default 0.0025)', positiveNumber('--k'))
    .option('--x0 <n>', 'logistic midpoint / linear ramp length in steps (default 2500)', positiveNumber('--x0'))
    .option('--batch <n>', 'sentences per step (default 32)', positiveInteger('--batch'))
    .option('--max-length <n>', 'tokens per sequence, <sos> or <eos> included; longer sentences are cut (default 60)', positiveInteger('--max-length'))
    .option('--min-count <n>', 'words seen fewer times become <unk> (default 2)', positiveInteger('--min-count'))
    .option('--epochs <n>', 'passes over the training sentences (default 10)', positiveInteger('--epochs'))
    .option('--lr <x>', 'Adam learning rate (default 1e-3)', positiveNumber('--lr'))
    .option('--clip <x>', 'global gradient-norm limit (default 0: off)', numberIn('--clip', 0))
    .option('--teacher-forcing <r>', 'probability of feeding the decoder the true previous word (default 1)', numberIn('--teacher-forcing', 0, 1))
    .option('--decoder-only', 'train the plain LM baseline: the decoder alone, no latent code')
    .option('--log-every <n>', 'a train_steps metrics record every N steps (default 50)', positiveInteger('--log-every'))
    .option('--out <dir>', 'run folder (default runs/vae-<date-time>)')
    .addOption(new Option('--resume <run>', 'continue the run in this folder from its last checkpoint (--epochs may grow)').conflicts('out'))
    .addOption(new Option('--device <device>', 'auto, cpu or cuda').argParser(oneOf('--device', DEVICES)))
    .option('--seed <n>', 'random seed (default 1)', nonNegativeInteger('--seed'))
.option('--nproc <n>', 'data-parallel over N processes on this machine (starts mpirun -np N; or run under mpirun yourself)', positiveInteger('--nproc'))
    .option('--json', 'print JSON lines (start, epoch, summary) instead of the progress view')
    .addHelpText(
      'after',
      `
Loss = (NLL + kl_weight * KL) / batch; each epoch reports the negative ELBO (NLL + KL), NLL and
KL per sentence for the training batches and the validation sentences. The run folder gets
metrics.jsonl, last/ (every epoch, with the trainer state) and best/ (lowest validation
negative ELBO). Ctrl-C saves last/ and exits; --resume RUN continues exactly.

Examples:
  rnnlm vae train --data ptb.train.txt --valid ptb.valid.txt --epochs 4 --out runs/ptb-vae
  rnnlm vae train --data ptb.train.txt --valid ptb.valid.txt --word-dropout 0.25 --teacher-forcing 0.8
  rnnlm vae train --resume runs/ptb-vae --epochs 8`,
    )
    .action(async (flags) => {
      if (shouldLaunch(flags.nproc)) {
        process.exitCode = await launchJob(flags.nproc);
        return;
      }
      const options: Partial<VaeTrainOptions> = {
        data: flags.data,
        valid: flags.valid,
        validFraction: flags.validFraction,
        format: flags.format,
        cell: flags.cell,
        embedding: flags.embedding,
        hidden: flags.hidden,
        latent: flags.latent,
        layers: flags.layers,
        bidirectional: flags.bidirectional,
        wordDropout: flags.wordDropout,
        embeddingDropout: flags.embeddingDropout,
        anneal: flags.anneal,
        k: flags.k,
        x0: flags.x0,
        batch: flags.batch,
        maxLength: flags.maxLength,
        minCount: flags.minCount,
        epochs: flags.epochs,
        lr: flags.lr,
        clip: flags.clip,
        teacherForcing: flags.teacherForcing,
        decoderOnly: flags.decoderOnly,
        logEvery: flags.logEvery,
        seed: flags.seed,
        device: flags.device,
      };
      const collective = jobCollective(flags.device);
      const trainer = flags.resume !== undefined ? SentenceVaeTrainer.resume(flags.resume, options, { collective }) : SentenceVaeTrainer.create(options, flags.out ?? defaultRunDir(), { collective });
      try {
        const summary = await whileInterruptible((signal) => trainer.run({ reporter: reporter(flags.json === true), signal }), { sigterm: collective !== null });
        if (collective !== null && collective.rank !== 0) {
          // Rank 0 reports.
        } else if (flags.json === true) out({ event: 'summary', ...summary });
        else {
          const v = summary.valid;
          const figures = v === null ? '' : `; validation elbo ${f2(v.elbo)}, nll ${f2(v.nll)}, kl ${f2(v.kl)} per sentence`;
          process.stdout.write(`${summary.status} after ${summary.epochs} epoch(s), step ${summary.step}${figures}\n`);
          process.stdout.write(summary.status === 'interrupted' ? `continue with: rnnlm vae train --resume ${trainer.runDir}\n` : `sample with:   rnnlm vae sample -c ${trainer.runDir}\n`);
        }
      } finally {
        trainer.dispose();
      }
    });
}

function printSentences(sentences: readonly DecodedSentence[], json: boolean, extra: Record<string, unknown> = {}): void {
  if (json) {
    for (const s of sentences) out({ ...extra, text: s.text, z: s.z });
    return;
  }
  for (const s of sentences) process.stdout.write(`${s.text}\n`);
}

function sampleCommand() {
  return new Command('sample')
    .description('decode sentences from z ~ N(0, I)')
    .requiredOption('-c, --checkpoint <dir>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .option('-n, --count <n>', 'sentences', positiveInteger('-n'), 10)
    .addOption(new Option('--greedy', 'argmax decoding (the default)').conflicts('temperature'))
    .option('-t, --temperature <x>', 'sample the words at this temperature instead of argmax', positiveNumber('--temperature'))
    .option('--seed <n>', 'random seed', nonNegativeInteger('--seed'), 1)
    .option('--json', 'one JSON object {text, z} per sentence')
    .action((flags) => {
      const { model, vocab } = loadSentenceVae(flags.checkpoint);
      try {
        const temperature = flags.greedy === true ? 0 : (flags.temperature ?? 0);
        printSentences(sampleSentences(model, vocab, flags.count, { temperature, seed: flags.seed }), flags.json === true);
      } finally {
        model.dispose();
      }
    });
}

function interpolateCommand() {
  return new Command('interpolate')
    .description('decode the codes on the line between two sentences (their means) or two draws from N(0, I)')
    .requiredOption('-c, --checkpoint <dir>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .option('--from <sentence>', 'first sentence (needs --to)')
    .option('--to <sentence>', 'second sentence')
    .option('--steps <k>', 'codes between the two ends', nonNegativeInteger('--steps'), 8)
    .option('-t, --temperature <x>', 'sample the words at this temperature instead of argmax', positiveNumber('--temperature'))
    .option('--seed <n>', 'random seed', nonNegativeInteger('--seed'), 1)
    .option('--json', 'one JSON object {i, text, z} per point')
    .action((flags) => {
      const { model, vocab, config } = loadSentenceVae(flags.checkpoint);
      try {
        const points = interpolateSentences(model, vocab, config.tokenizer.format, flags.steps, {
          temperature: flags.temperature ?? 0,
          seed: flags.seed,
          ...(flags.from === undefined ? {} : { from: flags.from }),
          ...(flags.to === undefined ? {} : { to: flags.to }),
        });
        if (flags.json === true) points.forEach((p, i) => out({ i, text: p.text, z: p.z }));
        else points.forEach((p, i) => process.stdout.write(`${i === 0 || i === points.length - 1 ? '*' : ' '} ${p.text}\n`));
      } finally {
        model.dispose();
      }
    });
}

function reconstructCommand() {
  return new Command('reconstruct')
    .description('encode sentences to their posterior means and decode them greedily')
    .requiredOption('-c, --checkpoint <dir>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .argument('<sentence...>', 'sentences (quote each)')
    .option('--json', 'one JSON object {input, text, z} per sentence')
    .action((sentences, flags) => {
      const { model, vocab, config } = loadSentenceVae(flags.checkpoint);
      try {
        const r = reconstructSentences(model, vocab, config.tokenizer.format, sentences);
        if (flags.json === true) r.forEach((s, i) => out({ input: sentences[i], text: s.text, z: s.z }));
        else r.forEach((s, i) => process.stdout.write(`${sentences[i]}\n-> ${s.text}\n`));
      } finally {
        model.dispose();
      }
    });
}

function evalCommand() {
  return new Command('eval')
    .description('score sentences: NLL, KL and negative ELBO per sentence (z drawn from q(z|x))')
    .requiredOption('-c, --checkpoint <dir>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .requiredOption('--data <file>', 'sentences in the format the model was trained on')
    .option('--batch <n>', 'sentences per engine call', positiveInteger('--batch'), 64)
    .option('--teacher-forcing <r>', 'probability of feeding the true previous word', numberIn('--teacher-forcing', 0, 1), 1)
    .addOption(new Option('--z <mode>', 'sample (the ELBO estimate) or mean').argParser(oneOf('--z', ['sample', 'mean'] as const)).default('sample' as const))
    .option('--seed <n>', 'seed of the z draws', nonNegativeInteger('--seed'), 1)
    .option('--json', 'print one JSON object {sentences, nll, kl, elbo, tokens, ppl}')
    .action((flags) => {
      const { model, vocab, config } = loadSentenceVae(flags.checkpoint);
      try {
        const sentences = readSentences(flags.data, config.tokenizer.format, { singleFile: true }).map((s) => vocab.encode(s));
        const r = evaluateVae(model, sentences, { batch: flags.batch, teacherForcing: flags.teacherForcing, z: flags.z, seed: flags.seed });
        if (flags.json === true) out(r);
        else {
          process.stdout.write(
            `sentences ${r.sentences}\ntokens    ${r.tokens}\nnll       ${r.nll.toFixed(3)} per sentence\nkl        ${r.kl.toFixed(3)} per sentence\n` +
              `elbo      ${r.elbo.toFixed(3)} per sentence (negative ELBO: nll + kl)\nppl       ${r.ppl.toFixed(2)} (bound, per token)\n`,
          );
        }
      } finally {
        model.dispose();
      }
    });
}

/** `rnnlm vae` with its subcommands train, sample, interpolate, reconstruct and eval. */
export function vaeCommand() {
  return new Command('vae')
    .description('sentence variational autoencoder (Bowman et al. 2016): train, sample, interpolate, reconstruct, eval')
    .addCommand(trainCommand())
    .addCommand(sampleCommand())
    .addCommand(interpolateCommand())
    .addCommand(reconstructCommand())
    .addCommand(evalCommand());
}
