/**
 * `node scripts/setup.mjs data` reports what the loader finds: it loads MNIST the way the notebooks
 * do, so a file edited in place (same size and mtime) is caught, moved aside with one line, and
 * replaced; a data folder that is a file gives the whole error with the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-setup-data-');
const ROOT = path.resolve(__dirname, '..', '..');

function setupData(dataDir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'setup.mjs'), 'data'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DGR_DATA_DIR: dataDir, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('setup data: a same-size, same-mtime edit is caught and reported, then the data load', () => {
  const root = tmpDir();
  const file = path.join(root, 'mnist', 't10k-labels-idx1-ubyte');
  assert.equal(setupData(root).status, 0);
  const good = fs.readFileSync(file);
  const ref = path.join(root, 'time-ref');
  fs.writeFileSync(ref, '');
  execFileSync('touch', ['-r', file, ref]);
  const bad = Buffer.from(good);
  bad[100] = 0xee;
  fs.writeFileSync(file, bad);
  execFileSync('touch', ['-r', ref, file]);
  const r = setupData(root);
  assert.equal(r.status, 0, r.out);
  const moved =
    `data: ${file} failed verification (sha256 or size mismatch); ` +
    `moved aside to ${file}.rejected`;
  assert.ok(r.out.includes(moved), r.out);
  assert.match(
    r.out,
    /data: MNIST verified \(size and SHA-256 of its 4 files\) and loaded: 60000 train \/ 10000/,
  );
  assert.deepEqual(fs.readFileSync(file), good);
});

test('setup data: a data folder that is a file fails with the whole message and the fix', () => {
  const file = path.join(tmpDir(), 'data-file');
  fs.writeFileSync(file, 'x');
  const r = setupData(file);
  assert.equal(r.status, 1);
  assert.match(
    r.out,
    /setup step 'data' failed: the data folder .*data-file is a file, not a folder\. To fix: /,
  );
});
