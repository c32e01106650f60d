// The state an epoch-based trainer saves beside RUN/last's weights so that a resumed run
// continues bit for bit: trainer.json ({format, version, options, state, generator, optimizer})
// and optimizer.safetensors (the optimizer's moments). The trainer defines what `options` and
// `state` hold and checks them; this file writes, reads and restores the common parts.
import type { SavedDistribution } from './data_parallel.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { rnnlmError } from '../errors.js';
import type { SafeTensor } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator, GeneratorState } from '../random.js';
import { fromFloat32Array, type Device, type Tensor } from '../tensor.js';
import { isSavedOptimizer, optimizerStateDict, snapshotOptimizer, type SavedOptimizer } from './optimizer_state.js';

export interface SavedTrainerState<O, S> {
  format: string;
  version: 1;
  options: O;
  state: S;
  generator: GeneratorState;
  optimizer: SavedOptimizer;
  /** A data-parallel run's ranks (absent: one process). */
  distributed?: SavedDistribution;
}

/** The JSON and the live tensors (save them, do not dispose) of a run. */
export function snapshotTrainer<O extends object, S>(
  format: string,
  options: O,
  state: S,
  optimizer: Optimizer,
  generator: Generator,
  distributed?: SavedDistribution,
): { state: SavedTrainerState<O, S>; tensors: Map<string, Tensor> } {
  const tensors = new Map<string, Tensor>();
  const optimizerRecord = snapshotOptimizer(optimizer, tensors);
  return {
    state: {
      format, version: 1, options: { ...options }, state: structuredClone(state), generator: generator.getState(), optimizer: optimizerRecord,
      ...(distributed === undefined ? {} : { distributed }),
    },
    tensors,
  };
}

/** trainer.json's record of a data-parallel run's ranks (undefined: one process), checked. */
export function savedDistribution(json: unknown, source: string): SavedDistribution | undefined {
  const d = isRecord(json) ? json.distributed : undefined;
  if (d === undefined) return undefined;
  if (!(isRecord(d) && isIndex(d.worldSize) && d.worldSize >= 1 && Array.isArray(d.generatorOffsets) && d.generatorOffsets.length === d.worldSize && d.generatorOffsets.every(isIndex))) {
    trainerStateError(source, 'field distributed is not {worldSize, generatorOffsets}');
  }
  return d as unknown as SavedDistribution;
}

export function trainerStateError(source: string, what: string): never {
  throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: trainer state ${what}`);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * trainer.json checked for `format` (described as `what` in errors) and its common fields;
 * `checkState` checks the trainer's own state record (throwing through trainerStateError).
 */
export function readSavedTrainer<O, S>(json: unknown, source: string, format: string, what: string, checkState: (state: Record<string, unknown>) => void): SavedTrainerState<O, S> {
  if (!isRecord(json) || json.format !== format) trainerStateError(source, `is not ${what}`);
  if (json.version !== 1) trainerStateError(source, `has version ${String(json.version)}; this rnnlm reads version 1`);
  if (!isRecord(json.state)) trainerStateError(source, 'has no state');
  checkState(json.state);
  if (!isSavedOptimizer(json.optimizer)) trainerStateError(source, 'has no optimizer record');
  checkOptimizerRecord(json.optimizer, source);
  savedDistribution(json, source);
  checkGeneratorState(json.generator, source);
  if (!isRecord(json.options)) trainerStateError(source, 'has no options');
  return json as unknown as SavedTrainerState<O, S>;
}

function checkOptimizerRecord(record: SavedOptimizer, source: string): void {
  record.steps.forEach((step, i) => {
    if (step !== null && !isIndex(step)) trainerStateError(source, `optimizer.steps[${i}] is ${JSON.stringify(step)}, not a step count`);
  });
  for (const [name, value] of Object.entries(record.hyperparameters)) {
    if (typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
      trainerStateError(source, `optimizer hyperparameter '${name}' is ${JSON.stringify(value)}`);
    }
  }
}

function checkGeneratorState(generator: unknown, source: string): void {
  if (!isRecord(generator)) trainerStateError(source, 'has no generator state');
  if (typeof generator.seed !== 'string' || !/^\d{1,20}$/.test(generator.seed)) trainerStateError(source, `generator seed ${JSON.stringify(generator.seed)} is not a decimal integer`);
  if (!isIndex(generator.offset)) trainerStateError(source, `generator offset ${JSON.stringify(generator.offset)} is not a non-negative integer`);
}

/** Whether `v` is a non-negative safe integer: a step, an epoch, a position. */
export function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Checks the fields of a trainer's state record: `integers` are non-negative safe integers
 * (steps, epochs, positions), `amounts` finite numbers >= 0 (seconds, sums).
 */
export function checkStateFields(state: Record<string, unknown>, source: string, integers: readonly string[], amounts: readonly string[]): void {
  for (const key of integers) if (!isIndex(state[key])) trainerStateError(source, `field state.${key} is ${JSON.stringify(state[key])}, not a non-negative integer`);
  for (const key of amounts) if (!isCount(state[key])) trainerStateError(source, `field state.${key} is ${JSON.stringify(state[key])}`);
}

/** A saved option and the config.json `model` key that must hold the same value. */
export type ModelKeyPair = readonly [option: string, configKey: string];

/**
 * Before a resumed run builds anything: its saved options must describe the model config.json
 * describes (trainer.json's `hidden` against config.json's `model.hidden`, ...), the optimizer
 * record must have one entry per weight tensor, and every optimizer buffer must have its
 * parameter's shape (`expected`, the config's tensors in parameter order).
 */
export function checkTrainerFitsCheckpoint(
  saved: SavedTrainerState<unknown, unknown>,
  checkpoint: { config: { model: Record<string, unknown> }; trainer: { tensors: ReadonlyMap<string, SafeTensor> } },
  expected: ReadonlyMap<string, { shape: readonly number[] }>,
  pairs: readonly ModelKeyPair[],
  source: string,
): void {
  const options = saved.options as Record<string, unknown>;
  for (const [option, key] of pairs) {
    if (options[option] !== checkpoint.config.model[key]) {
      trainerStateError(source, `option ${option} is ${JSON.stringify(options[option])} but config.json says model.${key} is ${JSON.stringify(checkpoint.config.model[key])}; the state does not belong to these weights`);
    }
  }
  const shapes = [...expected.values()].map((e) => e.shape);
  if (saved.optimizer.steps.length !== shapes.length) {
    trainerStateError(source, `optimizer record lists ${saved.optimizer.steps.length} parameters but the model has ${shapes.length}`);
  }
  for (const [name, tensor] of checkpoint.trainer.tensors) {
    const match = /^optimizer\.(\d+)\./.exec(name);
    if (match === null) continue;
    const shape = shapes[Number(match[1])];
    if (shape === undefined || saved.optimizer.steps[Number(match[1])] === null) trainerStateError(source, `tensor '${name}' belongs to no updated parameter`);
    if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
      trainerStateError(source, `tensor '${name}' is [${tensor.shape.join(', ')}], its parameter [${shape.join(', ')}]`);
    }
  }
}

/** A tensor of optimizer.safetensors on `device`; it must be F32. */
export function savedTensor(t: SafeTensor, name: string, source: string, device: Device): Tensor {
  if (t.dtype !== 'F32' || !(t.data instanceof Float32Array)) trainerStateError(source, `tensor '${name}' is ${t.dtype}, expected F32`);
  return fromFloat32Array(t.data, t.shape, { device });
}

/** An error of restoring as ERR_RNNLM_CHECKPOINT ("does not fit this model: ..."), unless it is one. */
export function asTrainerStateError(error: unknown, source: string): unknown {
  if (error instanceof Error && 'code' in error && error.code !== 'ERR_RNNLM_CHECKPOINT') {
    return rnnlmError('ERR_RNNLM_CHECKPOINT', `${source}: trainer state does not fit this model: ${error.message}`);
  }
  return error;
}

export interface RestoreTarget {
  model: Module;
  optimizer: Optimizer;
  generator: Generator;
  device: Device;
}

/**
 * Loads the weights, the optimizer's moments and the generator's offset of `saved` into
 * `target`. Everything is read and checked before anything changes.
 */
export function restoreTrainer(
  saved: SavedTrainerState<unknown, unknown>,
  checkpoint: { weights: ReadonlyMap<string, SafeTensor>; trainer: { tensors: ReadonlyMap<string, SafeTensor> } },
  target: RestoreTarget,
  source: string,
): void {
  const created: Tensor[] = [];
  const make = (t: SafeTensor, name: string): Tensor => {
    const tensor = savedTensor(t, name, source, target.device);
    created.push(tensor);
    return tensor;
  };
  try {
    const weights = new Map<string, Tensor>();
    for (const [name, t] of checkpoint.weights) weights.set(name, make(t, name));
    const dict = optimizerStateDict(saved.optimizer, checkpoint.trainer.tensors, make);
    target.model.loadStateDict(weights);
    target.optimizer.loadStateDict(dict);
    target.generator.setState(saved.generator);
  } catch (error) {
    throw asTrainerStateError(error, source);
  } finally {
    // The model and optimizer copied what they needed.
    for (const t of created) if (!t.isDisposed) t.dispose();
  }
}

/** Whether `v` is a finite number >= 0. */
export function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/**
 * The options of a resumed run: `saved` with `overrides` applied. Undefined overrides are
 * ignored and path options resolved (the saved ones are absolute); an override of a key not in
 * `resumable` must equal the saved value (ERR_RNNLM_ARGUMENT otherwise).
 */
export function resumedOptions<O extends object>(saved: O, overrides: Partial<O>, resumable: readonly string[], pathKeys: readonly (keyof O)[] = []): O {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<O>;
  for (const key of pathKeys) {
    const v = given[key];
    if (typeof v === 'string' && v !== '') given[key] = resolve(v) as O[keyof O];
  }
  for (const key of Object.keys(given) as (keyof O & string)[]) {
    if (!resumable.includes(key) && given[key] !== saved[key]) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `--resume continues the saved run; '${key}' cannot change (only ${resumable.join(', ')} can)`);
    }
  }
  return { ...saved, ...given };
}

/** Saved options with `defaults` filled in for keys added later, checked by `check`. */
export function withDefaults<O>(saved: object, defaults: Partial<O>, check: (options: O) => void, source: string): O {
  const options = { ...defaults, ...saved } as O;
  try {
    check(options);
  } catch (error) {
    trainerStateError(source, `holds invalid options: ${error instanceof Error ? error.message : String(error)}`);
  }
  return options;
}

/** The absolute run folder for a new run; ERR_RNNLM_ARGUMENT when it already holds one. */
export function newRunDir(runDir: string): string {
  const dir = resolve(runDir);
  if (existsSync(join(dir, 'last')) || existsSync(join(dir, 'metrics.jsonl'))) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${dir} already holds a run: continue it with --resume ${runDir}, or choose another --out`);
  }
  return dir;
}

/** ERR_RNNLM_DATA unless a resumed run reads the data it was trained on. */
export function checkSameData(saved: string, fresh: string, runDir: string): void {
  if (saved !== fresh) {
    throw rnnlmError('ERR_RNNLM_DATA', `the data differ from those the run in ${runDir} was trained on (fingerprint ${fresh}, saved ${saved}); resume needs the same files`);
  }
}

/** `trainer` after `restore` ran on it; disposed (and the error rethrown) when restore throws. */
export function restoredOrDisposed<T extends { dispose(): void }>(trainer: T, restore: () => void): T {
  try {
    restore();
  } catch (error) {
    trainer.dispose();
    throw error;
  }
  return trainer;
}
