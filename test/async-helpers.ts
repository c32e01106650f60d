// Shared pieces of the async tests (not a test file itself): a 2x512 LSTM and a timer that
// records how long the event loop went without running it.
import { CharTokenizer, Generator, LanguageModel } from '../src/index.js';

export const TEXT = 'The sea. Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about.\n';

export function lstm2x512(seed = 7): { model: LanguageModel; tokenizer: CharTokenizer } {
  const tokenizer = CharTokenizer.fromText(TEXT);
  const model = new LanguageModel(
    { vocabSize: tokenizer.vocabSize, embedding: 64, hidden: 512, layers: 2, cell: 'lstm', dropout: 0 },
    { generator: new Generator(seed) },
  );
  return { model, tokenizer };
}

export interface TimerGaps {
  /** Stops the timer; returns the gaps (ms) between consecutive firings, from the start. */
  stop(): number[];
  /** Times at which the timer fired (performance.now()). */
  readonly fired: number[];
}

/** A setInterval at `intervalMs` recording when it fires. */
export function watchEventLoop(intervalMs = 20): TimerGaps {
  const fired: number[] = [performance.now()];
  const timer = setInterval(() => fired.push(performance.now()), intervalMs);
  return {
    fired,
    stop: () => {
      clearInterval(timer);
      return fired.slice(1).map((t, i) => t - fired[i]!);
    },
  };
}
