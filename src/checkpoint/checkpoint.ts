// A checkpoint is a folder: model.safetensors (PyTorch state_dict names), config.json,
// vocab.json, and optionally the trainer's state (trainer.json + optimizer.safetensors). It is
// written all at once (writeDirAtomic) and read back with every part checked, each problem
// reported with the file it is in.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isRnnlmError, rnnlmError } from '../errors.js';
import { writeDirAtomic } from '../io/atomic.js';
import { NOT_REGULAR_FILE, readRegularFile } from '../io/read_file.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../io/safetensors.js';
import { Module } from '../nn/module.js';
import {
  parseCheckpointConfig,
  parseLanguageModelConfig,
  parseVocab,
  type CheckpointConfig,
  type CheckpointKind,
  type VocabJSON,
} from './config.js';
import { elementValue, firstNonFinite, toSafeTensor, type SavedTensor } from './tensors.js';
import { checkWeights, languageModelWeightShapes } from './weights.js';

export const MODEL_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const VOCAB_FILE = 'vocab.json';
export const TRAINER_FILE = 'trainer.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
const CHECKPOINT_FILES = new Set([MODEL_FILE, CONFIG_FILE, VOCAB_FILE, TRAINER_FILE, OPTIMIZER_FILE]);

// Written into both safetensors files, as `safetensors.torch.save_file(..., metadata=...)`
// would, so Hugging Face tools treat the tensors as PyTorch ones.
const SAFETENSORS_METADATA = { format: 'pt' };

/** What saveCheckpoint writes. */
export interface CheckpointContents {
  config: CheckpointConfig;
  vocab: VocabJSON;
  /** Weights by PyTorch state_dict name, or a module (its stateDict()). */
  weights: ReadonlyMap<string, SavedTensor> | Module;
  /** Trainer state for an exact resume: JSON state plus tensors (optimizer moments...). */
  trainer?: { state: unknown; tensors: ReadonlyMap<string, SavedTensor> };
}

/** Trainer state as read back: the JSON as written (check it before use) and host tensors. */
export interface TrainerCheckpoint {
  state: unknown;
  tensors: Map<string, SafeTensor>;
}

/** A checkpoint as read back; tensors are in host memory. */
export interface Checkpoint<C extends CheckpointConfig = CheckpointConfig> {
  /** The checkpoint folder, absolute. */
  dir: string;
  config: C;
  vocab: VocabJSON;
  weights: Map<string, SafeTensor>;
  /** null when the checkpoint has no trainer state or it was not asked for. */
  trainer: TrainerCheckpoint | null;
}

export interface ReadCheckpointOptions {
  /** Refuse a checkpoint of another kind (a classifier given to the LM loader). */
  kind?: CheckpointKind;
  /** Also read trainer.json and optimizer.safetensors (default true). */
  trainer?: boolean;
  /** Fail (ERR_RNNLM_CHECKPOINT) when there is no trainer state, e.g. to resume from it. */
  requireTrainer?: boolean;
}

function asArgumentError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (isRnnlmError(error, 'ERR_RNNLM_CHECKPOINT')) throw rnnlmError('ERR_RNNLM_ARGUMENT', error.message);
    throw error;
  }
}

function vocabSizeOf(config: CheckpointConfig): number | null {
  const v = config.model.vocab_size;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

function toJsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (error) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${what} cannot be written as JSON (${(error as Error).message})`);
  }
  if (text === undefined) throw rnnlmError('ERR_RNNLM_ARGUMENT', `${what} cannot be written as JSON`);
  return `${text}\n`;
}

function hostTensors(tensors: ReadonlyMap<string, SavedTensor>, where: string): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const [name, t] of tensors) {
    const host = toSafeTensor(t);
    const bad = firstNonFinite(host);
    if (bad >= 0) {
      throw rnnlmError('ERR_RNNLM_NAN', `${where}: '${name}' holds ${elementValue(host, bad)} at element ${bad}; refusing to save it`);
    }
    out.set(name, host);
  }
  return out;
}

// saveCheckpoint replaces the folder wholesale, so it must never be pointed at a folder that
// holds anything but a checkpoint (a run folder, a home directory).
function checkReplaceable(dir: string): void {
  if (!existsSync(dir)) return;
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw rnnlmError('ERR_RNNLM_ARGUMENT', `saveCheckpoint: ${dir} exists and is not a folder`);
    entries = readdirSync(dir);
  } catch (error) {
    if (isRnnlmError(error)) throw error;
    throw rnnlmError('ERR_RNNLM_IO', `${dir}: cannot read the folder (${(error as Error).message})`);
  }
  const foreign = entries.filter((e) => !CHECKPOINT_FILES.has(e));
  if (foreign.length > 0) {
    throw rnnlmError(
      'ERR_RNNLM_ARGUMENT',
      `saveCheckpoint: refusing to replace ${dir}: it holds ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''}, ` +
        'which are not checkpoint files',
    );
  }
}

/**
 * Writes a checkpoint folder atomically: after a crash `dir` holds the previous checkpoint or
 * the new one, never a mix. Checks before writing anything: the config (format, version, kind),
 * the vocab against it, the weights of a language model against its config, and that no float
 * tensor holds NaN or infinity (ERR_RNNLM_NAN). An existing `dir` may only hold checkpoint
 * files. Bad arguments are ERR_RNNLM_ARGUMENT, file system failures ERR_RNNLM_IO.
 */
export function saveCheckpoint(dir: string, contents: CheckpointContents): void {
  const target = resolve(dir);
  const where = `saveCheckpoint(${target})`;
  const config = asArgumentError(() => parseCheckpointConfig(contents.config, `${where}: config`));
  asArgumentError(() => parseVocab(contents.vocab, `${where}: vocab`, config.tokenizer.level, vocabSizeOf(config)));
  const named = contents.weights instanceof Module ? contents.weights.stateDict() : contents.weights;
  const weights = hostTensors(named, `${where}: weights`);
  if (config.kind === 'language_model') {
    const lm = asArgumentError(() => parseLanguageModelConfig(config, `${where}: config`));
    checkWeights(weights, languageModelWeightShapes(lm), `${where}: weights`, 'ERR_RNNLM_ARGUMENT', false);
  }
  checkReplaceable(target);

  const files = new Map<string, Uint8Array | string>();
  files.set(MODEL_FILE, encodeSafetensors(weights, SAFETENSORS_METADATA));
  files.set(CONFIG_FILE, toJsonText(config, `${where}: config`));
  files.set(VOCAB_FILE, toJsonText(contents.vocab, `${where}: vocab`));
  if (contents.trainer !== undefined) {
    const tensors = hostTensors(contents.trainer.tensors, `${where}: trainer tensors`);
    files.set(TRAINER_FILE, toJsonText(contents.trainer.state, `${where}: trainer state`));
    files.set(OPTIMIZER_FILE, encodeSafetensors(tensors, SAFETENSORS_METADATA));
  }
  writeDirAtomic(target, files);
}

function readBytes(path: string): Buffer {
  try {
    return readRegularFile(path);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') {
      throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${dirname(path)}: incomplete checkpoint, ${basename(path)} is missing`);
    }
    if (e.code === NOT_REGULAR_FILE) throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${e.message}; a checkpoint holds files`);
    throw rnnlmError('ERR_RNNLM_IO', `${path}: cannot read (${e.message})`);
  }
}

function readJson(path: string): unknown {
  const text = readBytes(path).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${path}: not valid JSON (${(error as Error).message})`);
  }
}

function readTensors(path: string): Map<string, SafeTensor> {
  const { tensors } = decodeSafetensors(readBytes(path), path);
  for (const [name, t] of tensors) {
    const bad = firstNonFinite(t);
    if (bad >= 0) throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${path}: tensor '${name}' holds ${elementValue(t, bad)} at element ${bad} (corrupt or diverged weights)`);
  }
  return tensors;
}

// A crash between writeDirAtomic's two renames leaves the previous checkpoint beside the
// folder's place; say where instead of only "missing".
function leftAside(path: string): string {
  try {
    const prefix = `.${basename(path)}.old-`;
    const found = readdirSync(dirname(path)).find((e) => e.startsWith(prefix));
    return found === undefined ? '' : ` (an interrupted save left the previous checkpoint at ${join(dirname(path), found)})`;
  } catch {
    return '';
  }
}

function checkFolder(path: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw rnnlmError('ERR_RNNLM_CHECKPOINT', `checkpoint ${path} does not exist${leftAside(path)}`);
    // A file where the path needs a folder (`--resume some-file` looks for some-file/last).
    if (e.code === 'ENOTDIR') throw rnnlmError('ERR_RNNLM_CHECKPOINT', `checkpoint ${path} does not exist: part of the path is a file, not a folder`);
    throw rnnlmError('ERR_RNNLM_IO', `${path}: cannot read (${e.message})`);
  }
  if (!isDir) throw rnnlmError('ERR_RNNLM_CHECKPOINT', `checkpoint ${path} is a file, not a checkpoint folder`);
}

/**
 * The checkpoint folder a user means by `path`: a checkpoint folder (it has config.json) is
 * itself; a run folder is its `best/` checkpoint, or `last/` when there is no best (`prefer`
 * 'last' swaps the two, for resuming); a checkpoint file (model.safetensors, config.json...) is
 * its folder. Returns an absolute path; throws ERR_RNNLM_CHECKPOINT when there is none.
 */
export function resolveCheckpointDir(path: string, prefer: 'best' | 'last' = 'best'): string {
  let target = resolve(path);
  if (existsSync(target) && !statSync(target).isDirectory() && CHECKPOINT_FILES.has(basename(target))) target = dirname(target);
  checkFolder(target);
  if (existsSync(join(target, CONFIG_FILE))) return target;
  const order = prefer === 'best' ? ['best', 'last'] : ['last', 'best'];
  for (const sub of order) {
    if (existsSync(join(target, sub, CONFIG_FILE))) return join(target, sub);
  }
  throw rnnlmError(
    'ERR_RNNLM_CHECKPOINT',
    `${target} is not a checkpoint: it has no ${CONFIG_FILE}, and no best/ or last/ checkpoint inside${leftAside(join(target, prefer))}`,
  );
}

/**
 * Reads a checkpoint folder (not a run folder: see resolveCheckpointDir) and checks it: the
 * config (rnnlm format, a readable format_version, the kind asked for), the vocab against it,
 * the safetensors files (structure, no NaN or infinity), and for a language model the tensor
 * names and shapes. Every problem is ERR_RNNLM_CHECKPOINT naming the file (ERR_RNNLM_IO for OS
 * failures other than a missing file).
 */
export function readCheckpoint(dir: string, options: ReadCheckpointOptions = {}): Checkpoint {
  const root = resolve(dir);
  checkFolder(root);
  const configPath = join(root, CONFIG_FILE);
  if (!existsSync(configPath)) {
    const inside = ['best', 'last'].filter((s) => existsSync(join(root, s, CONFIG_FILE)));
    throw rnnlmError(
      'ERR_RNNLM_CHECKPOINT',
      `${root} is not a checkpoint: it has no ${CONFIG_FILE}` +
        (inside.length > 0 ? ` (it is a run folder; its checkpoints are ${inside.map((s) => `${s}/`).join(' and ')})` : ''),
    );
  }
  const config = parseCheckpointConfig(readJson(configPath), configPath);
  if (options.kind !== undefined && config.kind !== options.kind) {
    throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${configPath}: is a ${config.kind} checkpoint, not a ${options.kind} checkpoint`);
  }
  const vocabPath = join(root, VOCAB_FILE);
  const vocab = parseVocab(readJson(vocabPath), vocabPath, config.tokenizer.level, vocabSizeOf(config));
  const modelPath = join(root, MODEL_FILE);
  const weights = readTensors(modelPath);
  if (config.kind === 'language_model') {
    const lm = parseLanguageModelConfig(config, configPath);
    checkWeights(weights, languageModelWeightShapes(lm), `${modelPath} does not match its ${CONFIG_FILE}`, 'ERR_RNNLM_CHECKPOINT');
  }

  let trainer: TrainerCheckpoint | null = null;
  const trainerPath = join(root, TRAINER_FILE);
  if (options.requireTrainer === true && !existsSync(trainerPath)) {
    throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${root}: has no trainer state (${TRAINER_FILE}), so training cannot resume from it`);
  }
  if (((options.trainer ?? true) || options.requireTrainer === true) && existsSync(trainerPath)) {
    const state = readJson(trainerPath);
    const optimizerPath = join(root, OPTIMIZER_FILE);
    if (!existsSync(optimizerPath)) {
      throw rnnlmError('ERR_RNNLM_CHECKPOINT', `${root}: incomplete trainer state, ${TRAINER_FILE} is there but ${OPTIMIZER_FILE} is missing`);
    }
    trainer = { state, tensors: readTensors(optimizerPath) };
  }
  return { dir: root, config, vocab, weights, trainer };
}
