/**
 * Run checkpoints of trainSequence (lib/engine/run-checkpoint.ts): resume finds what the loader
 * recovers, refuses a checkpoint of another run naming each differing field, refuses a tampered
 * record, and checks the checkpoint folder before any training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configWith, presets, type ExperimentConfig } from '../lib/engine/config';
import { trainSequence, type TrainOptions } from '../lib/engine/train';
import { CheckpointError, checkpointExists } from '../lib/engine/checkpoint';
import { domainSequence, permutedMnist, splitMnist } from '../lib/engine/tasks';
import type { TaskSequence } from '../lib/engine/types';
import type { ImageSplit, Mnist } from '../lib/data/mnist';
import { createRng } from '../lib/rng';
import { blobSequence } from './fixtures';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-run-ckpt-');

/** A small no-replay config (fast); `patch` changes it. */
function small(patch: Parameters<typeof configWith>[1] = {}): ExperimentConfig {
  const base = configWith(presets.splitMnist('none'), {
    iterations: 3,
    batchSize: 8,
    solver: { hidden: [16] },
    replay: { batchSize: 8 },
  });
  return configWith(base, patch);
}

const quiet: TrainOptions = { progress: false };

/** A stand-in for MNIST: random 28x28 images, labels 0..9, with data-file checksums. */
function fakeMnist(
  files: Readonly<Record<string, string>> = { 'images-idx3': 'a'.repeat(64) },
): Mnist {
  const rng = createRng(5);
  const split = (n: number): ImageSplit => ({
    count: n,
    shape: [28, 28, 1],
    images: Uint8Array.from(rng.uniformArray(n * 784, 0, 255), (v) => Math.floor(v)),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
    numClasses: 10,
    files,
  });
  return { train: split(40), test: split(20) };
}

/** Trains task 0 of `a` into `dir`, then expects a resume with `b` on `seqB` to be refused. */
async function refused(
  seqA: TaskSequence,
  seqB: TaskSequence,
  expected: readonly RegExp[],
  a: ExperimentConfig = small({ scenario: seqA.scenario }),
  b: ExperimentConfig = a,
): Promise<string> {
  const dir = path.join(tmpDir(), 'run');
  try {
    (
      await trainSequence(seqA, a, { ...quiet, checkpointDir: dir, stopAfterTask: 0 })
    ).scholar.dispose();
    let message = '';
    await assert.rejects(trainSequence(seqB, b, { ...quiet, checkpointDir: dir }), (e: Error) => {
      assert.ok(e instanceof CheckpointError, e.message);
      message = e.message;
      return true;
    });
    for (const re of expected) assert.match(message, re);
    assert.match(message, /pass another checkpointDir/);
    assert.match(message, new RegExp(`delete ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    return message;
  } finally {
    seqA.dispose();
    seqB.dispose();
  }
}

test('resume sees the checkpoint a crash between the two renames left aside', async () => {
  const seq = blobSequence({ numTasks: 3, perClass: 8, seed: 123 });
  try {
    const cfg = small();
    const full = await trainSequence(seq, cfg, quiet);
    full.scholar.dispose();
    const root = tmpDir();
    const dir = path.join(root, 'run');
    (
      await trainSequence(seq, cfg, { ...quiet, checkpointDir: dir, stopAfterTask: 0 })
    ).scholar.dispose();
    // The state a kill between "rename old aside" and "rename new into place" leaves.
    fs.renameSync(dir, path.join(root, '.run.old-999999999-dead'));
    assert.equal(checkpointExists(dir), true, 'checkpointExists sees what loadCheckpoint recovers');
    const resumed = await trainSequence(seq, cfg, { ...quiet, checkpointDir: dir });
    resumed.scholar.dispose();
    assert.equal(resumed.resumedTasks, 1, 'resumed after task 1, not restarted from scratch');
    assert.deepEqual(resumed.accuracy, full.accuracy);
    assert.deepEqual(fs.readdirSync(root), ['run']);
  } finally {
    seq.dispose();
  }
});

test('resume refuses another permutation seed, subsample size or data file', async () => {
  const msg = await refused(
    permutedMnist(fakeMnist(), { numTasks: 2, seed: 0 }),
    permutedMnist(fakeMnist(), { numTasks: 2, seed: 1 }),
    [/sequence\.identity\.config\.seed: 0 → 1/, /differ in \(checkpoint → this run\)/],
  );
  assert.ok(msg.length < 1500, 'short: fields, not whole JSON blobs');
  await refused(
    permutedMnist(fakeMnist(), { numTasks: 2, trainPerTask: 10 }),
    permutedMnist(fakeMnist(), { numTasks: 2, trainPerTask: 12 }),
    [/sequence\.identity\.config\.trainPerTask: 10 → 12/, /sequence\.tasks\[0\]\.train: 10 → 12/],
  );
  await refused(
    permutedMnist(fakeMnist(), { numTasks: 2 }),
    permutedMnist(fakeMnist({ 'images-idx3': 'b'.repeat(64) }), { numTasks: 2 }),
    [/sequence\.identity\.dataFiles\.images-idx3: aaaaaaaaaaaa… → bbbbbbbbbbbb…/],
  );
});

test('resume refuses another class order, domain or experiment setting', async () => {
  await refused(
    splitMnist(fakeMnist(), { scenario: 'class', classOrder: 'identity' }),
    splitMnist(fakeMnist(), { scenario: 'class', classOrder: [1, 0, 2, 3, 4, 5, 6, 7, 8, 9] }),
    [/sequence\.identity\.config\.classOrder\[0\]: 0 → 1/],
  );
  const m = fakeMnist();
  const domains = (second: string) => [
    { name: 'A', train: m.train, test: m.test },
    { name: second, train: m.train, test: m.test },
  ];
  await refused(
    domainSequence(domains('B'), { name: 'AB', flatten: true }),
    domainSequence(domains('C'), { name: 'AB', flatten: true }),
    [/sequence\.identity\.domains\[1\]: "B" → "C"/],
    small({ scenario: 'domain' }),
  );
  await refused(
    blobSequence({ numTasks: 2, perClass: 8 }),
    blobSequence({ numTasks: 2, perClass: 8 }),
    [/config\.iterations: 3 → 4/, /config\.replay\.batchSize: 8 → 9/],
    small(),
    small({ iterations: 4, replay: { batchSize: 9 } }),
  );
  // A hand-made sequence has no identity; its data are still compared (a hash of them).
  await refused(
    blobSequence({ numTasks: 2, perClass: 8, seed: 1 }),
    blobSequence({ numTasks: 2, perClass: 8, seed: 2 }),
    [/sequence\.dataSha256: [0-9a-f]{12}… → [0-9a-f]{12}…/],
  );
});

/** The manifest checksum as the checkpoint format defines it (sha256 of the other fields' JSON). */
function reseal(manifest: Record<string, unknown>): string {
  const { checksum: _, ...rest } = manifest;
  const sum = createHash('sha256').update(JSON.stringify(rest)).digest('hex');
  return JSON.stringify({ ...rest, checksum: sum }, null, 1);
}

test('a tampered run checkpoint is refused with the fix, sealed or not', async () => {
  const seq = blobSequence({ numTasks: 3, perClass: 8 });
  try {
    const dir = path.join(tmpDir(), 'run');
    const cfg = small();
    (
      await trainSequence(seq, cfg, { ...quiet, checkpointDir: dir, stopAfterTask: 0 })
    ).scholar.dispose();
    const file = path.join(dir, 'manifest.json');
    const good = fs.readFileSync(file, 'utf8');
    const edits: [string, (meta: Record<string, unknown>) => void, RegExp][] = [
      [
        'completedTasks 1 → 2',
        (m) => (m.completedTasks = 2),
        /meta\.completedTasks is 2 but meta\.accuracy has 1 rows/,
      ],
      [
        'completedTasks 1 → 7',
        (m) => (m.completedTasks = 7),
        /meta\.completedTasks is 7, not a task count 1\.\.3/,
      ],
      ['accuracy null', (m) => (m.accuracy = null), /meta\.accuracy is null, not a list of rows/],
      [
        'accuracy > 1',
        (m) => (m.accuracy = [[2, 0, 0]]),
        /meta\.accuracy\[0\] is \[2,0,0\], not 3 accuracies/,
      ],
      ['seconds missing', (m) => (m.taskSeconds = []), /meta\.taskSeconds is \[\], not 1 numbers/],
    ];
    for (const [what, edit, sealedError] of edits) {
      const manifest = JSON.parse(good) as Record<string, unknown>;
      edit(manifest.meta as Record<string, unknown>);
      // Edited by hand: the checksum no longer matches.
      fs.writeFileSync(file, JSON.stringify(manifest, null, 1));
      await assert.rejects(
        trainSequence(seq, cfg, { ...quiet, checkpointDir: dir }),
        (e: Error) => {
          assert.ok(e instanceof CheckpointError, `${what}: ${e.message}`);
          assert.match(
            e.message,
            /do not match its checksum: the file was edited by hand or damaged/,
          );
          assert.match(e.message, /To fix: .*delete /);
          return true;
        },
      );
      // Edited and re-sealed: the record is still checked against itself.
      fs.writeFileSync(file, reseal(manifest));
      await assert.rejects(
        trainSequence(seq, cfg, { ...quiet, checkpointDir: dir }),
        (e: Error) => {
          assert.ok(e instanceof CheckpointError, `${what}: ${e.message}`);
          assert.match(e.message, sealedError);
          assert.match(e.message, /To fix: /);
          return true;
        },
      );
    }
    fs.writeFileSync(file, good);
    const ok = await trainSequence(seq, cfg, { ...quiet, checkpointDir: dir });
    ok.scholar.dispose();
    assert.equal(ok.resumedTasks, 1);
  } finally {
    seq.dispose();
  }
});

test('a bad checkpointDir is reported before any training', async () => {
  const seq = blobSequence({ numTasks: 2, perClass: 8 });
  try {
    const root = tmpDir();
    const lines: string[] = [];
    const opts = (dir: string): TrainOptions => ({
      checkpointDir: dir,
      progress: { everySeconds: 0, write: (l: string) => lines.push(l) },
    });
    const aFile = path.join(root, 'a-file');
    fs.writeFileSync(aFile, 'x');
    let message = '';
    await assert.rejects(
      trainSequence(seq, small(), opts(aFile)),
      (e: Error) => ((message = e.message), true),
    );
    assert.deepEqual(lines, [], 'nothing was trained before the error');
    assert.match(message, /a-file: is a file, not a folder\nTo fix: /);
    await assert.rejects(
      trainSequence(seq, small(), opts(path.join(aFile, 'run'))),
      /cannot be created: .*a-file is a file/,
    );
    const busy = path.join(root, 'results');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'notes.txt'), 'keep me');
    await assert.rejects(trainSequence(seq, small(), opts(busy)), /other files and no checkpoint/);
    // A checkpoint left renamed aside beside the folder does not make its other files replaceable.
    const aside = path.join(root, '.results.old-1-0');
    fs.mkdirSync(aside);
    fs.writeFileSync(path.join(aside, 'manifest.json'), '{}');
    await assert.rejects(trainSequence(seq, small(), opts(busy)), /other files and no checkpoint/);
    fs.rmSync(aside, { recursive: true });
    await assert.rejects(
      trainSequence(seq, small(), opts('')),
      /checkpointDir must be a folder path/,
    );
    assert.deepEqual(lines, [], 'nothing was trained');
    assert.equal(fs.readFileSync(path.join(busy, 'notes.txt'), 'utf8'), 'keep me');
  } finally {
    seq.dispose();
  }
});
