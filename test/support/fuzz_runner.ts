// The parent side of the checkpoint fuzz test: one worker process (fuzz_child.ts) runs the cases
// one at a time while this side watches it. A case that runs past the time limit, or whose
// worker's resident memory grows past the memory limit, is stopped (SIGKILL) and reported; so is
// a worker that dies. A new worker then takes the next case.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CaseOutcome, FuzzCase, ModelKind } from './fuzz_targets.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const childFile = join(root, 'test', 'support', 'fuzz_child.ts');

/** A case the fuzzer found (or one pinned by hand), kept in test/fixtures/fuzz_regressions.json. */
export interface Regression {
  /** What the case found. */
  found: string;
  /** The fix it waits for, while it still fails ("issue 15 item 2"). */
  awaits?: string;
  /** The code the case must be refused with, where that is pinned. */
  expect?: string;
  case: FuzzCase;
}

export function readRegressions(): Regression[] {
  return JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'fuzz_regressions.json'), 'utf8')) as Regression[];
}

export interface Limits {
  /** Wall time of one case. */
  ms: number;
  /** Growth of the worker's peak resident memory over what it had when it started. */
  bytes: number;
}

/** ok when the case loaded and round-tripped or was refused with an ERR_RNNLM_ code in bounds. */
export type Verdict = { ok: true; outcome: CaseOutcome } | { ok: false; why: string };

/** Resident memory of a process in bytes (Linux /proc); null where it cannot be read. */
function residentBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

interface Worker {
  child: ChildProcess;
  baseline: number;
  stderr: string;
}

export class FuzzRunner {
  readonly #runs: Record<ModelKind, string>;
  readonly #limits: Limits;
  #worker: Worker | null = null;
  #nextId = 0;
  /** Workers started, including the first (each restart follows a stopped or dead one). */
  started = 0;

  constructor(runs: Record<ModelKind, string>, limits: Limits) {
    this.#runs = runs;
    this.#limits = limits;
  }

  async #start(): Promise<Worker> {
    const child = fork(childFile, [JSON.stringify(this.#runs)], {
      execArgv: ['--import', tsx],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, RNNLM_THREADS: '1', RNNLM_DEVICE: 'cpu' },
    });
    this.started += 1;
    const worker: Worker = { child, baseline: 0, stderr: '' };
    child.stderr!.on('data', (d: Buffer) => (worker.stderr = (worker.stderr + d.toString()).slice(-4000)));
    worker.baseline = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { maxRssBytes: number }) => resolve(m.maxRssBytes));
      child.once('exit', (code, signal) => reject(new Error(`the fuzz worker ended before it was ready (${code ?? signal}): ${worker.stderr}`)));
    });
    child.removeAllListeners('exit');
    return worker;
  }

  /** Runs one case in the worker and judges it against the limits. */
  async run(c: FuzzCase): Promise<Verdict> {
    this.#worker ??= await this.#start();
    const worker = this.#worker;
    const { child } = worker;
    const id = this.#nextId++;
    const verdict = await new Promise<Verdict>((resolve) => {
      const finish = (v: Verdict): void => {
        clearTimeout(timer);
        clearInterval(poll);
        child.removeListener('message', onMessage);
        child.removeListener('exit', onExit);
        resolve(v);
      };
      const stop = (why: string): void => {
        child.removeListener('exit', onExit);
        child.kill('SIGKILL');
        this.#worker = null;
        finish({ ok: false, why });
      };
      const onMessage = (m: { id: number; outcome: CaseOutcome }): void => {
        if (m.id === id) finish({ ok: true, outcome: m.outcome });
      };
      const onExit = (code: number | null, signal: string | null): void => {
        this.#worker = null;
        finish({ ok: false, why: `the worker died (${signal ?? `exit ${code}`}): ${worker.stderr.slice(-2000)}` });
      };
      // Stopped a little after the limit: the worker's own measure decides cases near it.
      const timer = setTimeout(() => stop(`still running after ${this.#limits.ms * 2} ms (stopped)`), this.#limits.ms * 2);
      const poll = setInterval(() => {
        const rss = residentBytes(child.pid!);
        if (rss !== null && rss - worker.baseline > this.#limits.bytes) {
          stop(`resident memory grew by ${((rss - worker.baseline) / 2 ** 20).toFixed(0)} MiB (stopped)`);
        }
      }, 10);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ id, case: c });
    });
    if (!verdict.ok) return verdict;
    const { outcome } = verdict;
    if (outcome.result === 'bad') return { ok: false, why: outcome.problem ?? 'bad' };
    if (outcome.ms > this.#limits.ms) return { ok: false, why: `${outcome.result} after ${outcome.ms.toFixed(0)} ms, over ${this.#limits.ms} ms` };
    const grown = outcome.maxRssBytes - worker.baseline;
    if (grown > this.#limits.bytes) {
      // The peak stays with the worker; the next case gets a fresh one.
      this.close();
      return { ok: false, why: `${outcome.result}, but the peak resident memory grew by ${(grown / 2 ** 20).toFixed(0)} MiB` };
    }
    return verdict;
  }

  close(): void {
    this.#worker?.child.kill('SIGKILL');
    this.#worker = null;
  }
}
