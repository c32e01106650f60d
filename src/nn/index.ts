// The neural-network modules.
export { Module, type StateDict, type LoadStateDictOptions } from './module.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { Linear, type LinearOptions } from './linear.js';
export { Dropout } from './dropout.js';
export { RNNBase, RNN, LSTM, GRU, type RNNBaseOptions, type RNNOptions, type RnnHidden, type RnnOutput } from './rnn.js';
export { createRnn, checkCellType, CELL_TYPES, type CellType } from './create_rnn.js';
