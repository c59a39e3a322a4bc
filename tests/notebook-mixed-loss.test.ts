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
  ratioSweepStats,
  runRatioSweep,
  type RatioRun,
} from '../lib/notebook/mixed-loss';
import { blobSequence, tinyConfig } from './fixtures';

const near = (a: number, b: number, msg?: string): void =>
  assert.ok(Math.abs(a - b) < 1e-12, msg ?? `${a} != ${b}`);

test('effectiveTaskWeights: r = 1/t weighs every task equally; a constant r decays old tasks geometrically', () => {
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
});

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

test('runRatioSweep: r = 1 learns the new task and forgets the old; r = 0 never learns it; records equal trainSequence', async () => {
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
    assert.deepEqual(direct.accuracy, r1.accuracy, 'the sweep reports what trainSequence measures');
  } finally {
    seq.dispose();
  }
});

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

test('ratioSweepStats: mean ± sd per r over seeds; describeRatioSweep says what the numbers show', () => {
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
});
