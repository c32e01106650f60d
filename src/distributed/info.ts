// What this addon was built with and what it finds for data-parallel training (`rnnlm info`).
import { native } from '../native.js';

export interface CommLibrarySupport {
  /** Support for it is built into the addon. */
  compiled: boolean;
  /** The library was found and loads (it is loaded at run time, never linked). */
  available: boolean;
  /** The file it was loaded from. */
  library: string | null;
  /** e.g. "Open MPI v4.1.4", "NCCL 2.30.7". */
  version: string | null;
  /** Why it cannot be used here, or null when it can. */
  reason: string | null;
}

export interface DistributedInfo {
  mpi: CommLibrarySupport;
  nccl: CommLibrarySupport;
}

/** MPI and NCCL support: compiled in, found, which version. Loads the libraries to ask them. */
export function distributedInfo(): DistributedInfo {
  return native().distInfo();
}

/** One line for `rnnlm info`: "Open MPI v4.1.4 (/usr/lib/.../libmpi.so.40)" or "- (reason)". */
export function describeCommSupport(support: CommLibrarySupport): string {
  if (support.available) return `${support.version ?? 'unknown version'} (${support.library ?? '?'})`;
  return `- (${support.reason ?? 'not available'})`;
}
