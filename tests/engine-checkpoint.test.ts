import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import {
  CheckpointError,
  checkpointExists,
  findCheckpoint,
  loadCheckpoint,
  readCheckpointManifest,
  saveCheckpoint,
} from '../lib/engine/checkpoint';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-ckpt-');

async function saveSample(dir: string, scale = 1) {
  const w = tf.tensor2d([
    [1.5 * scale, -2],
    [3, 4.25],
  ]);
  const steps = tf.tensor1d([7, 8, 9], 'int32');
  const mask = tf.tensor1d([true, false, true], 'bool');
  const manifest = await saveCheckpoint(dir, {
    meta: { kind: 'solver', task: 2, lr: 0.001, config: { layers: [400, 400] } },
    tensors: { 'solver/w': w, steps, mask },
  });
  tf.dispose([w, steps, mask]);
  return manifest;
}

test('round trip: meta and float32/int32/bool tensors come back identical', async () => {
  const dir = path.join(tmpDir(), 'ckpt');
  const m = await saveSample(dir);
  assert.equal(m.tensors.length, 3);
  assert.deepEqual(m.tensors[0]!.shape, [2, 2]);
  assert.equal(m.tensors[0]!.bytes, 16);
  assert.ok(checkpointExists(dir));
  const before = tf.memory().numTensors;
  const loaded = await loadCheckpoint(dir, {
    expect: {
      tensors: { 'solver/w': { shape: [2, 2], dtype: 'float32' }, steps: { dtype: 'int32' } },
      meta: { kind: 'solver' },
    },
  });
  assert.deepEqual(loaded.meta, {
    kind: 'solver',
    task: 2,
    lr: 0.001,
    config: { layers: [400, 400] },
  });
  assert.deepEqual(loaded.tensors['solver/w']!.arraySync(), [
    [1.5, -2],
    [3, 4.25],
  ]);
  assert.equal(loaded.tensors.steps!.dtype, 'int32');
  assert.deepEqual(loaded.tensors.steps!.arraySync(), [7, 8, 9]);
  assert.equal(loaded.tensors.mask!.dtype, 'bool');
  assert.deepEqual(loaded.tensors.mask!.arraySync(), [1, 0, 1]);
  assert.equal(tf.memory().numTensors, before + 3);
  tf.dispose(Object.values(loaded.tensors));
  // Overwriting replaces the checkpoint and leaves no temporary or old siblings.
  await saveSample(dir, 2);
  const again = await loadCheckpoint(dir);
  assert.equal((again.tensors['solver/w']!.arraySync() as number[][])[0]![0], 3);
  tf.dispose(Object.values(again.tensors));
  assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['ckpt']);
});

test('a truncated, corrupted or missing tensor file fails with the file named', async () => {
  const dir = path.join(tmpDir(), 'ckpt');
  await saveSample(dir);
  const file = path.join(dir, 't0000.bin');
  const good = fs.readFileSync(file);
  fs.writeFileSync(file, good.subarray(0, 10));
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) =>
      e instanceof CheckpointError &&
      e.message.includes(file) &&
      /truncated: 10 of 16 bytes of tensor solver\/w/.test(e.message),
  );
  const flipped = Buffer.from(good);
  flipped[5] = (flipped[5] as number) ^ 0xff;
  fs.writeFileSync(file, flipped);
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) =>
      e instanceof CheckpointError && e.message.includes(file) && /corrupt: sha256/.test(e.message),
  );
  fs.writeFileSync(file, Buffer.concat([good, Buffer.from([1])]));
  await assert.rejects(loadCheckpoint(dir), /has 17 bytes/);
  fs.rmSync(file);
  await assert.rejects(loadCheckpoint(dir), /t0000\.bin: tensor file of solver\/w is missing/);
  fs.writeFileSync(file, good);
  const manifest = path.join(dir, 'manifest.json');
  const text = fs.readFileSync(manifest, 'utf8');
  fs.writeFileSync(manifest, text.slice(0, text.length / 2));
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) => e.message.includes(manifest) && /not valid JSON/.test(e.message),
  );
  fs.writeFileSync(manifest, text.replace('"version": 1', '"version": 99'));
  await assert.rejects(loadCheckpoint(dir), /format version 99 is not supported/);
  fs.writeFileSync(manifest, text);
  const ok = await loadCheckpoint(dir);
  tf.dispose(Object.values(ok.tensors));
  await assert.rejects(
    loadCheckpoint(path.join(path.dirname(dir), 'nothing')),
    /manifest\.json is missing/,
  );
});

test(
  'expectations: missing tensor, shape, dtype, extras and meta mismatches; ' +
    'nothing is allocated on failure',
  async () => {
    const dir = path.join(tmpDir(), 'ckpt');
    await saveSample(dir);
    const before = tf.memory().numTensors;
    await assert.rejects(
      loadCheckpoint(dir, { expect: { tensors: { 'gen/w': {} } } }),
      /missing tensor gen\/w \(has: solver\/w, steps, mask\)/,
    );
    await assert.rejects(
      loadCheckpoint(dir, { expect: { tensors: { 'solver/w': { shape: [2, 3] } } } }),
      /t0000\.bin: tensor solver\/w has shape \[2, 2\], expected \[2, 3\]/,
    );
    await assert.rejects(
      loadCheckpoint(dir, { expect: { tensors: { steps: { dtype: 'float32' } } } }),
      /steps has dtype int32, expected float32/,
    );
    await assert.rejects(
      loadCheckpoint(dir, { expect: { tensors: { steps: {} }, exact: true } }),
      /unexpected tensors: solver\/w, mask/,
    );
    await assert.rejects(
      loadCheckpoint(dir, { expect: { meta: { task: 3 } } }),
      /meta\.task is 2, expected 3/,
    );
    assert.equal(tf.memory().numTensors, before);
  },
);

test('bad input to save is rejected before anything is written', async () => {
  const dir = path.join(tmpDir(), 'ckpt');
  const t = tf.tensor1d([1, 2]);
  await assert.rejects(
    saveCheckpoint(dir, { meta: { lr: Number.NaN }, tensors: { t } }),
    /meta\.lr is NaN/,
  );
  await assert.rejects(
    saveCheckpoint(dir, { meta: { f: (() => 1) as never }, tensors: { t } }),
    /meta\.f is a function/,
  );
  const s = tf.tensor1d(['a'], 'string');
  await assert.rejects(saveCheckpoint(dir, { meta: null, tensors: { s } }), /dtype string/);
  assert.equal(fs.existsSync(dir), false);
  assert.deepEqual(fs.readdirSync(path.dirname(dir)), []);
  tf.dispose([t, s]);
});

test('a crash mid-write never breaks the previous checkpoint', async () => {
  const root = tmpDir();
  const dir = path.join(root, 'ckpt');
  await saveSample(dir);
  // Crash while writing the next one: a half-written temporary sibling of a dead process.
  const dead = path.join(root, '.ckpt.tmp-999999999-dead');
  fs.mkdirSync(dead);
  fs.writeFileSync(path.join(dead, 't0000.bin'), Buffer.alloc(3));
  const a = await loadCheckpoint(dir);
  assert.equal(a.readFrom, dir);
  assert.deepEqual(a.tensors['solver/w']!.arraySync(), [
    [1.5, -2],
    [3, 4.25],
  ]);
  tf.dispose(Object.values(a.tensors));
  // Crash between "rename old aside" and "rename new into place": the old one is still found.
  const aside = path.join(root, '.ckpt.old-999999999-dead');
  fs.renameSync(dir, aside);
  const b = await loadCheckpoint(dir);
  assert.equal(b.readFrom, aside);
  assert.deepEqual(b.tensors.steps!.arraySync(), [7, 8, 9]);
  tf.dispose(Object.values(b.tensors));
  // The next save succeeds and removes the dead writer's leftovers.
  await saveSample(dir, 2);
  assert.deepEqual(fs.readdirSync(root), ['ckpt']);
  assert.equal(readCheckpointManifest(dir).tensors.length, 3);
});

test(
  'findCheckpoint names what loadCheckpoint reads, ' + 'the renamed-aside copy included',
  async () => {
    const root = tmpDir();
    const dir = path.join(root, 'ckpt');
    assert.equal(findCheckpoint(dir), null);
    await saveSample(dir);
    assert.equal(findCheckpoint(dir), dir);
    const aside = path.join(root, '.ckpt.old-999999999-dead');
    fs.renameSync(dir, aside);
    assert.equal(findCheckpoint(dir), aside);
    assert.equal(checkpointExists(dir), true, 'resume must see what load recovers');
    // An empty folder at the path (made by hand after the crash) does not hide the complete copy.
    fs.mkdirSync(dir);
    assert.equal(findCheckpoint(dir), aside);
    const loaded = await loadCheckpoint(dir);
    assert.equal(loaded.readFrom, aside);
    tf.dispose(Object.values(loaded.tensors));
  },
);

test(
  'a save after a crash keeps the recoverable checkpoint until a newer ' +
    'complete one is in place',
  async () => {
    const root = tmpDir();
    const dir = path.join(root, 'ckpt');
    await saveSample(dir);
    fs.renameSync(dir, path.join(root, '.ckpt.old-999999999-dead'));
    // The next save dies while writing (here: its temporary folder cannot be made).
    const mkdir = fs.promises.mkdir;
    fs.promises.mkdir = (async (p: fs.PathLike, o?: fs.MakeDirectoryOptions) => {
      if (String(p).includes('.tmp-'))
        throw Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' });
      return mkdir(p, o);
    }) as typeof fs.promises.mkdir;
    let message = '';
    try {
      await saveSample(dir, 2);
    } catch (err) {
      message = (err as Error).message;
    } finally {
      fs.promises.mkdir = mkdir;
    }
    const a = await loadCheckpoint(dir);
    assert.deepEqual(
      a.tensors['solver/w']!.arraySync(),
      [
        [1.5, -2],
        [3, 4.25],
      ],
      'the old one survived',
    );
    tf.dispose(Object.values(a.tensors));
    assert.match(message, /could not write the checkpoint: ENOSPC[^]*To fix: /);
    await saveSample(dir, 2);
    assert.deepEqual(fs.readdirSync(root), ['ckpt']);
  },
);

test(
  'the manifest is covered by its checksum: an edit that keeps valid JSON is ' +
    'refused with the fix',
  async () => {
    const dir = path.join(tmpDir(), 'ckpt');
    await saveSample(dir);
    const file = path.join(dir, 'manifest.json');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace('"task": 2', '"task": 7'));
    await assert.rejects(loadCheckpoint(dir), (e: Error) => {
      assert.ok(e instanceof CheckpointError);
      assert.match(
        e.message,
        /manifest\.json: invalid manifest: its contents do not match its checksum/,
      );
      assert.match(e.message, /To fix: a checkpoint cannot be repaired by hand: delete .*ckpt/);
      return true;
    });
    const { checksum: _, ...unsealed } = JSON.parse(text) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify(unsealed));
    await assert.rejects(loadCheckpoint(dir), /it has no checksum/);
    // Whitespace does not matter: the checksum covers the JSON values, not the layout.
    fs.writeFileSync(file, JSON.stringify(JSON.parse(text), null, 4));
    const ok = await loadCheckpoint(dir);
    tf.dispose(Object.values(ok.tensors));
  },
);

test('a checkpoint is never saved over a file or a folder of other files', async () => {
  const root = tmpDir();
  const file = path.join(root, 'notes');
  fs.writeFileSync(file, 'x');
  await assert.rejects(saveSample(file), /notes: exists and is not a folder[^]*To fix: /);
  fs.rmSync(file);
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, 'keep.txt'), 'keep me');
  await assert.rejects(saveSample(file), /is a folder with other files but no checkpoint/);
  assert.equal(fs.readFileSync(path.join(file, 'keep.txt'), 'utf8'), 'keep me');
});
