import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { ImageSplit, Mnist } from '../lib/data/mnist';
import { activeOutputs, logitMask, withMask } from '../lib/engine/masks';
import {
  domainSequence,
  mnistTo32x32x3,
  permutedMnist,
  pixelPermutation,
  splitClassOrder,
  splitMnist,
} from '../lib/engine/tasks';

/** A small fake MNIST: image i has pixels (i*7 + k*13) mod 256, label i mod 10. */
function fakeSplit(
  count: number,
  shape: readonly [number, number, number] = [28, 28, 1],
  labelOf = (i: number) => i % 10,
): ImageSplit {
  const d = shape[0] * shape[1] * shape[2];
  const images = new Uint8Array(count * d);
  for (let i = 0; i < count; i++)
    for (let k = 0; k < d; k++) images[i * d + k] = (i * 7 + k * 13) % 256;
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = labelOf(i);
  return { count, shape, images, labels, numClasses: 10 };
}
const fakeMnist = (): Mnist => ({ train: fakeSplit(50), test: fakeSplit(30) });

function row(split: ImageSplit, i: number): number[] {
  const d = split.images.length / split.count;
  return Array.from(split.images.subarray(i * d, (i + 1) * d), (v) => v / 255);
}
function close(a: ArrayLike<number>, b: ArrayLike<number>): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(
      Math.abs((a[i] as number) - (b[i] as number)) < 1e-6,
      `index ${i}: ${a[i]} vs ${b[i]}`,
    );
}

test('permutedMnist: each task is one fixed pixel permutation of the same images', () => {
  const mnist = fakeMnist();
  const before = tf.memory().numTensors;
  const seq = permutedMnist(mnist, { numTasks: 3, seed: 5 });
  assert.equal(seq.name, 'permMNIST');
  assert.equal(seq.scenario, 'domain');
  assert.equal(seq.numOutputs, 10);
  assert.deepEqual(seq.inputShape, [784]);
  assert.equal(seq.tasks.length, 3);
  for (const task of seq.tasks) {
    assert.deepEqual(task.train.x.shape, [50, 784]);
    assert.equal(task.train.x.dtype, 'float32');
    assert.equal(task.train.y.dtype, 'int32');
    assert.equal(task.train.count, 50);
    assert.deepEqual(task.test.x.shape, [30, 784]);
    assert.deepEqual(Array.from(task.train.y.dataSync()), Array.from(mnist.train.labels));
    assert.deepEqual(task.classes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const perm = pixelPermutation(seq.config, task.index);
    assert.deepEqual(
      Array.from(perm).sort((a, b) => a - b),
      Array.from({ length: 784 }, (_, i) => i),
    );
    const x = task.train.x.arraySync() as number[][];
    const orig = row(mnist.train, 3);
    close(
      x[3] as number[],
      Array.from(perm, (p) => orig[p] as number),
    );
    const xt = task.test.x.arraySync() as number[][];
    const origT = row(mnist.test, 29);
    close(
      xt[29] as number[],
      Array.from(perm, (p) => origT[p] as number),
    );
  }
  // Every task is permuted (task 0 too), and the permutations differ.
  const p0 = pixelPermutation(seq.config, 0);
  const p1 = pixelPermutation(seq.config, 1);
  assert.notDeepEqual(
    Array.from(p0),
    Array.from({ length: 784 }, (_, i) => i),
  );
  assert.notDeepEqual(Array.from(p0), Array.from(p1));
  seq.dispose();
  seq.dispose(); // idempotent
  assert.equal(tf.memory().numTensors, before, 'dispose frees every tensor');
});

test(
  'permutedMnist: seeded, stable when adding tasks, permuteFirst false, ' +
    'unflattened, subsampled',
  () => {
    const mnist = fakeMnist();
    const start = tf.memory().numTensors;
    const a = permutedMnist(mnist, { numTasks: 2, seed: 1 });
    const b = permutedMnist(mnist, { numTasks: 3, seed: 1 });
    const c = permutedMnist(mnist, { numTasks: 2, seed: 2 });
    assert.deepEqual(a.tasks[1]!.train.x.dataSync(), b.tasks[1]!.train.x.dataSync());
    assert.notDeepEqual(a.tasks[1]!.train.x.dataSync(), c.tasks[1]!.train.x.dataSync());
    [a, b, c].forEach((s) => s.dispose());

    const d = permutedMnist(mnist, { numTasks: 2, seed: 1, permuteFirst: false, flatten: false });
    assert.deepEqual(d.inputShape, [28, 28, 1]);
    assert.deepEqual(d.tasks[0]!.train.x.shape, [50, 28, 28, 1]);
    close(d.tasks[0]!.train.x.dataSync().subarray(784 * 4, 784 * 5), row(mnist.train, 4));
    assert.equal(d.tasks[0]!.name, 'MNIST');
    d.dispose();

    const e = permutedMnist(mnist, { numTasks: 2, seed: 1, trainPerTask: 8, testPerTask: 5 });
    const e2 = permutedMnist(mnist, { numTasks: 2, seed: 1, trainPerTask: 8, testPerTask: 5 });
    assert.equal(e.tasks[0]!.train.count, 8);
    assert.deepEqual(e.tasks[1]!.test.x.shape, [5, 784]);
    assert.deepEqual(e.tasks[1]!.train.x.dataSync(), e2.tasks[1]!.train.x.dataSync());
    // Subsampled rows are real rows, permuted like the full task.
    const full = permutedMnist(mnist, { numTasks: 2, seed: 1 });
    const fullRows = (full.tasks[1]!.train.x.arraySync() as number[][]).map((r) => r.join(','));
    for (const r of e.tasks[1]!.train.x.arraySync() as number[][])
      assert.ok(fullRows.includes(r.join(',')));
    [e, e2, full].forEach((s) => s.dispose());
    assert.equal(tf.memory().numTensors, start, 'no tensor left behind');
  },
);

test('permutedMnist: task/class scenarios give each task its own block of 10 outputs', () => {
  for (const scenario of ['task', 'class'] as const) {
    const seq = permutedMnist(fakeMnist(), { numTasks: 3, seed: 0, scenario });
    assert.equal(seq.numOutputs, 30);
    assert.deepEqual(seq.tasks[2]!.classes, [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    assert.deepEqual(Array.from(seq.tasks[2]!.train.y.dataSync()).slice(0, 3), [20, 21, 22]);
    seq.dispose();
  }
});

test('permutedMnist: bad configs are rejected by name', () => {
  assert.throws(() => permutedMnist(fakeMnist(), { numTasks: 0 }), /numTasks/);
  assert.throws(
    () => permutedMnist(fakeMnist(), { numTasks: 2, scenario: 'foo' as never }),
    /scenario/,
  );
  assert.throws(() => permutedMnist(fakeMnist(), { numTasks: 2, trainPerTask: 0 }), /trainPerTask/);
  const broken = { ...fakeMnist(), train: { ...fakeSplit(5), count: 6 } };
  assert.throws(() => permutedMnist(broken, { numTasks: 1 }), /mnist\.train/);
});

test('splitMnist: class-IL tasks of digit pairs with global labels', () => {
  const mnist = fakeMnist();
  const before = tf.memory().numTensors;
  const seq = splitMnist(mnist, { scenario: 'class' });
  assert.equal(seq.name, 'splitMNIST');
  assert.equal(seq.numOutputs, 10);
  assert.equal(seq.tasks.length, 5);
  seq.tasks.forEach((task, t) => {
    assert.deepEqual(task.classes, [2 * t, 2 * t + 1]);
    assert.equal(task.name, `digits ${2 * t}/${2 * t + 1}`);
    // Labels i mod 10: 50 train images give 5 of each digit, so 10 per task.
    assert.equal(task.train.count, 10);
    assert.equal(task.test.count, 6);
    const y = Array.from(task.train.y.dataSync());
    assert.ok(y.every((v) => v === 2 * t || v === 2 * t + 1));
  });
  // Rows are the right images, in data-set order: task 1 = images 2,3,12,13,...
  const x = seq.tasks[1]!.train.x.arraySync() as number[][];
  close(x[0] as number[], row(mnist.train, 2));
  close(x[3] as number[], row(mnist.train, 13));
  seq.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('splitMnist: domain-IL labels are the within-pair index; task-IL keeps global labels', () => {
  const dom = splitMnist(fakeMnist(), { scenario: 'domain', flatten: false });
  assert.equal(dom.numOutputs, 2);
  assert.deepEqual(dom.inputShape, [28, 28, 1]);
  assert.deepEqual(dom.tasks[3]!.classes, [0, 1]);
  assert.deepEqual(Array.from(dom.tasks[3]!.train.y.dataSync()).slice(0, 4), [0, 1, 0, 1]);
  dom.dispose();
  const task = splitMnist(fakeMnist(), { scenario: 'task' });
  assert.equal(task.numOutputs, 10);
  assert.deepEqual(Array.from(task.tasks[3]!.train.y.dataSync()).slice(0, 2), [6, 7]);
  task.dispose();
});

test('splitMnist: class order (explicit and seeded random) and subsampling', () => {
  const order = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
  const seq = splitMnist(fakeMnist(), { scenario: 'class', classOrder: order });
  assert.equal(seq.tasks[0]!.name, 'digits 9/8');
  // Digit 9 is output 0, digit 8 is output 1: images 8, 9, 18, 19 -> labels 1, 0, 1, 0.
  assert.deepEqual(Array.from(seq.tasks[0]!.train.y.dataSync()).slice(0, 4), [1, 0, 1, 0]);
  seq.dispose();
  const r1 = splitClassOrder({ classOrder: 'random', seed: 3 });
  assert.deepEqual(r1, splitClassOrder({ classOrder: 'random', seed: 3 }));
  assert.deepEqual(
    [...r1].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.notDeepEqual(r1, splitClassOrder({ classOrder: 'random', seed: 4 }));
  assert.throws(
    () =>
      splitMnist(fakeMnist(), { scenario: 'class', classOrder: [0, 0, 1, 2, 3, 4, 5, 6, 7, 8] }),
    /classOrder/,
  );
  const sub = splitMnist(fakeMnist(), {
    scenario: 'class',
    trainPerTask: 4,
    testPerTask: 3,
    seed: 7,
  });
  assert.equal(sub.tasks[2]!.train.count, 4);
  assert.equal(sub.tasks[2]!.test.count, 3);
  assert.ok(Array.from(sub.tasks[2]!.train.y.dataSync()).every((v) => v === 4 || v === 5));
  sub.dispose();
});

test('activeOutputs: per scenario, for training and evaluation', () => {
  const cls = splitMnist(fakeMnist(), { scenario: 'class', trainPerTask: 2, testPerTask: 2 });
  assert.deepEqual(activeOutputs(cls, 0, 'train'), [0, 1]);
  assert.deepEqual(activeOutputs(cls, 2, 'train'), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(activeOutputs(cls, 0, 'eval', 2), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(activeOutputs(cls, 3, 'eval', 1), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.throws(() => activeOutputs(cls, 5, 'train'), /taskIndex 5/);
  cls.dispose();
  const task = splitMnist(fakeMnist(), { scenario: 'task', trainPerTask: 2, testPerTask: 2 });
  assert.deepEqual(activeOutputs(task, 3, 'train'), [6, 7]);
  assert.deepEqual(activeOutputs(task, 3, 'eval', 4), [6, 7]);
  task.dispose();
  const dom = splitMnist(fakeMnist(), { scenario: 'domain', trainPerTask: 2, testPerTask: 2 });
  assert.deepEqual(activeOutputs(dom, 4, 'train'), [0, 1]);
  dom.dispose();
});

test('logitMask + withMask: inactive outputs never win the argmax, active logits unchanged', () => {
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const logits = tf.tensor2d([
      [1, 9, 2, 3],
      [5, 0, 0, 1],
    ]);
    const masked = withMask(logits, logitMask(4, [0, 2]));
    return [masked.argMax(1).arraySync(), masked.arraySync()] as const;
  });
  assert.deepEqual(out[0], [2, 0]);
  assert.ok(out[1][0]![1]! < -1e8);
  assert.equal(out[1][0]![0], 1);
  assert.equal(out[1][1]![2], 0);
  assert.equal(logitMask(4, [0, 1, 2, 3]), null);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => logitMask(3, [3]), /outside/);
});

test('mnistTo32x32x3 and domainSequence: MNIST and a 32x32x3 domain with 10 shared outputs', () => {
  const grey = fakeSplit(6);
  const conv = mnistTo32x32x3(grey, { batchSize: 4 });
  assert.deepEqual(conv.shape, [32, 32, 3]);
  assert.equal(conv.images.length, 6 * 32 * 32 * 3);
  // A constant image stays constant; channels are copies.
  const flat: ImageSplit = {
    count: 1,
    shape: [28, 28, 1],
    images: new Uint8Array(784).fill(77),
    labels: new Uint8Array([3]),
    numClasses: 10,
  };
  assert.ok(mnistTo32x32x3(flat).images.every((v) => v === 77));
  for (let p = 0; p < 32 * 32; p++) {
    assert.equal(conv.images[3 * p], conv.images[3 * p + 1]);
    assert.equal(conv.images[3 * p], conv.images[3 * p + 2]);
  }
  const other = {
    name: 'other',
    train: fakeSplit(8, [32, 32, 3], (i) => (i * 3) % 10),
    test: fakeSplit(4, [32, 32, 3]),
  };
  const before = tf.memory().numTensors;
  const seq = domainSequence(
    [{ name: 'MNIST32', train: conv, test: mnistTo32x32x3(fakeSplit(3)) }, other],
    { name: 'MNIST2other' },
  );
  assert.equal(seq.numOutputs, 10);
  assert.equal(seq.scenario, 'domain');
  assert.deepEqual(seq.inputShape, [32, 32, 3]);
  assert.deepEqual(seq.tasks[1]!.train.x.shape, [8, 32, 32, 3]);
  assert.deepEqual(Array.from(seq.tasks[1]!.train.y.dataSync()).slice(0, 4), [0, 3, 6, 9]);
  assert.deepEqual(activeOutputs(seq, 1, 'train'), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  seq.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(
    () => domainSequence([{ name: 'a', train: grey, test: grey }, other], { name: 'x' }),
    /28x28x1.*mnistTo32x32x3|32x32x3.*28x28x1/,
  );
});
