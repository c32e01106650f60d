// `rnnlm sample`: text from a trained language model, streamed to stdout as it is generated.
import { Command } from '@commander-js/extra-typings';
import { loadLanguageModel, resolveCheckpointDir } from '../checkpoint/index.js';
import { tokenizerFromJSON } from '../data/tokenizer_factory.js';
import { generate } from '../sample/generate.js';
import { nonNegativeInteger, numberIn, positiveNumber } from './errors.js';
import { join } from 'node:path';

const OUTPUT_GONE = Symbol('stdout failed');

export function sampleCommand() {
  return new Command('sample')
    .description('generate text from a trained language model')
    .requiredOption('-c, --checkpoint <dir>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .option('--prime <text>', 'text the model reads first; the output continues it', '')
    .option('-n, --length <n>', 'tokens to generate (characters or words)', nonNegativeInteger('--length'), 500)
    .option('-t, --temperature <x>', 'softmax temperature (< 1: safer, > 1: wilder)', positiveNumber('--temperature'), 1)
    .option('--top-k <k>', 'draw only from the k most likely tokens (0: all)', nonNegativeInteger('--top-k'), 0)
    .option('--top-p <p>', 'draw only from the smallest set of tokens holding probability p', numberIn('--top-p', 0, 1), 1)
    .option('--greedy', 'always take the most likely token')
    .option('--seed <n>', 'random seed', nonNegativeInteger('--seed'), 1)
    .addHelpText(
      'after',
      `
Examples:
  rnnlm sample -c runs/shakespeare --prime "ROMEO:" -n 300 -t 0.8
  rnnlm sample -c runs/ptb/best --prime "the company" -n 50 --top-p 0.9
  rnnlm sample -c runs/shakespeare --greedy -n 100`,
    )
    .action((flags) => {
      const dir = resolveCheckpointDir(flags.checkpoint);
      const { model, vocab } = loadLanguageModel(dir);
      try {
        const tokenizer = tokenizerFromJSON(vocab, join(dir, 'vocab.json'));
        try {
          generate(model, tokenizer, {
            prime: flags.prime,
            length: flags.length,
            temperature: flags.temperature,
            topK: flags.topK,
            topP: flags.topP,
            greedy: flags.greedy === true,
            seed: flags.seed,
            onText: (piece) => {
              process.stdout.write(piece);
              // A pipe write fails at once (its 'error' event comes later, after generation): stop
              // generating for a reader that is gone (`| head`) instead of finishing the text.
              if (process.stdout.errored) throw OUTPUT_GONE;
            },
          });
        } catch (error) {
          if (error !== OUTPUT_GONE) throw error;
          return; // the 'error' handler (errors.ts) ends the command: 0 for EPIPE, 1 otherwise
        }
        process.stdout.write('\n');
      } finally {
        model.dispose();
      }
    });
}
