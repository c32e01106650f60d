// Data: reading corpora, tokenizers and their vocab.json, train/valid splits, BPTT streams.
export { readCorpus, readTextFile, type Corpus, type SkippedFile } from './reader.js';
export { defaultCorpus, type DefaultCorpus } from './default_corpus.js';
export type { Tokenizer, TokenizerLevel, VocabJSON, IncrementalDecoder } from './tokenizer.js';
export { tokenizerFromJSON, tokenizerFromText } from './tokenizer_factory.js';
export { CharTokenizer, describeCharacter } from './char_tokenizer.js';
export {
  WordTokenizer,
  splitWords,
  UNK_TOKEN,
  EOS_TOKEN,
  type WordTokenizerOptions,
} from './word_tokenizer.js';
export { detokenize, Detokenizer, LINE_BREAK } from './detokenize.js';
export { splitTrainValid, type TrainValidSplit } from './split.js';
export { TokenStream, evalStream, type Chunk, type EvalChunk } from './stream.js';
