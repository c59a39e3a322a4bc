/**
 * Tests of lib/notebook/experiments.ts (notebooks 05–07): runs saved under their names, statistics,
 * tables and figures. Tiny models on synthetic 2-task data; the file runs in seconds.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import type { Tensor, Tensor1D } from '@tensorflow/tfjs-node';
import {
  ExperimentConfig,
  Task,
  TaskSequence,
  configWith,
  createRng,
  displayPath,
  loadResults,
  presets,
  trainSequence,
} from '../lib/engine';
import {
  ExperimentRun,
  SPLIT_MNIST_CLASS_IL_REFERENCES,
  accuracyCurvesFigure,
  accuracyHeatmapsFigure,
  averageCurvesFigure,
  firstSamples,
  ReplayGrid,
  samplesAfterTask,
  curveSeriesFromResults,
  formatMeanSd,
  meanSd,
  resultsRootFor,
  runExperiment,
  resumeNote,
  runTimeLine,
  trainingTime,
  checkpointDirFor,
  saveSummaryCsv,
  seenOutputs,
  summaryRows,
} from '../lib/notebook/experiments';

function tiny(
  iterations: number,
  seed = 0,
  mode: 'generative' | 'none' = 'generative',
): ExperimentConfig {
  const base = mode === 'generative' ? presets.splitMnistGR() : presets.splitMnist('none');
  return configWith(base, {
    seed,
    iterations,
    batchSize: 16,
    solver: { hidden: [32] },
    ...(mode === 'generative' ? { generator: { hidden: [32], latent: 4 } } : {}),
    replay: { batchSize: 16 },
  });
}

/** Two class-IL tasks of 2 classes each over 16-dim inputs (4 = 2×2×... shown as 4×4×1 images). */
function twoTasks(): TaskSequence {
  const D = 16;
  const rng = createRng(5);
  const centres = Array.from({ length: 4 }, () => rng.uniformArray(D, 0.1, 0.9));
  const make = (classes: number[], n: number): { x: Tensor; y: Tensor1D; count: number } => {
    const xs = new Float32Array(n * D);
    const ys = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = classes[i % 2] as number;
      ys[i] = c;
      for (let d = 0; d < D; d++)
        xs[i * D + d] = Math.min(
          1,
          Math.max(0, ((centres[c] as Float32Array)[d] as number) + 0.05 * rng.normal()),
        );
    }
    return { x: tf.tensor2d(xs, [n, D]), y: tf.tensor1d(ys, 'int32'), count: n };
  };
  const tasks: Task[] = [
    {
      index: 0,
      name: 'digits 0/1',
      classes: [0, 1],
      train: make([0, 1], 64),
      test: make([0, 1], 32),
    },
    {
      index: 1,
      name: 'digits 2/3',
      classes: [2, 3],
      train: make([2, 3], 64),
      test: make([2, 3], 32),
    },
  ];
  return {
    name: 'twoTasks',
    scenario: 'class',
    inputShape: [D],
    numOutputs: 4,
    tasks,
    dispose: () => tasks.forEach((t) => tf.dispose([t.train.x, t.train.y, t.test.x, t.test.y])),
  };
}

test('meanSd and formatMeanSd: sample sd, single values without ±', () => {
  assert.deepEqual(meanSd([1, 2, 3]), { mean: 2, sd: 1, n: 3 });
  assert.equal(meanSd([5]).sd, 0);
  assert.ok(Number.isNaN(meanSd([]).mean));
  assert.equal(formatMeanSd([0.9, 0.92]), '91.00 ± 1.41');
  assert.equal(formatMeanSd([0.9]), '90.00');
  assert.equal(formatMeanSd([]), '—');
});

test(
  'runExperiment: saves results that load back (matrix, curves), keeps labelled samples, ' +
    'is deterministic, leaks nothing',
  async () => {
    const seq = twoTasks();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-experiments-'));
    try {
      const n0 = tf.memory().numTensors;
      const opts = {
        label: 'GR (VAE)',
        curveEvery: 10,
        samplesPerTask: 6,
        imageShape: [4, 4, 1] as const,
        resultsRoot: root,
        // both calls train (a checkpoint would let the second one read the first)
        checkpoint: false,
      };
      const a = await runExperiment(seq, tiny(30), opts);
      assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');
      const b = await runExperiment(seq, tiny(30), opts);
      assert.deepEqual(a.accuracy, b.accuracy, 'same seed, same accuracy matrix');
      assert.equal(a.runName, 'twoTasks-class-gr-vae-r1overt-s0-iters=30');
      assert.equal(a.samples.length, 2);
      assert.deepEqual(a.samples[0]?.shape, [6, 4, 4, 1]);
      assert.ok(
        a.samples[0]?.labels.every((y) => y === 0 || y === 1),
        'after task 0 the solver labels only classes seen so far',
      );
      assert.ok(a.samples[1]?.labels.every((y) => y >= 0 && y <= 3));
      assert.equal(a.curves.x.length, 2 * (30 / 10 + 1));
      const saved = loadResults(a.runName, { root });
      assert.deepEqual(saved.accuracy, a.accuracy);
      const series = curveSeriesFromResults(saved);
      assert.deepEqual(series.x, a.curves.x);
      assert.deepEqual(series.perTask, a.curves.perTask);
      assert.ok(fs.existsSync(path.join(a.resultsDir, 'accuracy.csv')));
      const none = await runExperiment(seq, tiny(30, 0, 'none'), { ...opts, label: 'None' });
      assert.equal(none.samples.length, 0, 'no generator, no replayed samples');
      const rows = summaryRows([a, b, none]);
      assert.equal(rows.length, 2);
      assert.equal(rows[0]?.seeds, 2);
      assert.match(String(rows[0]?.['average accuracy (%)']), /±/);
      const file = saveSummaryCsv(rows, 'nb07-summary', root);
      assert.match(fs.readFileSync(file, 'utf8'), /^method,scenario/);
      assert.throws(() => saveSummaryCsv(rows, '../x', root), /name/);
    } finally {
      seq.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);

/**
 * runExperiment options of the checkpoint tests: 4 replayed 4×4 samples per task, curves every 10.
 */
const samplingOptions = (root: string) => ({
  label: 'GR (VAE)',
  curveEvery: 10,
  samplesPerTask: 4,
  imageShape: [4, 4, 1] as const,
  resultsRoot: root,
});

test(
  'runExperiment with a checkpoint: an interrupted run resumes (restored tasks not retrained, ' +
    'replayed samples kept) and ends as an uninterrupted one',
  async () => {
    const seq = twoTasks();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-experiments-ck-'));
    try {
      const opts = samplingOptions(root);
      const whole = await runExperiment(seq, tiny(20), { ...opts, checkpoint: false });
      assert.equal(whole.resumedTasks, 0);
      const dir = path.join(root, 'ckpt');
      // Interrupted after task 1: what trainSequence leaves in the folder when the process dies.
      const part = await trainSequence(seq, tiny(20), {
        checkpointDir: dir,
        stopAfterTask: 0,
        curveEvery: 10,
        curveMaxPerTask: 500,
      });
      part.scholar.dispose();
      const n0 = tf.memory().numTensors;
      const resumed = await runExperiment(seq, tiny(20), { ...opts, checkpoint: dir });
      assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');
      assert.equal(resumed.resumedTasks, 1, 'task 1 restored, not retrained');
      assert.deepEqual(
        resumed.accuracy,
        whole.accuracy,
        'same accuracy matrix as without interruption',
      );
      assert.deepEqual(resumed.curves, whole.curves);
      assert.equal(resumed.samples.length, 1, 'task 1 ran outside runExperiment: no samples saved');
      // Run again: everything restored, samples of both tasks read back exactly.
      const again = await runExperiment(seq, tiny(20), { ...opts, checkpoint: dir });
      assert.equal(again.resumedTasks, 2);
      assert.deepEqual(again.accuracy, whole.accuracy);
      assert.equal(again.samples.length, 1);
      assert.deepEqual(again.samples[0]?.pixels, resumed.samples[0]?.pixels);
      assert.deepEqual(again.samples[0]?.labels, resumed.samples[0]?.labels);
      assert.deepEqual(again.samples[0]?.pixels, whole.samples[1]?.pixels);
      // A different config on the same folder is refused, naming what differs.
      await assert.rejects(
        runExperiment(seq, tiny(21), { ...opts, checkpoint: dir }),
        /different run[\s\S]*iterations: 20 → 21/,
      );
      const auto = checkpointDirFor(seq, tiny(20));
      assert.notEqual(
        auto,
        checkpointDirFor(seq, configWith(tiny(20), { solver: { hidden: [33] } })),
      );
      assert.match(
        displayPath(auto),
        /^\.scratch\/checkpoints\/twoTasks-class-gr-vae-r1overt-s0-iters=20-[0-9a-f]{10}$/,
      );
      assert.equal(displayPath(os.tmpdir()), `…/${path.basename(os.tmpdir())}`);
    } finally {
      seq.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);

test(
  "runExperiment sharing first tasks: LwF + GR starts from GR's first task, samples included, " +
    'and ends as if trained alone',
  async () => {
    const seq = twoTasks();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-experiments-first-'));
    try {
      const opts = samplingOptions(root);
      const cache = path.join(root, 'first-tasks');
      const lwfGr = configWith(tiny(20), { lwf: { temperature: 2 } });
      const alone = await runExperiment(seq, lwfGr, { ...opts, checkpoint: false });
      const gr = await runExperiment(seq, tiny(20), {
        ...opts,
        checkpoint: path.join(root, 'gr'),
        shareFirstTask: cache,
      });
      assert.equal(gr.firstTaskFrom, null, 'the first run trains its first task');
      const called = performance.now();
      const shared = await runExperiment(seq, lwfGr, {
        ...opts,
        label: 'LwF + GR (VAE)',
        checkpoint: path.join(root, 'lwf-gr'),
        shareFirstTask: cache,
      });
      const wall = (performance.now() - called) / 1000;
      assert.equal(shared.firstTaskFrom, 'gr');
      assert.equal(shared.resumedTasks, 1);
      assert.deepEqual(shared.accuracy, alone.accuracy, 'R = the run trained alone');
      assert.deepEqual(shared.curves, alone.curves);
      assert.equal(shared.samples.length, 2, "task 1's samples read from the GR run's folder");
      assert.deepEqual(shared.samples[0]?.pixels, gr.samples[0]?.pixels);
      assert.deepEqual(shared.samples[0]?.pixels, alone.samples[0]?.pixels);
      assert.deepEqual(shared.samples[1]?.pixels, alone.samples[1]?.pixels);
      // The reused task's recorded seconds are not added: the run counts only its own wall time
      // (a comparison with `alone.seconds` would depend on the machine's load).
      assert.ok(shared.seconds <= wall, `the reused task is not counted again: ${shared.seconds}`);
      // Read back whole: the samples of every task survive the checkpoints that replaced each
      // other.
      const again = await runExperiment(seq, tiny(20), {
        ...opts,
        checkpoint: path.join(root, 'gr'),
        shareFirstTask: cache,
      });
      assert.equal(again.resumedTasks, 2);
      assert.deepEqual(
        again.samples.map((g) => g.task),
        [0, 1],
      );
      assert.deepEqual(again.samples[0]?.pixels, gr.samples[0]?.pixels);
      // A run that kept no samples, read back with samples asked for: task 1's are drawn again from
      // the first-task checkpoint (the same as the run trained alone); later tasks' cannot be.
      const soft = configWith(tiny(20), { replay: { targets: 'soft', temperature: 2 } });
      const first = await runExperiment(seq, soft, {
        ...opts,
        samplesPerTask: 0,
        checkpoint: path.join(root, 'soft'),
        shareFirstTask: cache,
      });
      assert.equal(first.samples.length, 0);
      const readBack = await runExperiment(seq, soft, {
        ...opts,
        checkpoint: path.join(root, 'soft'),
        shareFirstTask: cache,
      });
      assert.deepEqual(
        readBack.samples.map((g) => g.task),
        [0],
      );
      assert.deepEqual(readBack.samples[0]?.pixels, alone.samples[0]?.pixels);
      await assert.rejects(
        trainSequence(seq, configWith(tiny(20), { seed: 7 }), {
          checkpointDir: path.join(root, 'nothing'),
          firstTaskCache: cache,
          restoreOnly: true,
        }),
        /restoreOnly, but .*holds no checkpoint/,
      );
    } finally {
      seq.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);

test(
  "samplesAfterTask: the first run that kept the task's samples, " + 'by task not by position',
  () => {
    const grid = (task: number) =>
      ({ task, shape: [1, 1, 1, 1], pixels: new Float32Array(1), labels: [task] }) as ReplayGrid;
    const runs = [
      { seed: 0, samples: [grid(1)] }, // read back from an old checkpoint: task 0's samples lost
      { seed: 1, samples: [grid(0), grid(1)] },
    ];
    assert.deepEqual(samplesAfterTask(runs, 0), { grid: runs[1]!.samples[0], seed: 1 });
    assert.deepEqual(samplesAfterTask(runs, 1), { grid: runs[0]!.samples[0], seed: 0 });
    assert.equal(samplesAfterTask(runs, 2), null);
    assert.throws(() => samplesAfterTask(runs, -1), /task must be/);
  },
);

test(
  'seenOutputs: class-IL grows with the tasks; ' +
    'resultsRootFor keeps quick runs out of results/',
  () => {
    const seq = twoTasks();
    try {
      assert.deepEqual(seenOutputs(seq, 0), [0, 1]);
      assert.deepEqual(seenOutputs(seq, 1), [0, 1, 2, 3]);
    } finally {
      seq.dispose();
    }
    if (process.env.DGR_RESULTS_DIR === undefined) {
      assert.notEqual(resultsRootFor('quick'), resultsRootFor('default'));
      assert.match(resultsRootFor('quick'), /\.scratch/);
    }
  },
);

test(
  'figures: heatmaps one panel per matrix in %, curves one trace per task, ' +
    'references carry sources',
  () => {
    const run = {
      label: 'x',
      iterations: 10,
      taskEnds: [10, 20],
      taskNames: ['digits 0/1', 'digits 2/3'],
      curves: {
        x: [0, 10, 10, 20],
        perTask: [
          [0.5, 1, 1, 0.5],
          [0.1, 0, 0.2, 1],
        ],
      },
    } as unknown as ExperimentRun;
    const f = accuracyHeatmapsFigure(
      [
        {
          title: 'A',
          accuracy: [
            [1, 0],
            [0.5, 1],
          ],
          taskNames: run.taskNames,
        },
        { title: 'B', accuracy: [[1, 0]], taskNames: run.taskNames },
      ],
      'R',
    );
    assert.equal(f.data.length, 2);
    assert.deepEqual(f.data[0]?.z, [
      [100, 0],
      [50, 100],
    ]);
    assert.equal(f.data[1]?.xaxis, 'x2');
    assert.throws(() => accuracyHeatmapsFigure([], 'R'), /no panels/);
    const c = accuracyCurvesFigure(run, 'curves');
    assert.equal(c.data.length, 2);
    const boundaries = (c.layout?.shapes as { x0: number }[]).map((sh) => sh.x0);
    assert.deepEqual(boundaries, [10], 'a dotted line where task 1 ends (taskEnds)');
    const uneven = accuracyCurvesFigure({ ...run, taskEnds: [30, 40] }, 'curves');
    assert.deepEqual(
      (uneven.layout?.shapes as { x0: number }[]).map((sh) => sh.x0),
      [30],
    );
    assert.deepEqual(c.data[0]?.y, [50, 100, 100, 50]);
    const avg = averageCurvesFigure([run], 'avg');
    assert.deepEqual(
      avg.data[0]?.y,
      [50, 100, 100, 75],
      'before the boundary only task 0 counts; after it both',
    );
    assert.ok(SPLIT_MNIST_CLASS_IL_REFERENCES.every((r) => r.source.includes('van de Ven')));
  },
);

test('firstSamples: the first n images and labels of a replay grid, the task kept', () => {
  const grid = {
    task: 2,
    shape: [3, 2, 1, 1] as const,
    pixels: Float32Array.from([1, 2, 3, 4, 5, 6]),
    labels: [7, 8, 9],
  };
  const two = firstSamples(grid, 2);
  assert.deepEqual(two.shape, [2, 2, 1, 1]);
  assert.deepEqual([...two.pixels], [1, 2, 3, 4]);
  assert.deepEqual(two.labels, [7, 8]);
  assert.equal(two.task, 2);
  assert.deepEqual(firstSamples(grid, 20).shape, [3, 2, 1, 1], 'all of them when n is larger');
  assert.throws(() => firstSamples(grid, -1), /firstSamples: n must be/);
});

test(
  'runTimeLine: own time and profile; ' + 'the training time of runs read back from checkpoints',
  () => {
    const t0 = 1000;
    assert.equal(
      runTimeLine(t0, [], 'paper', t0 + 90_000),
      'notebook run time 1.5 min (profile paper)',
    );
    const trained = [{ seconds: 600, restored: false }];
    assert.equal(
      runTimeLine(t0, trained, 'default', t0 + 60_000),
      'notebook run time 1.0 min (profile default)',
      'nothing read back: only the own time',
    );
    const mixed = [
      { seconds: 3000, restored: true },
      { seconds: 1200, restored: true },
      { seconds: 60, restored: false },
    ];
    assert.equal(
      runTimeLine(t0, mixed, 'paper', t0 + 78_000),
      'notebook run time 1.3 min (profile paper); the 3 training runs shown took 71.0 min of ' +
        'training when they ran (2 read back from their checkpoints in this execution)',
    );
    assert.throws(() => runTimeLine(t0 + 5, [], 'paper', t0), /startedAt .* before now/);
    assert.deepEqual(trainingTime(mixed), { seconds: 4260, runs: 3, restored: 2 });
    assert.deepEqual(trainingTime([]), { seconds: 0, runs: 0, restored: 0 });
    // runs as runExperiment returns them: restored when any of their own tasks came from their
    // checkpoint; a first task shared with another run (firstTaskFrom) is that run's training
    const asRun = (seconds: number, resumedTasks: number, firstTaskFrom: string | null = null) => ({
      seconds,
      resumedTasks,
      firstTaskFrom,
    });
    const runs = [asRun(3000, 5), asRun(1200, 2, 'other'), asRun(60, 1, 'other')];
    assert.deepEqual(trainingTime(runs), trainingTime(mixed));
    assert.equal(trainingTime([asRun(60, 0)]).restored, 0);
    assert.equal(
      runTimeLine(t0, runs, 'paper', t0 + 78_000),
      runTimeLine(t0, mixed, 'paper', t0 + 78_000),
    );
    // the same rule in a run's printed line
    assert.equal(resumeNote(asRun(60, 0)), '');
    assert.equal(resumeNote(asRun(3000, 5)), ', 5 tasks read from its checkpoint');
    assert.equal(resumeNote(asRun(60, 1, 'other')), ', first task shared with another run');
    assert.equal(
      resumeNote(asRun(1200, 2, 'other')),
      ', first task shared with another run, 1 task read from its checkpoint',
    );
  },
);
