// Train a sentence VAE on one-sentence-per-line text, then sample from the prior, walk between
// two sentences in latent space, and reload the saved model to score a sentence.
//   npx tsx examples/sentence_vae.ts [SENTENCES_FILE] [EPOCHS]
import { SentenceVaeTrainer, evaluateVae, interpolateSentences, loadSentenceVae, sampleSentences, tokenizeSentence } from 'rnnlm';

const data = process.argv[2] || null; // null: sentences of the bundled Moby Dick
const epochs = Number(process.argv[3] ?? 2);

const trainer = SentenceVaeTrainer.create({ data, epochs, hidden: 128, embedding: 64, x0: 200, k: 0.02 }, `runs/vae-example-${Date.now()}`);
const summary = await trainer.run(); // writes metrics.jsonl, last/ (resumable) and best/
console.log(`${summary.status} after ${summary.epochs} epochs: valid nll ${summary.valid?.nll.toFixed(2)}, kl ${summary.valid?.kl.toFixed(2)} per sentence`);
const run = trainer.runDir;
trainer.dispose();

const { model, vocab, config } = loadSentenceVae(run); // its best checkpoint, in eval mode
const format = config.tokenizer.format;
for (const s of sampleSentences(model, vocab, 3, { temperature: 0.8, seed: 1 })) console.log(`sample: ${s.text}`);
const path = interpolateSentences(model, vocab, format, 3, { from: 'the sea was calm .', to: 'the whale struck the ship .' });
for (const s of path) console.log(`path:   ${s.text}`);
const score = evaluateVae(model, [vocab.encode(tokenizeSentence('the whale struck the ship .', format))], { z: 'mean' });
console.log(`score: nll ${score.nll.toFixed(2)}, kl ${score.kl.toFixed(2)}, elbo ${score.elbo.toFixed(2)} nats`);
model.dispose();
