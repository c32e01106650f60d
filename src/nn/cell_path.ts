// The unfused reference path of the recurrent cells (the engine's separate GEMM and gate kernels
// instead of the fused cell kernels; same maths). Only `rnnlm bench --mode unfused` and the tests
// that check both paths agree ask for it, so it is not in the public API: the library's own
// modules and F.rnnLayer always run fused unless this internal switch says otherwise.

let unfusedScopes = 0;
const unfusedModules = new WeakSet<object>();

/** Runs `fn` with every F.rnnLayer call inside it on the unfused path. */
export function withUnfusedCells<T>(fn: () => T): T {
  unfusedScopes += 1;
  try {
    return fn();
  } finally {
    unfusedScopes -= 1;
  }
}

/** Whether F.rnnLayer is to run the fused cell kernels now. */
export function fusedCells(): boolean {
  return unfusedScopes === 0;
}

/** Makes a recurrent module (an RNNBase) run its layers unfused, or fused again (`unfused` false). */
export function setUnfusedCells(module: object, unfused: boolean): void {
  if (unfused) unfusedModules.add(module);
  else unfusedModules.delete(module);
}

/** Whether `module` runs its layers on the unfused path. */
export function hasUnfusedCells(module: object): boolean {
  return unfusedModules.has(module);
}
