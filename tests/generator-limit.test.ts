/**
 * Tests of notebook 08's pieces: the generator's own budget (`generatorIterations`: validated,
 * counted, default unchanged, in the run name and the checkpoint's identity), runExperiment's
 * final samples, the Fréchet distance against hand-computed values, the judge's view of samples
 * and the fit of quality against accuracy. Tiny models on synthetic data; the file runs in seconds.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { Tensor2D } from '@tensorflow/tfjs-node';
import {
  CheckpointError,
  ConfigError,
  presets,
  runName,
  runNameParts,
  trainSequence,
  validateConfig,
  type Classifier,
} from '../lib/engine';
import { frechetDistance } from '../lib/notebook/chain';
import { checkpointDirFor, runExperiment, taskEndsOf } from '../lib/notebook/experiments';
import {
  describeLimit,
  describePair,
  gridQuality,
  limitFit,
  limitPoints,
  qualityAccuracyFigure,
  spearman,
  type LimitRun,
} from '../lib/notebook/generator-limit';
import { blobSequence } from './fixtures';
import { tiny } from './engine-helpers';
import { tempDirs } from './tmp';

const silent = { progress: false } as const;
const tmp = tempDirs('dgr-genlimit-');

test('generatorIterations: validated with errors that name the field', () => {
  const bad: unknown[] = [-1, 1.5, 31, '10', Number.NaN];
  for (const v of bad)
    assert.throws(
      () => validateConfig(tiny({ generatorIterations: v as number })),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.startsWith('config.generatorIterations:') &&
        e.message.includes('0 to iterations (30)'),
      `generatorIterations ${String(v)} must be rejected`,
    );
  assert.throws(
    () =>
      validateConfig(tiny({ generatorIterations: 5, generator: null, replay: { mode: 'exact' } })),
    /config\.generatorIterations: is 5 but config\.generator is null/,
  );
  for (const ok of [0, 1, 30]) validateConfig(tiny({ generatorIterations: ok }));
  validateConfig(tiny()); // absent
});

test(
  'generatorIterations: the generator steps exactly that often per task; ' +
    'the solver is unchanged',
  async () => {
    const seq = blobSequence({ numTasks: 3, perClass: 16, seed: 5 });
    try {
      const n0 = tf.memory().numTensors;
      const absent = await trainSequence(seq, tiny(), silent);
      absent.scholar.dispose();
      const equal = await trainSequence(seq, tiny({ generatorIterations: 30 }), silent);
      equal.scholar.dispose();
      const seven = await trainSequence(seq, tiny({ generatorIterations: 7 }), silent);
      seven.scholar.dispose();
      const zero = await trainSequence(seq, tiny({ generatorIterations: 0 }), silent);
      zero.scholar.dispose();
      assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');

      assert.deepEqual(absent.generatorUpdates, { encoder: 90, decoder: 90 }, '3 tasks × 30');
      assert.deepEqual(
        equal.accuracy,
        absent.accuracy,
        'option equal to iterations = option absent',
      );
      assert.deepEqual(equal.generatorUpdates, absent.generatorUpdates);
      assert.deepEqual(seven.generatorUpdates, { encoder: 21, decoder: 21 }, '3 tasks × 7');
      assert.deepEqual(zero.generatorUpdates, { encoder: 0, decoder: 0 });
      // Task 1 has no replay: the solver's row 0 cannot depend on the generator's budget.
      assert.deepEqual(seven.accuracy[0], absent.accuracy[0]);
      assert.deepEqual(zero.accuracy[0], absent.accuracy[0]);

      const wgan = tiny({
        iterations: 6,
        generatorIterations: 2,
        generator: { ...presets.wganGp('mlp'), hidden: [8, 8], latent: 4, criticSteps: 3 },
      });
      const w = await trainSequence(seq, wgan, silent);
      w.scholar.dispose();
      assert.deepEqual(
        w.generatorUpdates,
        { generator: 6, critic: 18 },
        '3 × 2, and × 3 critic steps',
      );
      const noGen = await trainSequence(
        seq,
        tiny({ generator: null, replay: { mode: 'exact' } }),
        silent,
      );
      noGen.scholar.dispose();
      assert.equal(noGen.generatorUpdates, null);
    } finally {
      seq.dispose();
    }
  },
);

test('generatorIterations: in the run name and the checkpoint identity', async () => {
  const seq = blobSequence({ numTasks: 2, perClass: 16, seed: 5 });
  try {
    const name = (c: Parameters<typeof tiny>[0]) => runName(runNameParts(tiny(c), seq));
    assert.equal(
      name({}),
      `${seq.name}-class-gr-vae-r1overt-s0-iters=30`,
      'absent: names unchanged',
    );
    assert.equal(
      name({ generatorIterations: 7 }),
      `${seq.name}-class-gr-vae-r1overt-s0-genIters=7-iters=30`,
    );
    assert.notEqual(
      checkpointDirFor(seq, tiny({ generatorIterations: 7 })),
      checkpointDirFor(seq, tiny({ generatorIterations: 8 })),
    );
    const dir = tmp();
    const a = await trainSequence(seq, tiny({ generatorIterations: 7 }), {
      ...silent,
      checkpointDir: dir,
      stopAfterTask: 0,
    });
    a.scholar.dispose();
    await assert.rejects(
      trainSequence(seq, tiny({ generatorIterations: 8 }), { ...silent, checkpointDir: dir }),
      (e: unknown) => e instanceof CheckpointError && /generatorIterations/.test(e.message),
    );
    const resumed = await trainSequence(seq, tiny({ generatorIterations: 7 }), {
      ...silent,
      checkpointDir: dir,
    });
    resumed.scholar.dispose();
    assert.equal(resumed.resumedTasks, 1);
    assert.deepEqual(resumed.generatorUpdates, { encoder: 14, decoder: 14 }, 'restored count + 7');
  } finally {
    seq.dispose();
  }
});

test(
  'runExperiment finalSamples: the last generator, labelled over all seen outputs, ' +
    'also after a resume',
  async () => {
    const seq = blobSequence({ numTasks: 2, perClass: 16, seed: 5 });
    try {
      const n0 = tf.memory().numTensors;
      const opts = {
        label: 'GR',
        curveEvery: 0,
        finalSamples: 12,
        imageShape: [20, 1, 1] as const,
        resultsRoot: tmp(),
        checkpoint: tmp(),
      };
      const a = await runExperiment(seq, tiny({ generatorIterations: 5 }), opts);
      const b = await runExperiment(seq, tiny({ generatorIterations: 5 }), opts); // read back
      assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');
      assert.equal(b.resumedTasks, 2);
      const g = a.finalSamples;
      assert.ok(g !== null);
      assert.equal(g.task, 1);
      assert.deepEqual(g.shape, [12, 20, 1, 1]);
      assert.ok(g.labels.every((y) => y >= 0 && y <= 3));
      assert.deepEqual(
        b.finalSamples?.pixels,
        g.pixels,
        'the restored generator gives the same samples',
      );
      const none = await runExperiment(seq, tiny({ generator: null, replay: { mode: 'exact' } }), {
        ...opts,
        checkpoint: false,
      });
      assert.equal(none.finalSamples, null, 'no generator, no samples');
      await assert.rejects(
        runExperiment(seq, tiny(), { ...opts, finalSamples: -1 }),
        /finalSamples/,
      );
    } finally {
      seq.dispose();
    }
  },
);

test('frechetDistance: hand-computed 1-D and 2-D cases', () => {
  // 1-D: a = {0, 2}: μ 1, σ² 2 (n − 1); b = {3, 5, 7}: μ 5, σ² 4.
  // d = (1 − 5)² + 2 + 4 − 2·√(2·4) = 22 − 4√2.
  assert.ok(Math.abs(frechetDistance([0, 2], 2, [3, 5, 7], 3, 1) - (22 - 4 * Math.SQRT2)) < 1e-9);
  // 2-D: a = (±1, 0), (0, ±1): μ 0, Σa = (2/3)·I. b = μ_b ± 1.5·(1, 1), μ_b ± √0.75·(1, −1) with
  // μ_b = (1, 2): Σb = [[2, 1], [1, 2]] (eigenvalues 3 and 1). With Σa = s·I,
  // Tr((Σa^½ Σb Σa^½)^½) = √s·(√3 + 1), so d = |μ_b|² + 4/3 + 4 − 2·√(2/3)·(√3 + 1).
  const a = [1, 0, -1, 0, 0, 1, 0, -1];
  const h = Math.sqrt(0.75);
  const b = [2.5, 3.5, -0.5, 0.5, 1 + h, 2 - h, 1 - h, 2 + h];
  const want = 5 + 4 / 3 + 4 - 2 * Math.sqrt(2 / 3) * (Math.sqrt(3) + 1);
  assert.ok(Math.abs(frechetDistance(a, 4, b, 4, 2) - want) < 1e-9);
  assert.ok(Math.abs(frechetDistance(b, 4, b, 4, 2)) < 1e-9, 'a set against itself: 0');
  // symmetric in its two arguments
  assert.ok(Math.abs(frechetDistance(b, 4, a, 4, 2) - want) < 1e-9);
});

test(
  'gridQuality: ' + 'the judge sees real-like samples as close to the real images; leaks nothing',
  async () => {
    // A "judge" that reads the first 3 pixels as logits: samples equal to the real set give 0.
    const judge: Classifier = {
      predict: (x) =>
        tf.tidy(() => tf.slice(tf.reshape(x, [x.shape[0], -1]), [0, 0], [-1, 3]) as Tensor2D),
    };
    const rows = 30;
    const px = new Float32Array(rows * 4).map((_, i) => ((i * 7919) % 101) / 101);
    const real = tf.tensor2d(px, [rows, 4]);
    const n0 = tf.memory().numTensors;
    const same = await gridQuality(
      judge,
      { task: 0, shape: [rows, 2, 2, 1], pixels: px, labels: [] },
      real,
    );
    const shifted = px.map((v) => v + 1);
    const off = await gridQuality(
      judge,
      { task: 0, shape: [rows, 2, 2, 1], pixels: shifted, labels: [] },
      real,
    );
    assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');
    real.dispose();
    assert.ok(same.frechetLogits < 1e-6);
    assert.ok(Math.abs(off.frechetLogits - 3) < 1e-4, 'a shift of 1 in 3 logits: ‖Δμ‖² = 3');
    assert.equal(same.classShares.length, 3);
  },
);

test('spearman, limitPoints, limitFit and describeLimit on hand-made runs', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 2, 3, 4]) - 0.9486832980505138) < 1e-12);
  const q = (f: number) => ({
    judgeConfidence: 0.9,
    classShares: [],
    classBalance: 1,
    frechetLogits: f,
  });
  const runs: LimitRun[] = [];
  const add = (generator: string, budget: number | null, f: number, accs: number[]) =>
    accs.forEach((accuracy, seed) =>
      runs.push({ generator, budget, seed, accuracy, quality: q(f) }),
    );
  add('VAE', 10, 100, [0.3, 0.32]);
  add('VAE', 100, 10, [0.6, 0.62]);
  add('VAE', 1000, 1, [0.9, 0.92]);
  add('exact', null, 0.1, [0.95, 0.97]);
  const points = limitPoints(runs);
  assert.equal(points.length, 4);
  assert.equal(points[0]?.seeds, 2);
  assert.ok(Math.abs((points[0]?.accuracy.mean ?? 0) - 0.31) < 1e-12);
  const fit = limitFit(points);
  assert.equal(fit.best.budget, 1000);
  assert.ok(Math.abs(fit.gapPoints - 5) < 1e-9, '96 − 91 points');
  assert.equal(fit.rho, -1);
  // accuracy = 0.91 − 0.3·log10(F): at F = 0.1 the line gives 1.21
  assert.ok(Math.abs(fit.line.b + 0.3) < 1e-9 && Math.abs(fit.line.a - 0.91) < 1e-9);
  assert.ok(Math.abs(fit.predictedAtReal - 1.21) < 1e-9);
  assert.deepEqual(
    fit.lastStep.map((s) => [s.from, s.to, Math.round(s.points)]),
    [[100, 1000, 30]],
  );
  const text = describeLimit(fit);
  assert.match(text, /Spearman ρ = -1\.00/);
  assert.match(text, /stops 5\.00 points short of exact replay/);
  assert.match(describeLimit(fit, 6), /within 6 points/);
  assert.match(text, /passes 100% before/, 'the line at 121% is not printed as an accuracy');
  assert.match(describeLimit({ ...fit, predictedAtReal: 0.9 }), /gives 90\.00% at the real/);
  const fig = qualityAccuracyFigure(points, 'title');
  assert.equal(fig.data.length, 2, 'one trace per generator kind plus exact replay');
  assert.throws(() => limitFit(points.slice(0, 3)), /no 'exact' point/);
});

test('describePair: whether the closer samples replay better, either way round', () => {
  const point = (generator: string, f: number, acc: number, budget: number | null = 100) => ({
    generator,
    budget,
    seeds: 3,
    accuracy: { mean: acc, sd: 0.01 },
    frechet: { mean: f, sd: 1 },
    confidence: { mean: 0.8, sd: 0 },
    balance: { mean: 0.95, sd: 0 },
  });
  const gan = point('WGAN-GP', 70, 0.86);
  const vae = point('VAE', 140, 0.91);
  const against = describePair(vae, gan);
  assert.equal(against, describePair(gan, vae), 'the order of the arguments does not matter');
  assert.match(against, /^WGAN-GP \(100 it\/task\) draws samples closer .* than VAE/);
  assert.match(against, /\(Fréchet distance 70\.00 vs 140\.00\)/);
  assert.match(against, /yet replays 5\.00 points worse \(86\.00% ± 1\.00 vs 91\.00% ± 1\.00\)/);
  assert.match(against, /the other way round/);
  const along = describePair(point('VAE', 140, 0.8), gan);
  assert.match(along, /and replays 6\.00 points better/);
  assert.match(along, /ranks the two generators as their accuracy does/);
  assert.throws(() => describePair(gan, point('exact', 1, 0.98, null)), /not exact replay/);
});

test(
  'solverIterations: validated; ' + 'the solver steps that often per task, the generator goes on',
  async () => {
    for (const v of [0, -1, 1.5, 31, '10'] as unknown[])
      assert.throws(
        () => validateConfig(tiny({ solverIterations: v as number })),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.startsWith('config.solverIterations:') &&
          e.message.includes('1 to iterations (30)'),
        `solverIterations ${String(v)} must be rejected`,
      );
    const seq = blobSequence({ numTasks: 3, perClass: 16, seed: 5 });
    try {
      const n0 = tf.memory().numTensors;
      const run = async (c: Parameters<typeof tiny>[0]) => {
        const r = await trainSequence(seq, tiny(c), silent);
        r.scholar.dispose();
        return r;
      };
      const absent = await run({});
      const equal = await run({ solverIterations: 30 });
      const twelve = await run({ solverIterations: 12 });
      const short = await run({ iterations: 12 });
      assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');
      assert.deepEqual(
        equal.accuracy,
        absent.accuracy,
        'option equal to iterations = option absent',
      );
      // Task 1 has no replay: 12 solver steps of a 30-iteration task = a 12-iteration task.
      assert.deepEqual(twelve.accuracy[0], short.accuracy[0]);
      assert.notDeepEqual(twelve.accuracy[0], absent.accuracy[0]);
      assert.deepEqual(twelve.generatorUpdates, absent.generatorUpdates, 'the generator goes on');
      assert.match(runName(runNameParts(tiny({ solverIterations: 12 }), seq)), /solverIters=12/);
      assert.doesNotMatch(runName(runNameParts(tiny(), seq)), /solverIters/);
    } finally {
      seq.dispose();
    }
  },
);

test(
  'generatorIterations per task: ' + 'validated against the sequence; each task its own budget',
  async () => {
    const seq = blobSequence({ numTasks: 3, perClass: 16, seed: 5 });
    try {
      assert.throws(
        () => validateConfig(tiny({ generatorIterations: [30, 4] }), seq),
        /config\.generatorIterations: has 2 entries but the sequence has 3 tasks/,
      );
      assert.throws(
        () => validateConfig(tiny({ generatorIterations: [30, 31, 4] })),
        /config\.generatorIterations\[1\]: must be an integer from 0 to iterations \(30\)/,
      );
      assert.throws(() => validateConfig(tiny({ generatorIterations: [] })), /empty array/);
      const n0 = tf.memory().numTensors;
      const run = async (c: Parameters<typeof tiny>[0]) => {
        const r = await trainSequence(seq, tiny(c), { ...silent, curveEvery: 5 });
        r.scholar.dispose();
        return r;
      };
      const cfg = { solverIterations: 10, generatorIterations: [30, 4, 4] };
      const split = await run(cfg);
      const short = await run({ iterations: 10 });
      assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');
      assert.deepEqual(split.generatorUpdates, { encoder: 38, decoder: 38 }, '30 + 4 + 4');
      // Task 1: 10 solver steps in a 30-iteration loop = a 10-iteration task.
      assert.deepEqual(split.accuracy[0], short.accuracy[0]);
      // Loops of 30, then max(10, 4) = 10 and 10 iterations: curve points end at 50.
      assert.deepEqual(taskEndsOf(tiny(cfg), 3), [30, 40, 50]);
      assert.deepEqual(taskEndsOf(tiny(), 3), [30, 60, 90]);
      assert.equal(split.curves.at(-1)?.globalIteration, 50);
      assert.match(runName(runNameParts(tiny(cfg), seq)), /genIters=30_4_4/);
      assert.match(runName(runNameParts(tiny(cfg), seq)), /solverIters=10/);
    } finally {
      seq.dispose();
    }
  },
);
