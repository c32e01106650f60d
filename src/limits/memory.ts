// How much memory a command may plan to use, and the ERR_RNNLM_OOM that refuses a plan larger
// than that before anything is allocated. Linux overcommits: a huge allocation "succeeds" and the
// process is killed later while touching it, so sizes are compared here, up front.
import { freemem } from 'node:os';
import { rnnlmError } from '../errors.js';

export interface MemoryBudget {
  bytes: number;
  /** Where the figure comes from, for messages ("available host memory"). */
  source: string;
}

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** "512M", "2g", "1073741824" -> bytes; null for anything else. */
export function parseByteSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (match === null) return null;
  const bytes = Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1);
  return Number.isFinite(bytes) && bytes > 0 ? Math.floor(bytes) : null;
}

/**
 * The host memory this process may use: what the OS reports available (MemAvailable on Linux),
 * lowered by a cgroup limit, or RNNLM_MEMORY_LIMIT when set (so a test or a shared machine can
 * state its own budget).
 */
export function hostMemoryBudget(): MemoryBudget {
  const override = process.env.RNNLM_MEMORY_LIMIT;
  if (override !== undefined && override !== '') {
    const bytes = parseByteSize(override);
    if (bytes === null) {
      throw rnnlmError('ERR_RNNLM_ARGUMENT', `RNNLM_MEMORY_LIMIT must be a size such as 512M or 8G, got '${override}'`);
    }
    return { bytes, source: 'RNNLM_MEMORY_LIMIT' };
  }
  let bytes = freemem();
  let source = 'available host memory';
  // Node reports an absurd figure (2^64) when no cgroup limit is set.
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : undefined;
  if (typeof constrained === 'number' && constrained > 0 && constrained < bytes) {
    bytes = constrained;
    source = "this process's memory limit (cgroup)";
  }
  return { bytes, source };
}

/** 1536 -> "1.5 KiB"; sizes past any memory print in scientific notation. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === units.length - 1 && value >= 1024) return `${(bytes / 2 ** 50).toExponential(2)} PiB`;
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** One named share of a plan, for the message ("parameters 1.2 GiB"). */
export interface MemoryShare {
  what: string;
  bytes: number;
}

/**
 * ERR_RNNLM_OOM when the shares add up to more than the host budget: the message names the
 * total asked, each share, and the memory there is.
 */
export function checkHostMemory(purpose: string, shares: readonly MemoryShare[], budget: MemoryBudget = hostMemoryBudget()): void {
  const total = shares.reduce((sum, s) => sum + s.bytes, 0);
  if (!(total <= budget.bytes)) {
    const parts = shares.filter((s) => s.bytes > 0).map((s) => `${s.what}: ${formatBytes(s.bytes)}`).join(', ');
    throw rnnlmError(
      'ERR_RNNLM_OOM',
      `${purpose} needs about ${formatBytes(total)} (${parts}) but ${budget.source} is ${formatBytes(budget.bytes)}; choose smaller sizes`,
    );
  }
}
