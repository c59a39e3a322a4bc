import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  COLOUR_MNIST32,
  COLOUR_MNIST32_DEFAULTS,
  ColourMnist32Config,
  colourMnist32,
  firstExamples,
  loadColourMnist32,
  loadSecondDomain,
  SVHN_DOMAIN,
} from '../lib/data/digits32';
import type { ImageSplit } from '../lib/data/mnist';
import { DATASETS, DatasetEntry } from '../lib/data/registry';
import { svhnLike } from './mat-writer';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-d32-');

/** A grey 28x28 split; `ink(i)` says which images carry a filled 10x10 square in the centre. */
function squares(count: number, ink: (i: number) => boolean): ImageSplit {
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) {
    if (!ink(i)) continue;
    for (let y = 9; y < 19; y++) for (let x = 9; x < 19; x++) images[i * 784 + y * 28 + x] = 255;
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10);
  return { count, shape: [28, 28, 1], images, labels, numClasses: 10 };
}

const cfg = (over: Partial<ColourMnist32Config> = {}): ColourMnist32Config => ({
  ...COLOUR_MNIST32_DEFAULTS,
  seed: 3,
  ...over,
});
const hash = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const px = (s: ImageSplit, i: number, y: number, x: number): number[] =>
  Array.from(s.images.subarray(((i * 32 + y) * 32 + x) * 3, ((i * 32 + y) * 32 + x) * 3 + 3));

test('the stand-in is named as derived from MNIST and never as SVHN', () => {
  for (const text of [
    COLOUR_MNIST32.id,
    COLOUR_MNIST32.name,
    COLOUR_MNIST32.label,
    COLOUR_MNIST32.description,
  ])
    assert.doesNotMatch(text, /svhn|street view|house number/i);
  assert.match(COLOUR_MNIST32.label, /derived from MNIST/);
  assert.equal(COLOUR_MNIST32.isStandIn, true);
  assert.equal(SVHN_DOMAIN.isStandIn, false);
});

test('shape, labels and value range', () => {
  const src = squares(20, () => true);
  const out = colourMnist32(src, cfg());
  assert.equal(out.count, 20);
  assert.deepEqual(out.shape, [32, 32, 3]);
  assert.equal(out.images.length, 20 * 32 * 32 * 3);
  assert.deepEqual(Array.from(out.labels), Array.from(src.labels));
  assert.equal(out.numClasses, 10);
  assert.notEqual(out.labels, src.labels, 'labels are a copy');
  // Colour images: the channels differ.
  let differ = 0;
  for (let q = 0; q < out.images.length; q += 3)
    if (out.images[q] !== out.images[q + 1] || out.images[q + 1] !== out.images[q + 2]) differ++;
  assert.ok(differ > out.images.length / 3 / 2, 'most pixels are not grey');
});

test('deterministic from the seed; the first n images do not depend on how many are built', () => {
  const src = squares(30, (i) => i % 3 !== 0);
  const a = colourMnist32(src, cfg(), 1);
  const b = colourMnist32(src, cfg(), 1);
  assert.equal(hash(a.images), hash(b.images));
  assert.notEqual(
    hash(colourMnist32(src, cfg({ seed: 4 }), 1).images),
    hash(a.images),
    'another seed gives other images',
  );
  assert.notEqual(
    hash(colourMnist32(src, cfg(), 2).images),
    hash(a.images),
    'another stream (split) gives other images',
  );
  const head = colourMnist32(src, cfg(), 1, 10);
  assert.equal(head.count, 10);
  assert.ok(Buffer.from(head.images).equals(Buffer.from(a.images.subarray(0, 10 * 3072))));
});

test('the central digit is painted in a contrasting colour, only around the centre', () => {
  const c = cfg({ distractorProbability: 0, textureAmplitude: 0, noiseAmplitude: 0 });
  const blank = colourMnist32(
    squares(50, () => false),
    c,
  );
  const inked = colourMnist32(
    squares(50, () => true),
    c,
  );
  // The random draws do not depend on pixel values, so the two renderings differ only where ink is.
  for (let i = 0; i < 50; i++) {
    const centre = px(inked, i, 16, 16);
    const back = px(blank, i, 16, 16);
    const lum = (p: number[]) => 0.299 * p[0]! + 0.587 * p[1]! + 0.114 * p[2]!;
    assert.ok(
      Math.abs(lum(centre) - lum(back)) >= 80 * 0.55 - 2,
      `image ${i}: ink ${centre} vs background ${back}`,
    );
    for (const [y, x] of [
      [0, 0],
      [0, 31],
      [31, 0],
      [31, 31],
      [16, 0],
      [16, 31],
    ] as const) {
      assert.deepEqual(
        px(inked, i, y, x),
        px(blank, i, y, x),
        `image ${i}: border pixel (${y}, ${x}) is untouched`,
      );
    }
  }
});

test('neighbouring distractor digits appear at the sides, not over the centre', () => {
  // Image 0 is blank; every other image (a possible distractor) carries ink. A distractor may
  // fall wholly outside the frame for one draw, so look at several seeds.
  let sideDiffs = 0;
  for (let seed = 0; seed < 8; seed++) {
    const c = {
      ...cfg({ distractorProbability: 1, textureAmplitude: 0, noiseAmplitude: 0 }),
      seed,
    };
    const withNeighbours = colourMnist32(
      squares(50, (i) => i !== 0),
      c,
      0,
      1,
    );
    const without = colourMnist32(
      squares(50, () => false),
      c,
      0,
      1,
    );
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const d = px(withNeighbours, 0, y, x).some((v, k) => v !== px(without, 0, y, x)[k]);
        if (d && (x < 6 || x > 25)) sideDiffs++;
        if (x >= 13 && x <= 18)
          assert.ok(!d, `seed ${seed}: centre column ${x} row ${y} is not covered by a distractor`);
      }
    }
  }
  assert.ok(sideDiffs > 20, `distractor ink near the sides (${sideDiffs} pixels)`);
  // With probability 0 there are none.
  const none = colourMnist32(
    squares(50, (i) => i !== 0),
    cfg({ distractorProbability: 0, textureAmplitude: 0, noiseAmplitude: 0 }),
    0,
    1,
  );
  const none0 = colourMnist32(
    squares(50, () => false),
    cfg({ distractorProbability: 0, textureAmplitude: 0, noiseAmplitude: 0 }),
    0,
    1,
  );
  assert.ok(Buffer.from(none.images).equals(Buffer.from(none0.images)));
});

test('bad arguments are clear errors', () => {
  const src = squares(5, () => true);
  assert.throws(
    () => colourMnist32({ ...src, shape: [28, 28, 3] }, cfg()),
    /source images must be grey/,
  );
  assert.throws(() => colourMnist32(src, cfg(), 0, 6), /count must be an integer 0\.\.5/);
  assert.throws(
    () => colourMnist32(src, cfg({ distractorProbability: 2 })),
    /config\.distractorProbability must be in \[0, 1\]/,
  );
  assert.throws(() => colourMnist32(src, cfg({ noiseAmplitude: -1 })), /config\.noiseAmplitude/);
  assert.throws(() => colourMnist32(src, cfg({ seed: 1.5 })), /config\.seed must be an integer/);
  assert.throws(() => firstExamples(src, 9), /n must be an integer 0\.\.5/);
});

test('built from real MNIST: labels follow MNIST, train and test drawn independently', async () => {
  const d = await loadColourMnist32({ seed: 11, trainCount: 200, testCount: 100 });
  assert.equal(d.domain, COLOUR_MNIST32);
  assert.equal(d.train.count, 200);
  assert.equal(d.test.count, 100);
  const mnistLabels = fs
    .readFileSync(path.resolve(__dirname, '..', '..', 'data', 'mnist', 'train-labels-idx1-ubyte'))
    .subarray(8, 208);
  assert.deepEqual(Array.from(d.train.labels), Array.from(mnistLabels));
  // Pixel statistics: a spread of colours, not a constant image.
  let min = 255,
    max = 0;
  for (const v of d.train.images) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.ok(min < 20 && max > 235, `values span ${min}..${max}`);
});

test('second domain: SVHN when its files are verified, the named stand-in otherwise', async () => {
  const root = tmpDir();
  // The stand-in reuses MNIST from the repository's data folder through a symlink (no copy).
  fs.symlinkSync(path.resolve(__dirname, '..', '..', 'data', 'mnist'), path.join(root, 'mnist'));
  const fallback = await loadSecondDomain({
    seed: 1,
    dataRoot: root,
    trainCount: 30,
    testCount: 20,
  });
  assert.equal(fallback.domain.id, 'printed-digits', 'the default stand-in');
  assert.equal(fallback.train.count, 30);
  assert.equal(fallback.test.count, 20);
  assert.match(fallback.reason, /SVHN is not available, so the stand-in is used/);
  assert.match(fallback.reason, /train_32x32\.mat/);
  const forced = await loadSecondDomain({
    seed: 1,
    dataRoot: root,
    trainCount: 5,
    testCount: 5,
    preferSvhn: false,
    standIn: 'colour-mnist-32',
  });
  assert.equal(forced.domain, COLOUR_MNIST32, 'Colour-MNIST-32 stays loadable by name');
  assert.equal(forced.train.count, 5);

  // With (toy) SVHN files in place and verified, SVHN is used.
  const train = svhnLike(new Uint8Array(3072 * 4).fill(9), [1, 2, 3, 10]);
  const testF = svhnLike(new Uint8Array(3072 * 2).fill(7), [10, 5]);
  const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const registry: Record<string, DatasetEntry> = {
    svhn: {
      ...DATASETS.svhn!,
      files: [
        {
          name: 'train_32x32.mat',
          bytes: train.length,
          algorithm: 'sha256',
          digest: digest(train),
          sources: [{ kind: 'manual', instructions: 'by hand' }],
        },
        {
          name: 'test_32x32.mat',
          bytes: testF.length,
          algorithm: 'sha256',
          digest: digest(testF),
          sources: [{ kind: 'manual', instructions: 'by hand' }],
        },
      ],
    },
  };
  fs.mkdirSync(path.join(root, 'svhn'), { recursive: true });
  fs.writeFileSync(path.join(root, 'svhn', 'train_32x32.mat'), train);
  fs.writeFileSync(path.join(root, 'svhn', 'test_32x32.mat'), testF);
  const real = await loadSecondDomain({ seed: 1, dataRoot: root, registry, trainCount: 3 });
  assert.equal(real.domain, SVHN_DOMAIN);
  assert.equal(real.train.count, 3);
  assert.equal(real.test.count, 2);
  assert.deepEqual(Array.from(real.train.labels), [1, 2, 3]);
  assert.deepEqual(Array.from(real.test.labels), [0, 5]);
});
