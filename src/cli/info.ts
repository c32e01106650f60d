// `rnnlm info`: which backend, BLAS and thread count this process uses, and whether CUDA is in.
import { Command } from '@commander-js/extra-typings';
import { info } from '../runtime.js';
import { describeCommSupport, distributedInfo } from '../distributed/info.js';

export function infoCommand() {
  return new Command('info')
    .description('show the engine: backend, BLAS, threads, CUDA, MPI and NCCL')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExamples:\n  rnnlm info\n  rnnlm info --json')
    .action((options) => {
      const report = info();
      const distributed = distributedInfo();
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ...report, distributed })}\n`);
        return;
      }
      for (const [key, value] of Object.entries(report)) {
        process.stdout.write(`${key.padEnd(14)} ${value === null ? '-' : String(value)}\n`);
      }
      process.stdout.write(`${'mpi'.padEnd(14)} ${describeCommSupport(distributed.mpi)}\n${'nccl'.padEnd(14)} ${describeCommSupport(distributed.nccl)}\n`);
    });
}
