// What the engine reports about itself, and the few process-wide switches.
import { rnnlmError } from './errors.js';
import { addonOrigin, addonPath, native, type AddonSource, type Device, type NativeInfo } from './native.js';

export interface RuntimeInfo extends NativeInfo {
  /** The CUDA backend's description, or null when CUDA is not compiled in or no GPU is usable. */
  cuda: string | null;
  /** The addon file in use. */
  addon: string;
  /** Where it came from: RNNLM_ADDON, this package's source build, or a prebuilt platform package. */
  addonSource: AddonSource;
  /** The platform package's name for a prebuilt binary, else null. */
  addonPackage: string | null;
  /** Binaries tried before it and why each was skipped (docs/install.md). */
  addonSkipped: string[];
}

export function info(): RuntimeInfo {
  const n = native();
  const base = n.info();
  const origin = addonOrigin();
  return {
    ...base,
    cuda: base.cudaCompiled ? n.deviceDescribe('cuda') : null,
    addon: addonPath(),
    addonSource: origin?.source ?? 'source build',
    addonPackage: origin?.packageName ?? null,
    addonSkipped: (origin?.skipped ?? []).map((s) => `${s.source} ${s.path}: ${s.reason}`),
  };
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

export type DeviceRequest = 'auto' | Device;

export interface DeviceChoice {
  device: Device;
  /** Why 'auto' did not pick CUDA (null when it did, or when a device was named). */
  fallbackReason: string | null;
}

/**
 * The device for a requested 'auto' | 'cpu' | 'cuda' (RNNLM_DEVICE when the request is 'auto'):
 * 'auto' takes CUDA when it is compiled in and a GPU is usable, else the CPU with the reason;
 * 'cuda' without a usable GPU is an error.
 */
export function resolveDevice(request: DeviceRequest = 'auto'): DeviceChoice {
  const env = process.env.RNNLM_DEVICE;
  const wanted = request === 'auto' && (env === 'cpu' || env === 'cuda' || env === 'auto') ? env : request;
  if (wanted === 'cpu') return { device: 'cpu', fallbackReason: null };
  const n = native().info();
  const reason = !n.cudaCompiled
    ? 'this build of rnnlm has no CUDA backend'
    : native().deviceDescribe('cuda') === null
      ? (n.cudaReason ?? 'no usable CUDA device was found')
      : null;
  if (reason === null) return { device: 'cuda', fallbackReason: null };
  if (wanted === 'cuda') throw rnnlmError('ERR_RNNLM_DEVICE', `device 'cuda' was requested, but ${reason}`);
  return { device: 'cpu', fallbackReason: reason };
}
