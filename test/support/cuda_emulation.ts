// Loads the CUDA-emulation build of the addon (rnnlm_emu.node: the CUDA backend's own kernels
// compiled for the CPU emulator, see docs/cuda.md) next to the regular one, for the parity
// tests. Its device 'cuda' runs the emulated kernels, its device 'cpu' is the regular CPU backend,
// so one addon holds both sides of every comparison. Nothing in the library uses it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CudaMemoryStats, NativeAddon } from '../../src/native.js';

export type { CudaMemoryStats };

/** The emulated addon has the regular exports (CUDA ones included). */
export type CudaAddon = NativeAddon;

/** $RNNLM_EMU_ADDON, else build-emu/Release/rnnlm_emu.node in the package. */
export function emulatedAddonPath(): string {
  const override = process.env['RNNLM_EMU_ADDON'];
  if (override !== undefined && override !== '') return override;
  // This file sits one level below the package root both as src/ and dist/.
  return fileURLToPath(new URL('../../build-emu/Release/rnnlm_emu.node', import.meta.url));
}

let loaded: CudaAddon | null = null;

/** The emulated addon, or null when it has not been built. */
export function loadEmulatedAddon(): CudaAddon | null {
  if (loaded !== null) return loaded;
  const path = emulatedAddonPath();
  if (!existsSync(path)) return null;
  const require = createRequire(import.meta.url);
  loaded = require(path) as CudaAddon;
  return loaded;
}
