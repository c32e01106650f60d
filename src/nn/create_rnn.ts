// One place that turns a cell name into the recurrent module, so every model (language model,
// classifier, VAE) builds its RNN the same way.
import { rnnlmError } from '../errors.js';
import { GRU, LSTM, RNN, type RNNBase, type RNNBaseOptions } from './rnn.js';

export type CellType = 'lstm' | 'gru' | 'rnn' | 'rnn_relu';
export const CELL_TYPES: readonly CellType[] = ['lstm', 'gru', 'rnn', 'rnn_relu'];

export function checkCellType(cell: unknown, owner: string): asserts cell is CellType {
  if (!CELL_TYPES.includes(cell as CellType)) {
    throw rnnlmError('ERR_RNNLM_ARGUMENT', `${owner}: cell must be one of ${CELL_TYPES.join(', ')}, got '${String(cell)}'`);
  }
}

/** LSTM, GRU, or an Elman RNN (tanh, or relu for 'rnn_relu'). */
export function createRnn(cell: CellType, options: RNNBaseOptions): RNNBase {
  switch (cell) {
    case 'lstm':
      return new LSTM(options);
    case 'gru':
      return new GRU(options);
    case 'rnn':
    case 'rnn_relu':
      return new RNN({ ...options, nonlinearity: cell === 'rnn_relu' ? 'relu' : 'tanh' });
  }
}
