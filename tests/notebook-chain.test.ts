/**
 * Tests of lib/notebook/chain.ts (notebook 04): a chain of scholars, each trained only on the
 * previous one's generative replay, and the sample-quality measures. Tiny models on synthetic
 * Gaussian blobs; the file runs in seconds.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { Tensor } from '@tensorflow/tfjs-node';
import { configWith, createRng, evaluate, presets, trainSequence } from '../lib/engine';
import {
  disposeChain,
  frechetDistance,
  labelAgreement,
  runScholarChain,
  sampleQuality,
  symmetricEigen,
  trainScholarFromReplay,
} from '../lib/notebook/chain';
import { blobSequence, flatValues as flat, tinyConfig } from './fixtures';

test('symmetricEigen: reconstructs the matrix (V diag(λ) Vᵀ = A) and finds known eigenvalues', () => {
  const A = [4, 1, 0, 1, 3, 1, 0, 1, 2];
  const { values, vectors } = symmetricEigen(A, 3);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++)
        s +=
          (vectors[i * 3 + k] as number) * (values[k] as number) * (vectors[j * 3 + k] as number);
      assert.ok(Math.abs(s - (A[i * 3 + j] as number)) < 1e-9, `entry ${i},${j}: ${s}`);
    }
  const sorted = [...symmetricEigen([2, 0, 0, 5], 2).values].sort((a, b) => a - b);
  assert.deepEqual(sorted, [2, 5]);
  assert.throws(() => symmetricEigen([1, 2, 3], 2), /n×n/);
});

test('frechetDistance: 0 for the same set, ‖Δμ‖² for a shift, (σa − σb)² in 1-D', () => {
  const rng = createRng(3);
  const n = 400;
  const d = 3;
  const a = new Float64Array(n * d).map(() => rng.normal());
  assert.ok(frechetDistance(a, n, a, n, d) < 1e-8);
  const shifted = a.map((v, i) => v + (i % d === 0 ? 2 : 0));
  assert.ok(
    Math.abs(frechetDistance(a, n, shifted, n, d) - 4) < 1e-6,
    'a shift of 2 along one axis gives 4',
  );
  const x = new Float64Array(n).map(() => rng.normal());
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const y = x.map((v) => 3 * v);
  assert.ok(Math.abs(frechetDistance(x, n, y, n, 1) - (3 * sd - sd) ** 2 - (2 * mean) ** 2) < 1e-6);
  assert.throws(() => frechetDistance(a, n, a, n - 1, d), /expected/);
});

test('trainScholarFromReplay: learns the teacher’s task from replay alone; teacher unchanged; no tensor leak', async () => {
  const seq = blobSequence({ classesPerTask: 4, repeatClasses: true });
  const run = await trainSequence(seq, tinyConfig(1000), { progress: false });
  const teacher = run.scholar;
  try {
    const before = await flat(teacher.solver.params);
    const n0 = tf.memory().numTensors;
    const student = await trainScholarFromReplay(teacher, tinyConfig(200), {
      generation: 2,
      progress: false,
    });
    const n1 = tf.memory().numTensors;
    student.scholar.dispose();
    assert.equal(
      tf.memory().numTensors,
      n0,
      `tensors: ${n0} before, ${tf.memory().numTensors} after disposing the student`,
    );
    assert.ok(n1 > n0);
    assert.deepEqual(await flat(teacher.solver.params), before, 'the teacher did not change');
    const s2 = await trainScholarFromReplay(teacher, tinyConfig(600), {
      generation: 2,
      progress: false,
    });
    try {
      const [accT] = await evaluate(teacher.solver, seq);
      const [accS] = await evaluate(s2.scholar.solver, seq);
      assert.ok((accT as number) > 0.9, `teacher accuracy ${accT}`);
      assert.ok((accS as number) > 0.75, `student accuracy ${accS} (from replay only)`);
    } finally {
      s2.scholar.dispose();
    }
  } finally {
    teacher.dispose();
    seq.dispose();
  }
  await assert.rejects(
    trainScholarFromReplay(null as never, tinyConfig(1), { generation: 1 }),
    /generation/,
  );
});

test('runScholarChain: same seed, same chain; different seeds differ; bad input is refused', async () => {
  const seq = blobSequence({ classesPerTask: 4, repeatClasses: true });
  try {
    const weights = async (seed: number): Promise<Float32Array[]> => {
      const chain = await runScholarChain(seq, tinyConfig(40, { seed: seed }), {
        generations: 3,
        progress: false,
      });
      try {
        assert.deepEqual(
          chain.map((g) => [g.generation, g.source]),
          [
            [1, 'real data'],
            [2, 'generative replay'],
            [3, 'generative replay'],
          ],
        );
        assert.ok(chain.every((g) => g.scholar.frozen));
        return Promise.all(chain.map((g) => flat(g.scholar.solver.params)));
      } finally {
        disposeChain(chain);
      }
    };
    const n0 = tf.memory().numTensors;
    const a = await weights(0);
    assert.equal(tf.memory().numTensors, n0, 'a disposed chain leaves no tensors');
    const b = await weights(0);
    const c = await weights(1);
    a.forEach((w, k) => assert.deepEqual(w, b[k], `scholar ${k + 1} is deterministic`));
    assert.notDeepEqual(a[2], c[2]);
    await assert.rejects(runScholarChain(seq, tinyConfig(5), { generations: 0 }), /generations/);
    await assert.rejects(
      runScholarChain(seq, configWith(presets.splitMnist('none'), { iterations: 5 }), {
        generations: 2,
      }),
      /generator is null/,
    );
  } finally {
    seq.dispose();
  }
  const two = blobSequence({ classesPerTask: 4, repeatClasses: true, perClass: 16, numTasks: 2 });
  try {
    await assert.rejects(
      runScholarChain(two, tinyConfig(5), { generations: 2 }),
      /exactly one task/,
    );
  } finally {
    two.dispose();
  }
});

test('sampleQuality and labelAgreement: real data scores better than noise; a classifier agrees with itself', async () => {
  const seq = blobSequence({ classesPerTask: 4, repeatClasses: true });
  const run = await trainSequence(seq, tinyConfig(300), { progress: false });
  try {
    const judge = run.scholar.solver;
    const real = seq.tasks[0]?.test.x as Tensor;
    const train = seq.tasks[0]?.train.x as Tensor;
    const noise = tf.randomUniform([128, 20], 0, 1, 'float32', 5);
    const n0 = tf.memory().numTensors;
    const qReal = await sampleQuality(judge, train, real);
    const qNoise = await sampleQuality(judge, noise, real);
    assert.equal(tf.memory().numTensors, n0, 'no tensor leak');
    assert.ok(
      qReal.frechetLogits < qNoise.frechetLogits,
      `FD real ${qReal.frechetLogits} < noise ${qNoise.frechetLogits}`,
    );
    assert.ok(
      qReal.classBalance > 0.95,
      `real data has all 4 classes equally: ${qReal.classBalance}`,
    );
    assert.ok(Math.abs(qReal.classShares.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.equal(await labelAgreement(judge, judge, real), 1);
    noise.dispose();
  } finally {
    run.scholar.dispose();
    seq.dispose();
  }
});
