// The optimizers and gradient utilities.
export { Optimizer, type OptimizerStateDict, type ParamState, type Hyperparameters } from './optimizer.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { SGD, type SGDOptions } from './sgd.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { clipGradNorm, clipGradNormTensor, globalNorm } from './clip.js';
