// The rnnlm -> PyTorch half of the interchange fixtures: seeded rnnlm LanguageModels saved as
// checkpoint folders test/fixtures/interchange/rnnlm_<cell>/, which scripts/interchange.py then
// loads into PyTorch (load_state_dict strict) to write the logits PyTorch computes.
//
//   npx tsx scripts/rnnlm_checkpoint_fixture.ts          # (re)writes the rnnlm_<cell>/ folders
//   npx tsx scripts/rnnlm_checkpoint_fixture.ts --check  # exits 1 if any file would change
//
// test/interchange.test.ts imports writeRnnlmFixture to regenerate a folder and compare bytes.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { saveLanguageModel } from '../src/checkpoint/lm_checkpoint.js';
import type { VocabJSON } from '../src/checkpoint/config.js';
import { LanguageModel, type CellType } from '../src/models/language_model.js';
import { Generator } from '../src/random.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../test/fixtures/interchange/', import.meta.url));

/** The vocabulary of every interchange fixture (char level, 13 tokens; as interchange.py). */
export const FIXTURE_VOCAB: VocabJSON = {
  level: 'char',
  tokens: ['\n', ' ', 'a', 'b', 'c', 'd', 'e', 'h', 'i', 'n', 'o', 's', 't'],
  specials: {},
};

export interface RnnlmFixture {
  name: string;
  cell: CellType;
  seed: number;
}

export const RNNLM_FIXTURES: readonly RnnlmFixture[] = [
  { name: 'rnnlm_lstm', cell: 'lstm', seed: 21 },
  { name: 'rnnlm_gru', cell: 'gru', seed: 22 },
  { name: 'rnnlm_rnn', cell: 'rnn', seed: 23 },
  { name: 'rnnlm_rnn_relu', cell: 'rnn_relu', seed: 24 },
];

/** Builds the fixture's model from its seed and saves it as a checkpoint folder at `dir`. */
export function writeRnnlmFixture(dir: string, fixture: RnnlmFixture): void {
  const model = new LanguageModel(
    { vocabSize: FIXTURE_VOCAB.tokens.length, embedding: 6, hidden: 8, layers: 2, cell: fixture.cell, dropout: 0.25 },
    { generator: new Generator(fixture.seed) },
  );
  try {
    saveLanguageModel(dir, model, { vocab: FIXTURE_VOCAB });
  } finally {
    model.dispose();
  }
}

function main(check: boolean): void {
  const changed: string[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'rnnlm-fixture-'));
  try {
    for (const fixture of RNNLM_FIXTURES) {
      const fresh = join(scratch, fixture.name);
      writeRnnlmFixture(fresh, fixture);
      for (const file of readdirSync(fresh)) {
        let old: Buffer | null = null;
        try {
          old = readFileSync(join(FIXTURE_DIR, fixture.name, file));
        } catch {
          old = null;
        }
        if (old === null || !old.equals(readFileSync(join(fresh, file)))) changed.push(`${fixture.name}/${file}`);
      }
      if (!check) writeRnnlmFixture(join(FIXTURE_DIR, fixture.name), fixture);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (check && changed.length > 0) {
    console.log(`would change: ${changed.join(', ')}`);
    process.exit(1);
  }
  console.log(check ? 'rnnlm interchange checkpoints up to date' : `wrote ${RNNLM_FIXTURES.length} checkpoints (${changed.length} files changed)`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.includes('--check'));
}
