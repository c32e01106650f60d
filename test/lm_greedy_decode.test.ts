// Greedy generation of a language model through the engine's autoregressive decode op must pick
// exactly the ids of the step-by-step loop (model.forward on one token at a time, argmax of the
// last row), for every cell and a stacked model, and generate(..., {greedy: true}) must print them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad } from '../src/autograd.js';
import { CharTokenizer } from '../src/data/char_tokenizer.js';
import { disposeState, LanguageModel, type LanguageModelState } from '../src/models/language_model.js';
import { Generator, uniform_ } from '../src/random.js';
import { generate } from '../src/sample/generate.js';
import { greedyContinuation } from '../src/sample/greedy.js';
import { argmaxId } from '../src/sample/pick.js';
import { fromInt32Array, tidy } from '../src/tensor.js';

const TEXT = 'the cat sat on the mat\nand the dog ran far\n';

function stepByStep(model: LanguageModel, prime: readonly number[], length: number): number[] {
  const ids: number[] = [];
  let state: LanguageModelState | null = null;
  let input = [...prime];
  noGrad(() => {
    for (let i = 0; i < length; i++) {
      const previous: LanguageModelState | null = state;
      const { row, next } = tidy(() => {
        const out = model.forward(fromInt32Array(Int32Array.from(input), [input.length, 1]), previous);
        const all = out.logits.toFloat32Array();
        return { row: all.slice(all.length - model.config.vocabSize), next: out.state };
      });
      disposeState(previous);
      state = next;
      const id = argmaxId(row);
      ids.push(id);
      input = [id];
    }
  });
  disposeState(state);
  return ids;
}

for (const cell of ['lstm', 'gru', 'rnn', 'rnn_relu'] as const) {
  test(`greedy decoding through the engine op equals the step-by-step argmax (${cell}, 2 layers)`, () => {
    const tokenizer = CharTokenizer.fromText(TEXT);
    const vocabSize = tokenizer.toJSON().tokens.length;
    // Wide initial weights so the argmax is decisive and the generated text varies.
    const model = new LanguageModel({ vocabSize, embedding: 6, hidden: 12, layers: 2, cell, dropout: 0.2 }, { generator: new Generator(7) });
    const init = new Generator(11);
    for (const p of model.parameters()) noGrad(() => uniform_(p, -1.5, 1.5, init));
    model.eval();
    const prime = Array.from(tokenizer.encode('the c'));
    for (const length of [0, 1, 2, 40]) {
      assert.equal(greedyContinuation(model, prime, length), stepByStep(model, prime, length), `length ${length}`);
    }
    const ids = stepByStep(model, prime, 40);
    assert.ok(new Set(ids).size > 1, 'the continuation should not be one repeated id');
    const decoder = tokenizer.decoder();
    const expected = 'the c' + ids.map((id) => decoder.push(id)).join('');
    const pieces: string[] = [];
    assert.is(generate(model, tokenizer, { prime: 'the c', length: 40, greedy: true, onText: (p) => pieces.push(p) }), expected);
    assert.is(pieces.join(''), expected);
  });
}

test.run();
