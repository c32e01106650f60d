// The README's lower-level example: a language-model training step from PyTorch-shaped modules.
import { Embedding, LSTM, Linear, Adam, backward, clipGradNorm, crossEntropy, fromInt32Array, reshape, tidy } from 'rnnlm';

const vocab = 65, steps = 32, batch = 16;
const embedding = new Embedding(vocab, 64);
const lstm = new LSTM({ inputSize: 64, hiddenSize: 256, numLayers: 2, dropout: 0.2 });
const decoder = new Linear(256, vocab);
const params = [...embedding.parameters(), ...lstm.parameters(), ...decoder.parameters()];
const optimizer = new Adam(params, { lr: 2e-3 });

function trainStep(inputs: Int32Array, targets: Int32Array): number {
  return tidy(() => {                       // frees every temporary tensor of the step
    optimizer.zeroGrad();
    const x = embedding.forward(fromInt32Array(inputs, [steps, batch]));   // (T, B, E)
    const { output } = lstm.forward(x);                                    // (T, B, H)
    const logits = decoder.forward(reshape(output, [steps * batch, 256])); // (T*B, V)
    const loss = crossEntropy(logits, fromInt32Array(targets, [steps * batch]));
    backward(loss);
    clipGradNorm(params, 5);
    optimizer.step();
    return loss.item();
  });
}

// One step on random tokens, to show it runs:  npx tsx examples/custom_model.ts
const random = (): Int32Array => Int32Array.from({ length: steps * batch }, () => Math.floor(Math.random() * vocab));
console.log(`loss ${trainStep(random(), random()).toFixed(3)} (about ln ${vocab} = ${Math.log(vocab).toFixed(3)} at the start)`);
