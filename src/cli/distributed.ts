// Data-parallel runs from the CLI. `mpirun -np N rnnlm train ...` makes every process one rank
// (rank and size from mpirun's environment); `--nproc N` starts that mpirun on this machine. The
// three training commands share this.
import { spawn } from 'node:child_process';
import { initDistributed, mpirunWorldSize, type Communicator } from '../distributed/comm.js';
import { rnnlmError } from '../errors.js';
import { resolveDevice, type DeviceRequest } from '../runtime.js';

/**
 * The job's communicator when this process is a rank of mpirun's job (null for a plain run).
 * `--device auto` resolves the same way on every rank; on a GPU each local rank takes its own.
 */
export function jobCollective(device: DeviceRequest | undefined): Communicator | null {
  if (mpirunWorldSize() === null) return null;
  const resolved = resolveDevice(device ?? 'auto').device;
  return initDistributed({ device: resolved });
}

/**
 * Whether `--nproc` asks for a job this process must start: not when it already runs under
 * mpirun (where --nproc, if given, must agree with the job's size).
 */
export function shouldLaunch(nproc: number | undefined): nproc is number {
  if (nproc === undefined) return false;
  const size = mpirunWorldSize();
  if (size === null) return true;
  if (size !== nproc) throw rnnlmError('ERR_RNNLM_ARGUMENT', `--nproc ${nproc} inside an mpirun job of ${size} processes`);
  return false;
}

// Open MPI gives ranks 1 s between SIGTERM and SIGKILL by default; a rank needs the current step
// to end and rank 0 to write last/ first.
const SIGKILL_GRACE_S = 120;

/**
 * Runs this very command again as `mpirun -np N` on this machine, without `--nproc`, and resolves
 * to mpirun's exit status. mpirun runs in its own process group, so a terminal's Ctrl-C reaches
 * this process only (mpirun's own Ctrl-C aborts the job); it is passed on as SIGUSR1, which mpirun
 * forwards to every rank: each stops after the step all agree on, rank 0 saves last/. A second
 * Ctrl-C gives mpirun its own Ctrl-C.
 */
export function launchJob(nproc: number, argv: readonly string[] = process.argv): Promise<number> {
  const args = stripNproc(argv.slice(2));
  const mpirunArgs = [
    ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []),
    '--oversubscribe',
    '--mca', 'odls_base_sigkill_timeout', String(SIGKILL_GRACE_S),
    '-np', String(nproc),
    process.execPath, argv[1] ?? 'rnnlm', ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('mpirun', mpirunArgs, { stdio: 'inherit', detached: true });
    let interrupts = 0;
    const ignore = (): void => {
      interrupts += 1;
      if (interrupts === 1) process.stderr.write('\nrnnlm: interrupted; every rank stops after this step and rank 0 saves the last checkpoint\n');
      child.kill(interrupts === 1 ? 'SIGUSR1' : 'SIGINT');
    };
    process.on('SIGINT', ignore);
    process.on('SIGTERM', ignore);
    child.on('error', (error: NodeJS.ErrnoException) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', ignore);
      reject(
        error.code === 'ENOENT'
          ? rnnlmError('ERR_RNNLM_DISTRIBUTED', '--nproc starts mpirun, which is not installed (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev)')
          : rnnlmError('ERR_RNNLM_DISTRIBUTED', `cannot start mpirun: ${error.message}`),
      );
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', ignore);
      resolve(interrupts > 0 ? 130 : (code ?? (signal === null ? 1 : 130)));
    });
  });
}

function stripNproc(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--nproc') {
      i += 1;
      continue;
    }
    if (a.startsWith('--nproc=')) continue;
    out.push(a);
  }
  return out;
}
