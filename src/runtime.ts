// What the engine reports about itself, and the few process-wide switches.
import { addonPath, native, type Device, type NativeInfo } from './native.js';

export interface RuntimeInfo extends NativeInfo {
  /** The CUDA backend's description, or null when CUDA is not compiled in or no GPU is usable. */
  cuda: string | null;
  /** The addon file in use. */
  addon: string;
}

export function info(): RuntimeInfo {
  const n = native();
  const base = n.info();
  return { ...base, cuda: base.cudaCompiled ? n.deviceDescribe('cuda') : null, addon: addonPath() };
}

/** Whether tensors can be created on `device` in this process. */
export function isDeviceAvailable(device: Device): boolean {
  if (device === 'cpu') return true;
  return native().info().cudaCompiled && native().deviceDescribe(device) !== null;
}

/** Selects the CPU GEMM: the linked BLAS or the built-in kernel (to compare the two). */
export function setGemmProvider(provider: 'blas' | 'builtin'): void {
  native().setGemmProvider(provider);
}
