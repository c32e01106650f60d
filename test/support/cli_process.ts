// The built CLI (dist/cli/main.js, which `npm test` compiles first) as a child process, watched:
// its wall time, its peak resident memory (stopped past a cap, so a runaway allocation cannot
// take the machine), and the checks every fault test makes of how it ended: an rnnlm error code,
// no signal, no Node trace.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const cliMain = join(root, 'dist', 'cli', 'main.js');

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident memory seen while polling (bytes); 0 where /proc cannot be read. */
  peakRss: number;
  /** Why the watcher stopped it (time or memory), or null. */
  stopped: string | null;
}

export interface CliOptions {
  cwd: string;
  /** Stopped (SIGKILL) after this long; default 20 s. */
  killAfterMs?: number;
  /** Stopped (SIGKILL) when its resident memory passes this; default 1 GiB. */
  maxRssBytes?: number;
  env?: Record<string, string>;
  /** What stdin is: ignored (default) or this text. */
  input?: string;
}

function residentBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

/** Runs `rnnlm ...args` and waits for it. */
export function runCli(args: string[], options: CliOptions): Promise<CliRun> {
  const killAfter = options.killAfterMs ?? 20_000;
  const maxRss = options.maxRssBytes ?? 2 ** 30;
  const started = performance.now();
  const child = spawn(process.execPath, [cliMain, ...args], {
    cwd: options.cwd,
    env: { ...process.env, RNNLM_THREADS: '1', RNNLM_DEVICE: 'cpu', ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = '';
  let stderr = '';
  let peakRss = 0;
  let stopped: string | null = null;
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = (why: string): void => {
    if (stopped !== null) return;
    stopped = why;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => stop(`still running after ${killAfter} ms`), killAfter);
  const poll = setInterval(() => {
    peakRss = Math.max(peakRss, residentBytes(child.pid!));
    if (peakRss > maxRss) stop(`resident memory passed ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
  }, 10);
  return new Promise((resolve) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ status, signal, stdout, stderr, ms: performance.now() - started, peakRss, stopped });
    });
  });
}

/** The rnnlm code of the error line ("rnnlm: message [ERR_RNNLM_X]"), or null. */
export function errorCode(r: CliRun): string | null {
  return /\[(ERR_RNNLM_[A-Z_]+)\]\s*$/m.exec(r.stderr)?.[1] ?? null;
}

/** Ended on its own (no signal, not stopped), without a Node trace or an unhandled error. */
export function assertNoCrash(r: CliRun, what: string): void {
  assert.is(r.stopped, null, `${what}: ${r.stopped} (stderr: ${r.stderr.slice(-500)})`);
  assert.is(r.signal, null, `${what}: ended by ${r.signal}`);
  assert.not.match(r.stderr, /Unhandled|node:internal|^\s+at /m, `${what}: a trace on stderr:\n${r.stderr}`);
}

/** Failed with status 1 and one of `codes`, within `ms`, and did not crash. */
export function assertRefused(r: CliRun, codes: readonly string[], ms: number, what: string): void {
  assertNoCrash(r, what);
  const code = errorCode(r);
  assert.ok(code !== null && codes.includes(code), `${what}: expected ${codes.join(' or ')}, got status ${r.status}, stderr: ${r.stderr.slice(-600)}`);
  assert.is(r.status, 1, `${what}: status`);
  assert.ok(r.ms <= ms, `${what}: took ${r.ms.toFixed(0)} ms, over ${ms} ms`);
}
