// Weights move between PyTorch and rnnlm both ways (fixtures in test/fixtures/interchange, made
// by scripts/interchange.py and scripts/rnnlm_checkpoint_fixture.ts): PyTorch-written
// checkpoints load and give PyTorch's logits; rnnlm-written checkpoints are reproducible
// and give the logits PyTorch computed after load_state_dict(strict=True).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadLanguageModel } from '../src/checkpoint/index.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import type { CellType } from '../src/models/language_model.js';
import { fromInt32Array, liveTensors, tidy } from '../src/tensor.js';
import { FIXTURE_DIR, RNNLM_FIXTURES, writeRnnlmFixture } from '../scripts/rnnlm_checkpoint_fixture.js';

interface LogitsFixture {
  meta: { cell: CellType };
  ids: { shape: [number, number]; data: number[] };
  logits: { shape: [number, number]; data: number[] };
}

const TORCH_CELLS: readonly CellType[] = ['lstm', 'gru', 'rnn', 'rnn_relu'];
const TOLERANCE = 1e-5;

function readLogits(file: string): LogitsFixture {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, file), 'utf8')) as LogitsFixture;
}

/** Largest |rnnlm - PyTorch| over the logits of the checkpoint in `dir` for the fixture's ids. */
function maxLogitError(dir: string, expected: LogitsFixture, cell: CellType): number {
  const before = liveTensors();
  const { model, config } = loadLanguageModel(dir);
  assert.is(config.model.cell, cell);
  assert.is(model.training, false);
  const got = tidy(() => {
    const ids = fromInt32Array(Int32Array.from(expected.ids.data), expected.ids.shape); // (T, B)
    const { logits } = model.forward(ids, null); // (T*B, V)
    assert.equal([...logits.shape], expected.logits.shape);
    return logits.toFloat32Array();
  });
  model.dispose();
  assert.is(liveTensors(), before, 'no tensor leaked');
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected.logits.data[i]!));
  return Number.isNaN(worst) ? Infinity : worst;
}

for (const cell of TORCH_CELLS) {
  test(`PyTorch -> rnnlm (${cell}): the checkpoint loads and gives PyTorch's logits`, () => {
    const expected = readLogits(`torch_${cell}.json`);
    assert.is(expected.meta.cell, cell);
    const err = maxLogitError(join(FIXTURE_DIR, `torch_${cell}`), expected, cell);
    assert.ok(err <= TOLERANCE, `max abs logit error ${err}`);
  });
}

test('encoder reproduces, byte for byte, the files the Python safetensors library wrote', () => {
  for (const cell of TORCH_CELLS) {
    const path = join(FIXTURE_DIR, `torch_${cell}`, 'model.safetensors');
    const bytes = readFileSync(path);
    const { tensors, metadata } = decodeSafetensors(bytes, path);
    assert.ok(tensors.has('rnn.weight_hh_l1') && tensors.has('decoder.bias'), 'PyTorch state_dict names');
    assert.ok(encodeSafetensors(tensors, metadata).equals(bytes), `${path}: re-encoded bytes differ`);
  }
});

for (const fixture of RNNLM_FIXTURES) {
  test(`rnnlm -> PyTorch (${fixture.cell}): reproducible checkpoint, same logits as PyTorch`, () => {
    const committed = join(FIXTURE_DIR, fixture.name);
    const scratch = mkdtempSync(join(tmpdir(), 'rnnlm-interchange-'));
    try {
      const dir = join(scratch, fixture.name);
      writeRnnlmFixture(dir, fixture);
      assert.equal(readdirSync(dir).sort(), readdirSync(committed).sort());
      for (const file of ['config.json', 'vocab.json']) {
        assert.is(readFileSync(join(dir, file), 'utf8'), readFileSync(join(committed, file), 'utf8'), file);
      }
      const fresh = readFileSync(join(dir, 'model.safetensors'));
      const old = readFileSync(join(committed, 'model.safetensors'));
      if (!fresh.equals(old)) {
        // The layout must be identical; the initial values may differ in the last bits on a
        // machine whose libm or FMA use differs (the Philox normals go through logf/cosf).
        const headerLength = Number(old.readBigUInt64LE(0)) + 8;
        assert.ok(fresh.subarray(0, headerLength).equals(old.subarray(0, headerLength)), `${fixture.name}/model.safetensors: header differs`);
        const a = decodeSafetensors(fresh, 'regenerated').tensors;
        const b = decodeSafetensors(old, 'committed').tensors;
        let worst = 0;
        for (const [name, t] of a) {
          const u = b.get(name)!;
          for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(Number(t.data[i]) - Number(u.data[i])));
        }
        assert.ok(worst <= 1e-6, `${fixture.name}/model.safetensors: largest weight difference ${worst}`);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const expected = readLogits(`${fixture.name}.torch.json`);
    assert.is(expected.meta.cell, fixture.cell);
    const err = maxLogitError(committed, expected, fixture.cell);
    assert.ok(err <= TOLERANCE, `max abs logit error ${err}`);
  });
}

test.run();
