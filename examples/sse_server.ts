// Stream generated text token by token with server-sent events.
//   npx tsx examples/sse_server.ts MODEL_DIR [PORT]    then: curl -N 'localhost:8080/?prime=The&length=200'
// Generation runs in the model's worker thread, so the server keeps answering while it samples.
import { createServer } from 'node:http';
import { generateStream, loadLanguageModel, tokenizerFromJSON } from 'rnnlm';

const dir = process.argv[2] ?? 'models/example';
const { model, vocab } = loadLanguageModel(dir);
const tokenizer = tokenizerFromJSON(vocab, `${dir}/vocab.json`);

const server = createServer(async (req, res) => {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const stop = new AbortController();
  res.on('close', () => stop.abort()); // the client left: stop generating
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  try {
    const options = { prime: query.get('prime') ?? '', length: Number(query.get('length') ?? 200), seed: Number(query.get('seed') ?? 1), signal: stop.signal };
    for await (const piece of generateStream(model, tokenizer, options)) res.write(`data: ${JSON.stringify(piece)}\n\n`);
    res.end('event: end\ndata: {}\n\n');
  } catch (error) {
    if (!stop.signal.aborted) res.end(`event: error\ndata: ${JSON.stringify((error as Error).message)}\n\n`);
  }
});
server.listen(Number(process.argv[3] ?? 8080), () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address !== null ? address.port : ''}/`);
});
process.on('SIGINT', () => server.close());
