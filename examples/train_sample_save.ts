// Train a character-level LSTM on a text file, print a sample, save the model, load it back and
// score a text.   npx tsx examples/train_sample_save.ts [TEXT_FILE] [STEPS]
import { LanguageModelTrainer, evaluateText, generate, loadLanguageModel, saveLanguageModel, tokenizerFromJSON } from 'rnnlm';

const data = process.argv[2] || null; // null: the bundled Moby Dick
const steps = Number(process.argv[3] ?? 300);

const trainer = LanguageModelTrainer.create({ data, hidden: 128, layers: 2, seq: 64, batch: 32, steps, validEvery: 100 }, `runs/example-${Date.now()}`);
const summary = await trainer.run(); // writes metrics.jsonl, last/ and best/ in the run folder
console.log(`${summary.status} after ${summary.step} steps, best validation loss ${summary.bestValidLoss?.toFixed(3)}`);

console.log(generate(trainer.model, trainer.tokenizer, { prime: 'The ', length: 200, temperature: 0.8, seed: 1 }));

saveLanguageModel('models/example', trainer.model, { vocab: trainer.tokenizer.toJSON() });
trainer.dispose();

const { model, vocab } = loadLanguageModel('models/example');
const score = evaluateText(model, tokenizerFromJSON(vocab, 'models/example/vocab.json'), 'Call me Ishmael. Some years ago, never mind how long precisely.');
console.log(`nll ${score.nll.toFixed(3)} nats/char, ${score.bpc.toFixed(3)} bits/char`);
model.dispose();
