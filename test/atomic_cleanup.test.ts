// Leftovers of killed writers: the hidden `.<name>.tmp-<pid>-*` / `.<name>.old-<pid>-*` siblings a
// save leaves when its process dies mid-save are removed by the next save of the same target,
// as long as their writer is gone; a live writer's are never touched.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeDirAtomic, writeFileAtomic } from '../src/io/atomic.js';

const work = mkdtempSync(join(tmpdir(), 'rnnlm-atomic-cleanup-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

/** The pid of a process that has exited (and been reaped), so no process has it now. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.is(child.status, 0);
  assert.ok(child.pid !== undefined && child.pid > 0);
  return child.pid;
}

/** A folder that looks like a full checkpoint a writer left behind. */
function leftoverFolder(parent: string, name: string): string {
  const path = join(parent, name);
  mkdirSync(path);
  writeFileSync(join(path, 'model.safetensors'), 'weights');
  return path;
}

test('a save removes dead writers\' temporary and set-aside folders, keeps live ones', () => {
  const run = join(work, 'run');
  mkdirSync(run);
  writeDirAtomic(join(run, 'last'), new Map([['a.txt', 'first']]));
  const dead = deadPid();
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    assert.ok(sleeper.pid !== undefined);
    const staleTmp = leftoverFolder(run, `.last.tmp-${dead}-0a1b2c3d`);
    const staleOld = leftoverFolder(run, `.last.old-${dead}-deadbeef`);
    const liveOther = leftoverFolder(run, `.last.tmp-${sleeper.pid}-00112233`);
    const liveSelf = leftoverFolder(run, `.last.tmp-${process.pid}-44556677`);
    // Another target's leftovers wait for a save of that target.
    const otherTarget = leftoverFolder(run, `.best.tmp-${dead}-8899aabb`);
    // Names that only look alike are not ours to remove.
    const unrelated = leftoverFolder(run, `.last.tmp-notapid`);

    writeDirAtomic(join(run, 'last'), new Map([['a.txt', 'second']]));

    assert.not.ok(existsSync(staleTmp), 'dead writer temporary folder');
    assert.not.ok(existsSync(staleOld), 'dead writer set-aside folder');
    assert.ok(existsSync(liveOther), 'a live writer folder stays');
    assert.ok(existsSync(liveSelf), 'this process folder stays');
    assert.ok(existsSync(otherTarget), 'another target leftovers stay');
    assert.ok(existsSync(unrelated), 'an unrelated name stays');
    assert.equal(readdirSync(join(run, 'last')), ['a.txt']);

    writeDirAtomic(join(run, 'best'), new Map([['a.txt', 'best']]));
    assert.not.ok(existsSync(otherTarget), 'removed by a save of its own target');
  } finally {
    sleeper.kill();
  }
});

test('a save after a crash between the two renames replaces the set-aside copy', () => {
  const run = join(work, 'swap');
  mkdirSync(run);
  // The target is missing and its complete previous version sits aside: the new save is now the
  // copy to keep, so the aside one goes.
  const aside = leftoverFolder(run, `.last.old-${deadPid()}-01234567`);
  writeDirAtomic(join(run, 'last'), new Map([['a.txt', 'new']]));
  assert.not.ok(existsSync(aside));
  assert.equal(readdirSync(run), ['last']);
});

test('a file save removes dead writers\' temporary files beside it', () => {
  const dir = join(work, 'files');
  mkdirSync(dir);
  const dead = deadPid();
  const stale = join(dir, `.metrics.jsonl.tmp-${dead}-89abcdef`);
  writeFileSync(stale, 'partial');
  const live = join(dir, `.metrics.jsonl.tmp-${process.pid}-76543210`);
  writeFileSync(live, 'in progress');
  writeFileAtomic(join(dir, 'metrics.jsonl'), 'done\n');
  assert.not.ok(existsSync(stale));
  assert.ok(existsSync(live));
});

test.run();
