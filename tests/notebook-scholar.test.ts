/**
 * Tests of lib/notebook/scholar.ts (notebook 02): a fresh solver trained only on a scholar's
 * replay. Tiny models on synthetic Gaussian blobs; the file runs in seconds.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { configWith, createScholar, evaluate, splitMnist, trainSequence } from '../lib/engine';
import { loadMnist } from '../lib/data/mnist';
import {
  labelCounts,
  labelSharesFigure,
  showLabelledImages,
  studentBatch,
  trainStudentSolver,
} from '../lib/notebook/scholar';
import type { MimeBundle } from '../lib/figures/types';
import { blobSequence, flatValues as flat, tinyConfig } from './fixtures';

test(
  'studentBatch: labels are the teacher solver’s argmax (over the active units) ' +
    'on the same inputs',
  async () => {
    const seq = blobSequence({ classesPerTask: 4, seed: 7 });
    const teacher = (await trainSequence(seq, tinyConfig(60), { progress: false })).scholar;
    try {
      for (const inputs of ['generator', 'noise'] as const) {
        for (const active of [undefined, [1, 2]]) {
          const { x, targets } = studentBatch(teacher, inputs, 50, 3, active);
          const [xv, tv] = await Promise.all([x.data(), targets.data()]);
          assert.deepEqual(x.shape, [50, 20]);
          assert.deepEqual(targets.shape, [50, 4]);
          assert.ok(
            xv.every((v) => v >= 0 && v <= 1),
            `${inputs} inputs lie in [0, 1]`,
          );
          const logits = teacher.solver.predict(x);
          const z = await logits.array();
          logits.dispose();
          const units = active ?? [0, 1, 2, 3];
          for (let i = 0; i < 50; i++) {
            const row = z[i] as number[];
            const want = units.reduce(
              (best, c) => ((row[c] as number) > (row[best] as number) ? c : best),
              units[0] as number,
            );
            const got = Array.from(tv.slice(i * 4, i * 4 + 4)).indexOf(1);
            assert.equal(got, want, `${inputs} row ${i}`);
          }
          tf.dispose([x, targets]);
        }
        // Same seed, same batch; another seed, another batch.
        const a = studentBatch(teacher, inputs, 8, 5);
        const b = studentBatch(teacher, inputs, 8, 5);
        const c = studentBatch(teacher, inputs, 8, 6);
        const [av, bv, cv] = await Promise.all([a.x.data(), b.x.data(), c.x.data()]);
        assert.deepEqual(av, bv);
        assert.notDeepEqual(av, cv);
        tf.dispose([a.x, a.targets, b.x, b.targets, c.x, c.targets]);
      }
    } finally {
      teacher.dispose();
      seq.dispose();
    }
  },
);

test('trainStudentSolver: deterministic; the teacher is unchanged; no leaks', async () => {
  const seq = blobSequence({ classesPerTask: 4, seed: 7 });
  const teacher = (await trainSequence(seq, tinyConfig(60), { progress: false })).scholar;
  try {
    const before = await flat(teacher.solver.params);
    const cfg = {
      solver: teacher.solver.config,
      inputs: 'generator' as const,
      iterations: 60,
      batchSize: 32,
      seed: 1,
    };
    const tensorsBefore = tf.memory().numTensors;
    const a = await trainStudentSolver(teacher, cfg, { lossEvery: 25 });
    a.solver.dispose();
    assert.equal(
      tf.memory().numTensors,
      tensorsBefore,
      'trainStudentSolver leaves only the student (disposed here)',
    );
    assert.deepEqual(
      a.losses.map((l) => l.iteration),
      [25, 50, 60],
      'losses every lossEvery steps and at the end',
    );
    assert.ok(a.losses.every((l) => Number.isFinite(l.loss) && l.loss >= 0));
    const s1 = await trainStudentSolver(teacher, cfg);
    const s2 = await trainStudentSolver(teacher, cfg);
    const s3 = await trainStudentSolver(teacher, { ...cfg, seed: 2 });
    try {
      assert.deepEqual(
        await flat(s1.solver.params),
        await flat(s2.solver.params),
        'same seed, same student',
      );
      assert.notDeepEqual(
        await flat(s1.solver.params),
        await flat(s3.solver.params),
        'another seed, another student',
      );
      assert.deepEqual(await flat(teacher.solver.params), before, 'the teacher is not changed');
      assert.equal(s1.solver.trainable, true);
    } finally {
      [s1, s2, s3].forEach((s) => s.solver.dispose());
    }
  } finally {
    teacher.dispose();
    seq.dispose();
  }
});

test(
  'trainStudentSolver on MNIST: replay from the generator teaches far more than noise ' +
    'labelled by the same solver',
  async () => {
    const mnist = await loadMnist();
    const seq = splitMnist(mnist, {
      scenario: 'class',
      classesPerTask: 10,
      trainPerTask: 2000,
      testPerTask: 500,
    });
    const small = configWith(tinyConfig(400), {
      solver: { hidden: [100] },
      generator: { hidden: [100], latent: 16 },
    });
    const teacher = (await trainSequence(seq, small, { progress: false })).scholar;
    try {
      const teacherAcc = (await evaluate(teacher.solver, seq))[0] as number;
      assert.ok(teacherAcc > 0.8, `the teacher learned MNIST (${teacherAcc})`);
      const acc: Record<string, number> = {};
      for (const inputs of ['generator', 'noise'] as const) {
        const s = await trainStudentSolver(teacher, {
          solver: small.solver,
          inputs,
          iterations: 400,
          batchSize: 32,
          seed: 1,
        });
        acc[inputs] = (await evaluate(s.solver, seq))[0] as number;
        s.solver.dispose();
      }
      assert.ok(
        (acc.generator as number) > 0.35,
        `the generator's replay teaches the real task (${acc.generator})`,
      );
      assert.ok(
        (acc.generator as number) > (acc.noise as number) + 0.2,
        `generator ${acc.generator} vs noise ${acc.noise}`,
      );
    } finally {
      teacher.dispose();
      seq.dispose();
    }
  },
);

test('trainStudentSolver: bad settings fail clearly', async () => {
  const seq = blobSequence({ classesPerTask: 4, perClass: 8, seed: 7 });
  const teacher = (await trainSequence(seq, tinyConfig(2), { progress: false })).scholar;
  const noGen = createScholar(null, teacher.solver);
  try {
    const cfg = {
      solver: teacher.solver.config,
      inputs: 'generator' as const,
      iterations: 2,
      batchSize: 4,
      seed: 0,
    };
    await assert.rejects(trainStudentSolver(noGen, cfg), /no generator/);
    await assert.rejects(
      trainStudentSolver(teacher, { ...cfg, iterations: 0 }),
      /iterations must be a positive integer/,
    );
    await assert.rejects(trainStudentSolver(teacher, { ...cfg, batchSize: 1.5 }), /batchSize/);
    await assert.rejects(
      trainStudentSolver(teacher, { ...cfg, inputs: 'pixels' as never }),
      /inputs must be/,
    );
    const s = await trainStudentSolver(noGen, { ...cfg, inputs: 'noise' });
    s.solver.dispose();
  } finally {
    teacher.dispose();
    seq.dispose();
  }
});

test('labelCounts counts each output unit', async () => {
  const y = tf.tensor1d([0, 2, 2, 3, 2, 0], 'int32');
  assert.deepEqual(await labelCounts(y, 5), [2, 0, 3, 1, 0]);
  y.dispose();
  await assert.rejects(labelCounts(tf.tensor1d([0], 'int32'), 0), /numOutputs/);
});

test(
  'showLabelledImages: flat inputs shown as an image grid with their labels; ' +
    'inputs kept; bad shapes fail',
  async () => {
    const shown: MimeBundle[] = [];
    const x = tf.randomUniform([6, 784], 0, 1, 'float32', 1);
    const y = tf.tensor1d([3, 1, 4, 1, 5, 9], 'int32');
    const before = tf.memory().numTensors;
    await showLabelledImages(x, y, { cols: 3, display: (b) => shown.push(b) });
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    assert.equal(x.isDisposed, false);
    assert.equal(shown.length, 2, 'a PNG and the label grid');
    assert.ok('image/png' in (shown[0] as MimeBundle).data);
    assert.equal((shown[1] as MimeBundle).data['text/plain'], '3 1 4\n1 5 9');
    await assert.rejects(
      showLabelledImages(x, y, { imageShape: [32, 32, 3], display: () => undefined }),
      /not n images of 32x32x3/,
    );
    tf.dispose([x, y]);
  },
);

test('labelSharesFigure: replayed and real label shares as two bar traces over the digits', () => {
  const fig = labelSharesFigure([1, 3, 0, 4], [2, 2, 2, 2]);
  assert.deepEqual(
    fig.data.map((t) => [t.type, t.name]),
    [
      ['bar', "replay: S(x'), x' ~ G"],
      ['bar', 'real test set'],
    ],
  );
  assert.deepEqual(fig.data[0]!.x, ['0', '1', '2', '3']);
  assert.deepEqual(fig.data[0]!.y, [0.125, 0.375, 0, 0.5]);
  assert.deepEqual(fig.data[1]!.y, [0.25, 0.25, 0.25, 0.25]);
  const layout = fig.layout as {
    xaxis: { title: { text: string } };
    yaxis: { title: { text: string } };
    width: number;
  };
  assert.equal(layout.xaxis.title.text, 'digit (solver label)');
  assert.equal(layout.yaxis.title.text, 'share');
  assert.ok(layout.width <= 1000);
  assert.throws(() => labelSharesFigure([1, 2], [1, 2, 3]), /same non-zero length/);
  assert.throws(() => labelSharesFigure([0, 0], [1, 1]), /sums to 0/);
});
