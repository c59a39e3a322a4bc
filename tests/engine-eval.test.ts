import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-node';
import type { Classifier, Scenario, TaskSequence } from '../lib/engine/types';
import {
  averageAccuracy,
  averageAccuracyCurve,
  backwardTransfer,
  checkAccuracyMatrix,
  computeMetrics,
  evaluate,
  forgetting,
  forwardTransfer,
  withRow,
} from '../lib/engine/eval';

const near = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, msg ?? `${a} != ${b}`);

// Hand-computed (see the comments) — R[i][j]: accuracy on task j after training on task i.
const R1 = [
  [0.9, 0.1, 0.2],
  [0.6, 0.8, 0.3],
  [0.5, 0.7, 0.95],
];
const b1 = [0.1, 0.2, 0.1];

test('metrics of a 3x3 matrix, computed by hand', () => {
  near(averageAccuracy(R1), (0.5 + 0.7 + 0.95) / 3); // 0.71666...
  near(averageAccuracy(R1, 0), 0.9);
  near(averageAccuracy(R1, 1), (0.6 + 0.8) / 2);
  assert.deepEqual(
    averageAccuracyCurve(R1).map((v) => v.toFixed(6)),
    ['0.900000', '0.700000', '0.716667'],
  );
  near(backwardTransfer(R1), (0.5 - 0.9 + (0.7 - 0.8)) / 2); // -0.25
  near(forwardTransfer(R1, b1), (0.1 - 0.2 + (0.3 - 0.1)) / 2); // 0.05
  near(forgetting(R1), (0.9 - 0.5 + (0.8 - 0.7)) / 2); // 0.25
});

test('forgetting uses the best earlier accuracy, not the diagonal (differs from -BWT)', () => {
  const R = [
    [0.9, 0.0, 0.0],
    [0.95, 0.8, 0.0],
    [0.6, 0.9, 0.7],
  ];
  near(backwardTransfer(R), -0.1); // ((0.6-0.9) + (0.9-0.8)) / 2
  near(forgetting(R), 0.125); // ((0.95-0.6) + (0.8-0.9)) / 2
  near(averageAccuracy(R), 2.2 / 3);
});

test('partial matrices use the last row; one row gives NaN transfer/forgetting', () => {
  const partial = R1.slice(0, 2);
  near(averageAccuracy(partial), 0.7);
  near(backwardTransfer(partial), -0.3);
  near(forgetting(partial), 0.3);
  near(forwardTransfer(partial, b1), -0.1);
  const one = R1.slice(0, 1);
  assert.ok(Number.isNaN(backwardTransfer(one)));
  assert.ok(Number.isNaN(forgetting(one)));
  assert.ok(Number.isNaN(forwardTransfer(one, b1)));
  const m = computeMetrics(R1);
  near(m.averageAccuracy, 2.15 / 3);
  assert.ok(Number.isNaN(m.forwardTransfer));
  near(computeMetrics(R1, b1).forwardTransfer, 0.05);
});

test('accuracy matrix helpers validate and never mutate', () => {
  assert.throws(() => checkAccuracyMatrix([]), /at least one row/);
  assert.throws(() => checkAccuracyMatrix([[0.5, 0.2], [0.1]]), /row 1 has 1/);
  assert.throws(() => checkAccuracyMatrix([[0.5, 1.2]]), /R\[0\]\[1\]/);
  assert.throws(() => checkAccuracyMatrix([[0.5], [0.5]]), /2 rows but only 1/);
  assert.throws(() => forwardTransfer(R1, [0.1]), /baseline/);
  const a = withRow([], 0, [0.5, 0.1]);
  const b = withRow(a, 1, [0.4, 0.9]);
  assert.equal(a.length, 1);
  assert.deepEqual(b, [
    [0.5, 0.1],
    [0.4, 0.9],
  ]);
  assert.throws(() => withRow(a, 3, [0, 0]), /in order/);
});

/** A hand-made sequence: 2 tasks, 4 outputs, inputs are the logits themselves (x has 4 columns). */
function fakeSequence(scenario: Scenario): TaskSequence {
  const t0x = tf.tensor2d([
    [1, 0, 5, 0],
    [0, 1, 0, 0],
    [1, 0, 0, 0],
    [0, 2, 0, 9],
  ]);
  const t0y = tf.tensor1d([0, 1, 1, 1], 'int32');
  const t1x = tf.tensor2d([
    [0, 0, 1, 0],
    [0, 0, 0, 1],
    [3, 0, 1, 2],
  ]);
  const t1y = tf.tensor1d([2, 3, 3], 'int32');
  const data = (x: Tensor, y: typeof t0y) => ({ x, y, count: y.shape[0] });
  return {
    name: 'fake',
    scenario,
    inputShape: [4],
    numOutputs: 4,
    tasks: [
      { index: 0, name: 'a', classes: [0, 1], train: data(t0x, t0y), test: data(t0x, t0y) },
      { index: 1, name: 'b', classes: [2, 3], train: data(t1x, t1y), test: data(t1x, t1y) },
    ],
    dispose: () => tf.dispose([t0x, t0y, t1x, t1y]),
  };
}
const identity: Classifier = { predict: (x: Tensor) => x.clone() as Tensor2D };

test('evaluate: masks per scenario, batches, and leaks nothing', async () => {
  const cls = fakeSequence('class');
  const before = tf.memory().numTensors;
  // After task 0 (outputs {0,1}): task 0 argmax [0,1,0,1] vs y [0,1,1,1] -> 3/4.
  assert.deepEqual(await evaluate(identity, cls, { upToTask: 0, batchSize: 3 }), [0.75]);
  // After task 1 (all outputs): task 0 argmax [2,1,0,3] -> 1/4;
  // task 1 argmax [2,3,0] vs [2,3,3] -> 2/3.
  assert.deepEqual(await evaluate(identity, cls, { batchSize: 3 }), [0.25, 2 / 3]);
  // Row 0 of R including the future task 1 (its own classes are unmasked): task 1 -> 2/3.
  assert.deepEqual(await evaluate(identity, cls, { trainedUpTo: 0, batchSize: 1 }), [0.75, 2 / 3]);
  assert.deepEqual(await evaluate(identity, cls, { upToTask: 0, maxPerTask: 2 }), [1]);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  cls.dispose();

  const task = fakeSequence('task');
  // Task-IL: task 0 always {0,1} -> 3/4; task 1 {2,3}: argmax [2,3,3] -> 3/3.
  assert.deepEqual(await evaluate(identity, task, { batchSize: 2 }), [0.75, 1]);
  task.dispose();
  const dom = fakeSequence('domain');
  assert.deepEqual(await evaluate(identity, dom, { batchSize: 100 }), [0.25, 2 / 3]);
  await assert.rejects(
    evaluate({ predict: (x) => tf.zeros([x.shape[0], 3]) as Tensor2D }, dom),
    /expected \[4, 4\]/,
  );
  await assert.rejects(evaluate(identity, dom, { upToTask: 2 }), /upToTask 2/);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks after errors');
  dom.dispose();
});
