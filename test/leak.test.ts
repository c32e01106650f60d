// Memory must stay flat over many training steps: 300 steps of a tiny LSTM language model
// (embedding, 2-layer LSTM with dropout, linear decoder, cross-entropy, backward, gradient
// clipping, Adam) leave the live tensor, storage and handle counts unchanged and RSS bounded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  Module,
  Embedding,
  LSTM,
  Linear,
  Adam,
  clipGradNorm,
  crossEntropy,
  packIds,
  tidy,
  liveTensors,
  nativeMemory,
  manualSeed,
  zeros,
  type PackedSequence,
  type Tensor,
} from '../src/index.js';

class TinyLM extends Module {
  readonly embedding = this.registerModule('embedding', new Embedding(20, 8));
  readonly rnn = this.registerModule('rnn', new LSTM({ inputSize: 8, hiddenSize: 16, numLayers: 2, dropout: 0.1 }));
  readonly decoder = this.registerModule('decoder', new Linear(16, 20));

  forward(ids: PackedSequence): Tensor {
    const emb = this.embedding.forward(ids.data);
    const { output } = this.rnn.forward(ids.withData(emb));
    return this.decoder.forward(output.data);
  }
}

// Sequences of varying lengths over a learnable pattern: token t+1 = (token t + 3) mod 20.
function batch(step: number): { inputs: number[][]; targets: number[][] } {
  const inputs: number[][] = [];
  const targets: number[][] = [];
  for (let b = 0; b < 4; b++) {
    const length = 3 + ((step + b) % 5);
    const start = (step * 7 + b * 5) % 20;
    const seq = Array.from({ length: length + 1 }, (_, i) => (start + 3 * i) % 20);
    inputs.push(seq.slice(0, -1));
    targets.push(seq.slice(1));
  }
  return { inputs, targets };
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// RSS after a full collection, so that it measures what is retained rather than garbage.
function settledRss(): number {
  gc();
  return process.memoryUsage().rss;
}

test('300 training steps keep liveTensors, native storage and RSS flat', () => {
  manualSeed(11);
  const start = liveTensors();
  const model = new TinyLM();
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  const losses: number[] = [];
  let live10 = 0;
  let storage10 = 0;
  let handles10 = 0;
  let rss50 = 0;
  for (let step = 0; step < 300; step++) {
    const loss = tidy(() => {
      const { inputs, targets } = batch(step);
      const x = packIds(inputs);
      const y = packIds(targets);
      const logits = model.forward(x);
      const l = crossEntropy(logits, y.data);
      l.backward();
      clipGradNorm(model.parameters(), 1);
      optimizer.step();
      optimizer.zeroGrad();
      return l.item();
    });
    losses.push(loss);
    if (step === 10) {
      live10 = liveTensors();
      storage10 = nativeMemory().count;
      handles10 = nativeMemory().handles;
    }
    if (step === 50) rss50 = settledRss();
  }
  assert.is(liveTensors(), live10, 'live tensors after 300 steps equal those after 10');
  assert.is(nativeMemory().count, storage10, 'live storages after 300 steps equal those after 10');
  // Disposed handles free their native part at once, even though this loop never yields to the
  // event loop (where Node runs finalizers).
  assert.is(nativeMemory().handles, handles10, 'native handles after 300 steps equal those after 10');
  // Counted leaks are caught exactly above; RSS is the net for anything uncounted (a leak of
  // 128 KiB per step would exceed this). Warm-up (JIT code, allocator arenas) takes ~10-15 MiB.
  const growth = (settledRss() - rss50) / 2 ** 20;
  assert.ok(growth < 32, `RSS grew ${growth.toFixed(1)} MiB between steps 50 and 300`);
  const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(last < first * 0.5, `the model learns (loss ${first.toFixed(3)} -> ${last.toFixed(3)})`);
  // Everything goes with the model and the optimizer.
  const params = model.parameters().length;
  assert.is(liveTensors(), start + params * 3, 'parameters and two Adam moments each');
  optimizer.dispose();
  model.dispose();
  assert.is(liveTensors(), start);
});

test('tensors nobody disposed are freed by the garbage collector (the backstop)', async () => {
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await settle(); // garbage left by earlier tests goes first
  const before = liveTensors();
  const storages = nativeMemory().count;
  const handles = nativeMemory().handles;
  (() => {
    for (let i = 0; i < 100; i++) zeros([64]);
  })();
  assert.is(liveTensors(), before + 100);
  for (let i = 0; i < 5 && liveTensors() > before; i++) await settle();
  assert.is(liveTensors(), before);
  assert.is(nativeMemory().count, storages);
  assert.is(nativeMemory().handles, handles);
});

test.run();
