// The checkpoint fuzz test's worker process: reads the pristine runs named on its command line,
// then runs each case the parent sends (IPC) and answers with its outcome. It runs apart from
// the test so that a case that hangs, allocates without bound or crashes can be stopped and
// reported (test/support/fuzz_runner.ts) without taking the test runner with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureCase, MODEL_KINDS, readPristine, type FuzzCase, type ModelKind } from './fuzz_targets.js';

const runs = JSON.parse(process.argv[2]!) as Record<ModelKind, string>;
const pristine = new Map(MODEL_KINDS.map((k) => [k, readPristine(runs[k])]));
const scratch = mkdtempSync(join(tmpdir(), 'rnnlm-fuzz-case-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
process.on('disconnect', () => process.exit(0));

process.on('message', (message: { id: number; case: FuzzCase }) => {
  const outcome = measureCase(message.case, pristine.get(message.case.kind)!, join(scratch, 'case'));
  process.send!({ id: message.id, outcome });
});
process.send!({ ready: true, maxRssBytes: process.resourceUsage().maxRSS * 1024 });
