// `rnnlm info`: which binary this process loaded and why, which CPU kernels and BLAS it runs,
// threads, and whether CUDA is in.
import { Command } from '@commander-js/extra-typings';
import { info, type RuntimeInfo } from '../runtime.js';
import { describeCommSupport, distributedInfo } from '../distributed/info.js';

/** The human-readable report: one "name  value" line each, reasons in parentheses. */
export function infoLines(report: RuntimeInfo): string[] {
  const origin = report.addonPackage !== null ? `prebuilt package ${report.addonPackage}` : report.addonSource;
  const blas =
    report.gemmProvider === 'blas'
      ? `${report.blas}${report.blasLibrary !== '' ? ` ${report.blasLibrary}` : ''} (${report.blasReason})`
      : `built-in GEMM (${report.blas === 'none' ? report.blasReason : `${report.blas} available; the built-in kernel is selected`})`;
  const kernels = report.portable
    ? `${report.cpuKernels} (${report.cpuKernelsReason}; CPU flags seen: ${report.cpuFlags})`
    : `${report.cpuKernels} (${report.cpuKernelsReason})`;
  const lines: [string, string][] = [
    ['addon', `${report.addon} (${origin})`],
    ...report.addonSkipped.map((s): [string, string] => ['  skipped', s]),
    ['build', report.portable ? 'portable (x86-64-v2 baseline, kernels picked at run time)' : 'native (-march=native)'],
    ['cpu kernels', kernels],
    ['backend', report.backend],
    ['gemm', blas],
    ['threads', String(report.threads)],
    ['cuda compiled', String(report.cudaCompiled) + (report.cudaEmulated ? ' (emulated on the CPU)' : '')],
    ['cuda', report.cuda ?? `- (${report.cudaReason ?? 'not usable'})`],
  ];
  return lines.map(([key, value]) => `${key.padEnd(14)} ${value}`);
}

export function infoCommand() {
  return new Command('info')
    .description('show the engine: which binary was loaded and why, CPU kernels, BLAS, threads, CUDA, MPI and NCCL')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExamples:\n  rnnlm info\n  rnnlm info --json')
    .action((options) => {
      const report = info();
      const distributed = distributedInfo();
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ...report, distributed })}\n`);
        return;
      }
      process.stdout.write(`${infoLines(report).join('\n')}\n`);
      process.stdout.write(`${'mpi'.padEnd(14)} ${describeCommSupport(distributed.mpi)}\n${'nccl'.padEnd(14)} ${describeCommSupport(distributed.nccl)}\n`);
    });
}
