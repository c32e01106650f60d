// What the checkpoint fuzz test loads: one small, valid run of each model kind (language model,
// sentence VAE, classifier) made by the library's own trainers, and, for one case, its last/
// checkpoint with one file mutated, loaded by the kind's loader or resumed by its trainer. A load
// that succeeds must round-trip (save, load again: the same tensors, and the tensors the file
// holds); one that fails must throw an Error whose code starts with ERR_RNNLM_.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadClassifier, saveClassifier } from '../../src/checkpoint/classifier_checkpoint.js';
import { loadLanguageModel, saveLanguageModel } from '../../src/checkpoint/lm_checkpoint.js';
import { float32Data } from '../../src/checkpoint/tensors.js';
import { loadSentenceVae, saveSentenceVae } from '../../src/checkpoint/vae_checkpoint.js';
import { ClassifierTrainer } from '../../src/classify/trainer.js';
import { decodeSafetensors, type SafeTensor } from '../../src/io/safetensors.js';
import type { Module } from '../../src/nn/module.js';
import { LanguageModelTrainer } from '../../src/train/lm_trainer.js';
import { SentenceVaeTrainer } from '../../src/vae/trainer.js';
import { applyMutations, CHECKPOINT_FILE_NAMES, type CheckpointFileName, type Mutation } from './checkpoint_mutations.js';

export const MODEL_KINDS = ['lm', 'vae', 'classifier'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** One fuzz case: which run, which file of its last/ checkpoint, the edits, and how it is read. */
export interface FuzzCase {
  kind: ModelKind;
  file: CheckpointFileName;
  via: 'load' | 'resume';
  mutations: Mutation[];
}

/** What one case did, as the child reports it. */
export interface CaseOutcome {
  /** 'loaded' and 'refused' are fine; 'bad' says why not in `problem`. */
  result: 'loaded' | 'refused' | 'bad';
  code?: string;
  problem?: string;
  ms: number;
  /** Peak resident set of the child so far, and its heap-external and ArrayBuffer bytes now. */
  maxRssBytes: number;
  externalBytes: number;
  arrayBufferBytes: number;
}

// ---- the pristine runs -----------------------------------------------------------------------

const words = ['the', 'whale', 'sea', 'ship', 'captain', 'white', 'harpoon', 'deck'];

function writeCorpora(dir: string): void {
  const lines = Array.from({ length: 60 }, (_, i) => `${words[i % 8]} ${words[(i * 3) % 8]} ${words[(i * 5 + 1) % 8]} .`);
  writeFileSync(join(dir, 'lm.txt'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'vae.txt'), `${lines.slice(0, 50).join('\n')}\n`);
  writeFileSync(join(dir, 'vae_valid.txt'), `${lines.slice(50).join('\n')}\n`);
  const names = join(dir, 'names');
  mkdirSync(names);
  const alphabets: Record<string, string> = { Alpha: 'abcde', Beta: 'vwxyz' };
  for (const [label, alphabet] of Object.entries(alphabets)) {
    const ws = Array.from({ length: 12 }, (_, i) => alphabet.slice(i % 3) + alphabet.slice(0, (i % 4) + 1));
    writeFileSync(join(names, `${label}.txt`), `${ws.join('\n')}\n`);
  }
}

/** Trains a tiny run of each kind under `dir` (a few steps; cpu) and returns the run folders. */
export async function makePristineRuns(dir: string): Promise<Record<ModelKind, string>> {
  writeCorpora(dir);
  const runs = { lm: join(dir, 'run-lm'), vae: join(dir, 'run-vae'), classifier: join(dir, 'run-classifier') };
  const lm = LanguageModelTrainer.create(
    { data: join(dir, 'lm.txt'), embedding: 4, hidden: 6, layers: 2, cell: 'lstm', batch: 2, seq: 8, steps: 2, validEvery: 2, sampleEvery: 0, device: 'cpu' },
    runs.lm,
  );
  await lm.run();
  lm.dispose();
  const vae = SentenceVaeTrainer.create(
    { data: join(dir, 'vae.txt'), valid: join(dir, 'vae_valid.txt'), embedding: 4, hidden: 5, latent: 2, batch: 25, epochs: 1, minCount: 1, device: 'cpu' },
    runs.vae,
  );
  await vae.run();
  vae.dispose();
  const classifier = ClassifierTrainer.create({ data: join(dir, 'names'), embedding: 4, hidden: 5, batch: 8, epochs: 1, device: 'cpu' }, runs.classifier);
  await classifier.run();
  classifier.dispose();
  return runs;
}

/** The bytes of each file of a run's last/ checkpoint. */
export function readPristine(runDir: string): Map<CheckpointFileName, Uint8Array> {
  return new Map(CHECKPOINT_FILE_NAMES.map((f) => [f, new Uint8Array(readFileSync(join(runDir, 'last', f)))]));
}

// ---- one case --------------------------------------------------------------------------------

function sameTensors(a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>, what: string): string | null {
  if (a.size !== b.size) return `${what}: ${a.size} tensors against ${b.size}`;
  for (const [name, x] of a) {
    const y = b.get(name);
    if (y === undefined) return `${what}: '${name}' is missing`;
    if (x.length !== y.length) return `${what}: '${name}' has ${x.length} elements against ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      if (!Object.is(x[i], y[i])) return `${what}: '${name}' element ${i} is ${x[i]} against ${y[i]}`;
    }
  }
  return null;
}

function weightsOf(model: Module): Map<string, Float32Array> {
  return new Map([...model.stateDict()].map(([name, t]) => [name, t.toFloat32Array()]));
}

function fileWeights(bytes: Uint8Array): Map<string, Float32Array> {
  const { tensors } = decodeSafetensors(bytes, 'model.safetensors');
  return new Map([...tensors].map(([name, t]: [string, SafeTensor]) => [name, float32Data(t, name)]));
}

interface Loaded {
  model: Module;
  /** Saves the loaded model to `dir` and loads it back. */
  roundTrip(dir: string): Module;
}

function load(kind: ModelKind, dir: string): Loaded {
  switch (kind) {
    case 'lm': {
      const l = loadLanguageModel(dir);
      return {
        model: l.model,
        roundTrip: (to) => {
          saveLanguageModel(to, l.model, { vocab: l.vocab });
          return loadLanguageModel(to).model;
        },
      };
    }
    case 'vae': {
      const l = loadSentenceVae(dir);
      return {
        model: l.model,
        roundTrip: (to) => {
          saveSentenceVae(to, l.model, l.vocab, l.config.tokenizer.format);
          return loadSentenceVae(to).model;
        },
      };
    }
    case 'classifier': {
      const l = loadClassifier(dir);
      return {
        model: l.model,
        roundTrip: (to) => {
          saveClassifier(to, l.model, { vocab: l.vocab, labels: l.labels });
          return loadClassifier(to).model;
        },
      };
    }
  }
}

/** A trainer resumed from `runDir`: its model, and how to free the trainer. */
function resume(kind: ModelKind, runDir: string): { model: Module; dispose(): void } {
  const trainer =
    kind === 'lm' ? LanguageModelTrainer.resume(runDir) : kind === 'vae' ? SentenceVaeTrainer.resume(runDir) : ClassifierTrainer.resume(runDir);
  return { model: trainer.model, dispose: () => trainer.dispose() };
}

/**
 * Writes the pristine last/ of `c.kind` with `c.file` mutated into `scratch`/run/last and reads
 * it. Returns null when all is well, else what went wrong; throws what the loader threw.
 */
function runCase(c: FuzzCase, pristine: Map<CheckpointFileName, Uint8Array>, scratch: string): string | null {
  rmSync(scratch, { recursive: true, force: true });
  const last = join(scratch, 'run', 'last');
  mkdirSync(last, { recursive: true });
  for (const [name, bytes] of pristine) writeFileSync(join(last, name), name === c.file ? applyMutations(bytes, c.mutations) : bytes);
  // What the weights must be when the load succeeds (read only then: a corrupt file is the loader's to refuse).
  const expected = (): Map<string, Float32Array> => fileWeights(readFileSync(join(last, 'model.safetensors')));
  if (c.via === 'resume') {
    const resumed = resume(c.kind, join(scratch, 'run'));
    try {
      return afterLoad(() => sameTensors(weightsOf(resumed.model), expected(), 'resumed weights against model.safetensors'));
    } finally {
      resumed.dispose();
    }
  }
  const loaded = load(c.kind, last);
  let again: Module | null = null;
  try {
    return afterLoad(() => {
      const first = weightsOf(loaded.model);
      const problem = sameTensors(first, expected(), 'loaded weights against model.safetensors');
      if (problem !== null) return problem;
      again = loaded.roundTrip(join(scratch, 'saved'));
      return sameTensors(weightsOf(again), first, 'saved and loaded again');
    });
  } finally {
    loaded.model.dispose();
    (again as Module | null)?.dispose();
  }
}

// Once a load has succeeded, anything that throws (saving it again, reading the file's tensors
// for the comparison) is a failure of the round trip, whatever its code.
function afterLoad(check: () => string | null): string | null {
  try {
    return check();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return `the round trip threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}${typeof code === 'string' ? ` [${code}]` : ''}`;
  }
}

/** Runs one case and measures it; every throw is classified, none escapes. */
export function measureCase(c: FuzzCase, pristine: Map<CheckpointFileName, Uint8Array>, scratch: string): CaseOutcome {
  const start = performance.now();
  let outcome: Pick<CaseOutcome, 'result' | 'code' | 'problem'>;
  try {
    const problem = runCase(c, pristine, scratch);
    outcome = problem === null ? { result: 'loaded' } : { result: 'bad', problem: `loaded, but ${problem}` };
  } catch (error) {
    const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
    if (error instanceof Error && typeof code === 'string' && code.startsWith('ERR_RNNLM_')) {
      outcome = { result: 'refused', code };
    } else {
      const what = error instanceof Error ? `${error.name}: ${error.message}` : `a non-Error ${String(error)}`;
      outcome = { result: 'bad', problem: `threw ${what} without an ERR_RNNLM_ code${error instanceof Error && error.stack ? `\n${error.stack}` : ''}` };
    }
  }
  const memory = process.memoryUsage();
  return {
    ...outcome,
    ms: performance.now() - start,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    externalBytes: memory.external,
    arrayBufferBytes: memory.arrayBuffers,
  };
}
