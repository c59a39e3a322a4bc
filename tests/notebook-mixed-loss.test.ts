/**
 * Tests of lib/notebook/mixed-loss.ts (notebook 03): task weights under a schedule of ratios r,
 * the first-n-tasks view of a sequence, and the r-sweep over trainSequence runs.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { configWith, presets, replayRatio, trainSequence } from '../lib/engine';
import {
  describeRatioSweep,
  effectiveTaskWeights,
  firstTasks,
  oldShareFigure,
  ratioSweepFigure,
  ratioSweepStats,
  taskWeightsFigure,
  runRatioSweep,
  type RatioRun,
  type RatioStats,
} from '../lib/notebook/mixed-loss';
import { blobSequence, tinyConfig } from './fixtures';

const near = (a: number, b: number, msg?: string): void =>
  assert.ok(Math.abs(a - b) < 1e-12, msg ?? `${a} != ${b}`);

test(
  'effectiveTaskWeights: r = 1/t weighs every task equally; ' +
    'a constant r decays old tasks geometrically',
  () => {
    assert.deepEqual(effectiveTaskWeights([1]), [1]);
    assert.deepEqual(
      effectiveTaskWeights([0.3]),
      [1],
      'the first task has no replay: weight 1 whatever r says',
    );
    const cfg = configWith(presets.splitMnistGR(), { replay: { ratio: 'inverse-task' } });
    const inv = effectiveTaskWeights(Array.from({ length: 10 }, (_, k) => replayRatio(cfg, k)));
    inv.forEach((w, j) => near(w, 0.1, `task ${j}: ${w}`));
    assert.deepEqual(effectiveTaskWeights([1, 0.5, 0.5, 0.5]), [0.125, 0.125, 0.25, 0.5]);
    const c = effectiveTaskWeights([1, 0.2, 0.2, 0.2, 0.2]);
    near(
      c.reduce((a, b) => a + b, 0),
      1,
    );
    for (let j = 1; j < 5; j++) near(c[j] as number, 0.2 * 0.8 ** (4 - j));
    assert.deepEqual(
      effectiveTaskWeights([1, 0, 0]),
      [1, 0, 0],
      'r = 0: the new tasks get no weight',
    );
    assert.throws(() => effectiveTaskWeights([]), /at least one/);
    assert.throws(() => effectiveTaskWeights([1, 1.5]), /ratios\[1\] = 1.5/);
  },
);

test('firstTasks: a view of the first n tasks; bad n fails', () => {
  const seq = blobSequence({ numTasks: 3, perClass: 4 });
  const two = firstTasks(seq, 2);
  assert.equal(two.tasks.length, 2);
  assert.equal(two.tasks[1], seq.tasks[1], 'tasks are shared, not copied');
  assert.equal(two.numOutputs, 6);
  assert.equal(two.name, 'blobs');
  assert.throws(() => firstTasks(seq, 0), /n must be an integer in 1..3/);
  assert.throws(() => firstTasks(seq, 4), /n must be an integer in 1..3/);
  two.dispose();
  assert.ok(seq.tasks[2]?.train.x.isDisposed, 'dispose frees the whole original sequence');
});

test(
  'runRatioSweep: r = 1 learns the new task and forgets the old; r = 0 never learns it; ' +
    'records equal trainSequence',
  async () => {
    const seq = blobSequence({ numTasks: 2 });
    try {
      const base = tinyConfig(80);
      const before = tf.memory().numTensors;
      const runs = await runRatioSweep(seq, base, [0, 1], {
        shareSamples: 400,
        keepSamples: 6,
        extra: { tasks: 2 },
      });
      const [r0, r1] = runs as [(typeof runs)[0], (typeof runs)[0]];
      runs.forEach((r) => r.samples?.x.dispose());
      assert.equal(
        tf.memory().numTensors,
        before,
        'no tensors left behind once the kept samples are disposed',
      );
      assert.deepEqual(
        runs.map((r) => r.ratio),
        [0, 1],
      );
      assert.deepEqual(
        r0.accuracy[0],
        r1.accuracy[0],
        'the first task does not depend on r: same first scholar',
      );
      assert.ok(r1.newAccuracy > 0.9, `r = 1 learns the new task (${r1.newAccuracy})`);
      assert.ok(r0.newAccuracy < 0.1, `r = 0 gives the new task no weight (${r0.newAccuracy})`);
      assert.ok(
        r0.oldAccuracy > r1.oldAccuracy + 0.3,
        `replay keeps the old task (${r0.oldAccuracy} vs ${r1.oldAccuracy})`,
      );
      assert.ok(
        r0.oldShareOfSamples > r1.oldShareOfSamples,
        `the generator's mix follows r (${r0.oldShareOfSamples} vs ${r1.oldShareOfSamples})`,
      );
      assert.equal(r1.samples?.labels.length, 6);
      assert.deepEqual(r1.samples?.x.shape, [6, 20]);
      assert.match(r0.runName, /^blobs-class-gr-vae-r0-s0-iters=80-tasks=2$/);
      assert.match(r1.runName, /-r1-/);
      assert.equal(r0.config.replay.ratio, 0);
      const direct = await trainSequence(seq, configWith(base, { replay: { ratio: 1 } }), {
        progress: false,
      });
      direct.scholar.dispose();
      assert.deepEqual(
        direct.accuracy,
        r1.accuracy,
        'the sweep reports what trainSequence measures',
      );
    } finally {
      seq.dispose();
    }
  },
);

test('runRatioSweep: bad input fails before training', async () => {
  const seq = blobSequence({ numTasks: 2, perClass: 4 });
  try {
    await assert.rejects(runRatioSweep(seq, tinyConfig(1), []), /ratios is empty/);
    await assert.rejects(runRatioSweep(seq, tinyConfig(1), [0.5, 2]), /ratios\[1\] = 2/);
    await assert.rejects(
      runRatioSweep(firstTasks(seq, 1), tinyConfig(1), [0.5]),
      /only matters from the second task/,
    );
  } finally {
    seq.dispose();
  }
});

test(
  'ratioSweepStats: mean ± sd per r over seeds; ' + 'describeRatioSweep says what the numbers show',
  () => {
    const run = (ratio: number, old: number, nu: number): RatioRun =>
      ({
        ratio,
        oldAccuracy: old,
        newAccuracy: nu,
        oldShareOfSamples: 1 - ratio,
      }) as unknown as RatioRun;
    const sweeps = [
      [run(0, 1, 0), run(0.25, 0.9, 0.98), run(0.5, 0.8, 0.99), run(1, 0, 1)],
      [run(0, 1, 0), run(0.25, 0.92, 0.97), run(0.5, 0.82, 0.99), run(1, 0, 1)],
      [run(0, 1, 0), run(0.25, 0.94, 0.99), run(0.5, 0.84, 0.99), run(1, 0, 1)],
    ];
    const stats = ratioSweepStats(sweeps);
    assert.equal(stats.length, 4);
    near(stats[1]!.oldAccuracy.mean, 0.92);
    near(stats[1]!.oldAccuracy.sd, 0.02);
    near(stats[1]!.average.mean, (0.92 + 0.98) / 2);
    assert.equal(stats[1]!.seeds, 3);
    const steady = describeRatioSweep(stats);
    assert.match(
      steady,
      /For r from 0.25 to 0.5 the old task keeps 82.0% to 92.0% \(mean of 3 seeds\)/,
    );
    assert.match(steady, /falls steadily with r, by 10.0 points/);
    // the same means with a large spread between seeds: no claim of a trend
    const noisy = ratioSweepStats([
      [run(0.25, 0.7, 1), run(0.5, 0.9, 1), run(0.75, 0.65, 1)],
      [run(0.25, 0.95, 1), run(0.5, 0.6, 1), run(0.75, 0.95, 1)],
    ]);
    assert.match(
      describeRatioSweep(noisy),
      /do not move in one direction.*no more than twice.*no steady trade-off/,
    );
    assert.match(describeRatioSweep(ratioSweepStats([sweeps[0]!])), /one seed/);
    assert.throws(() => ratioSweepStats([sweeps[0]!, sweeps[1]!.slice(1)]), /same ratios/);
  },
);

const stat = (ratio: number, old: number, nu: number, share: number): RatioStats => ({
  ratio,
  seeds: 3,
  oldAccuracy: { mean: old, sd: 0.01, n: 3 },
  newAccuracy: { mean: nu, sd: 0.02, n: 3 },
  average: { mean: (old + nu) / 2, sd: 0.03, n: 3 },
  oldShareOfSamples: { mean: share, sd: 0.04, n: 3 },
});
const sweepStats = [stat(0, 1, 0, 1), stat(0.5, 0.85, 0.99, 0.48), stat(1, 0, 1, 0)];
const twoTasks = [
  { name: 'digits 0/1', classes: [0, 1] },
  { name: 'digits 2/3', classes: [2, 3] },
];

test('ratioSweepFigure: old, new and average against r with sd bars, r = 1/t marked', () => {
  const fig = ratioSweepFigure(sweepStats, twoTasks, 'Split MNIST (class-IL)');
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['old task (digits 0/1)', 'new task (digits 2/3)', 'average'],
  );
  assert.deepEqual(fig.data[0]!.x, [0, 0.5, 1]);
  assert.deepEqual(fig.data[1]!.y, [0, 0.99, 1]);
  assert.deepEqual((fig.data[2]!.error_y as { array: number[] }).array, [0.03, 0.03, 0.03]);
  const layout = fig.layout as {
    title: { text: string };
    xaxis: { title: { text: string } };
    yaxis: { title: { text: string } };
    shapes: { x0: number }[];
    annotations: { text: string }[];
  };
  assert.equal(
    layout.title.text,
    'Split MNIST (class-IL), 2 tasks: accuracy after task 2 vs. r (mean ± sd, 3 seeds)',
  );
  assert.equal(layout.xaxis.title.text, "r (weight of the new task's real data)");
  assert.equal(layout.yaxis.title.text, 'test accuracy');
  assert.equal(layout.shapes[0]!.x0, 0.5);
  assert.equal(layout.annotations[0]!.text, 'r = 1/t (t = 2)');
  assert.ok((fig.layout?.width ?? Infinity) <= 1000);
  assert.throws(() => ratioSweepFigure([], twoTasks, 'x'), /no ratios/);
  assert.throws(() => ratioSweepFigure(sweepStats, twoTasks.slice(1), 'x'), /at least two/);
});

test('oldShareFigure: the old-class share with sd bars beside the line 1 − r (no bars)', () => {
  const fig = oldShareFigure(sweepStats, twoTasks);
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['G_2 samples labelled 0/1', '1 − r'],
  );
  assert.deepEqual(fig.data[0]!.y, [1, 0.48, 0]);
  assert.deepEqual(fig.data[1]!.y, [1, 0.5, 0]);
  assert.ok('error_y' in fig.data[0]!);
  assert.ok(!('error_y' in fig.data[1]!), 'the ideal line has no error bars');
  const layout = fig.layout as { yaxis: { title: { text: string } }; width: number };
  assert.equal(layout.yaxis.title.text, 'share labelled 0 or 1');
  assert.ok(layout.width <= 1000);
});

test('taskWeightsFigure: one bar trace per schedule over tasks 1..T', () => {
  const fig = taskWeightsFigure([
    { name: 'r = 1/t', weights: effectiveTaskWeights([1, 1 / 2, 1 / 3]) },
    { name: 'r = 0.5', weights: effectiveTaskWeights([0.5, 0.5, 0.5]) },
  ]);
  assert.deepEqual(
    fig.data.map((t) => [t.type, t.name]),
    [
      ['bar', 'r = 1/t'],
      ['bar', 'r = 0.5'],
    ],
  );
  assert.deepEqual(fig.data[0]!.x, [1, 2, 3]);
  assert.deepEqual(fig.data[1]!.y, [0.25, 0.25, 0.5]);
  const layout = fig.layout as { title: { text: string }; xaxis: { title: { text: string } } };
  assert.equal(layout.title.text, 'Weight of each task in the training loss after 3 tasks');
  assert.equal(layout.xaxis.title.text, 'task j');
  assert.ok((fig.layout?.width ?? Infinity) <= 1000);
  assert.throws(
    () =>
      taskWeightsFigure([
        { name: 'a', weights: [1] },
        { name: 'b', weights: [0.5, 0.5] },
      ]),
    /same non-zero number/,
  );
});
