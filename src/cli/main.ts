#!/usr/bin/env node
// The rnnlm command line. Parsing, validation and printing only; the work is in the library.
import { Command } from '@commander-js/extra-typings';
import { benchCommand } from './bench.js';
import { classifyCommand } from './classify.js';
import { handleOutputErrors, runCommand } from './errors.js';
import { evalCommand } from './eval.js';
import { infoCommand } from './info.js';
import { plotCommand } from './plot.js';
import { sampleCommand } from './sample.js';
import { trainCommand } from './train.js';
import { vaeCommand } from './vae.js';

const program = new Command()
  .name('rnnlm')
  .description('Recurrent neural language models on a native CPU/CUDA engine')
  .option('--verbose', 'print the stack trace of an error')
  .showHelpAfterError();

program.addCommand(trainCommand());
program.addCommand(sampleCommand());
program.addCommand(evalCommand());
program.addCommand(plotCommand());
program.addCommand(vaeCommand());
program.addCommand(classifyCommand());
program.addCommand(benchCommand());
program.addCommand(infoCommand());

handleOutputErrors();
await runCommand(program, process.argv);
