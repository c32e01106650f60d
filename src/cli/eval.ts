// `rnnlm eval`: the evaluation contract of DESIGN.md (nll, perplexity, bits per character).
import { Command } from '@commander-js/extra-typings';
import { join } from 'node:path';
import { loadLanguageModel, resolveCheckpointDir } from '../checkpoint/index.js';
import { readCorpus, skippedFilesNote } from '../data/reader.js';
import { tokenizerFromJSON } from '../data/tokenizer_factory.js';
import { evaluateText } from '../eval/lm_eval.js';
import { positiveInteger } from './errors.js';

export function evalCommand() {
  return new Command('eval')
    .description('score a text with a trained language model: nll (nats/token), perplexity, bits per character')
    .requiredOption('-c, --checkpoint <dir>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .requiredOption('--data <file>', 'UTF-8 text file or folder to score')
    .option('--chunk <n>', 'tokens per engine call (the state is carried between chunks)', positiveInteger('--chunk'), 256)
    .option('--json', 'print one JSON object {tokens, nll, ppl, bpc}')
    .addHelpText(
      'after',
      `
The text is one continuous stream: every token is predicted from all tokens before it.

Examples:
  rnnlm eval -c runs/shakespeare --data valid.txt
  rnnlm eval -c runs/ptb --data ptb.valid.txt --json`,
    )
    .action((flags) => {
      const dir = resolveCheckpointDir(flags.checkpoint);
      const { model, vocab } = loadLanguageModel(dir);
      try {
        const tokenizer = tokenizerFromJSON(vocab, join(dir, 'vocab.json'));
        const { text, skipped } = readCorpus(flags.data);
        const note = skippedFilesNote(skipped);
        if (note !== null) process.stderr.write(`rnnlm: ${note}\n`);
        const r = evaluateText(model, tokenizer, text, { chunk: flags.chunk });
        if (flags.json === true) {
          // JSON has no Infinity: a perplexity past float64 (nll > 709 nats) is written as the string.
          process.stdout.write(`${JSON.stringify(r, (_key, v: unknown) => (v === Infinity ? 'Infinity' : v))}\n`);
        } else {
          process.stdout.write(`tokens ${r.tokens}\nnll    ${r.nll.toFixed(4)} nats/token\nppl    ${r.ppl.toFixed(2)}\nbpc    ${r.bpc.toFixed(4)}\n`);
        }
      } finally {
        model.dispose();
      }
    });
}
