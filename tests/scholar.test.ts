/**
 * Tests of lib/engine/scholar.ts: sampling labels with the solver, frozen snapshots.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import {
  buildGenerator,
  buildSolver,
  createGeneratorTrainer,
  createScholar,
  createSolverTrainer,
  snapshotScholar,
} from '../lib/engine';
import { tiny, values, maxAbsDiff, solverBatch, disposeSolverBatch } from './engine-helpers';

test(
  'scholar: sample labels with the solver; ' +
    'the snapshot is unchanged by training the live scholar',
  async () => {
    const cfg = tiny();
    const solver = buildSolver(cfg.solver, [20], 4, 1);
    const gen = buildGenerator(cfg.generator!, [20], 2);
    const live = createScholar(gen, solver);
    const frozen = snapshotScholar(live);
    const st = createSolverTrainer(solver);
    const gt = createGeneratorTrainer(gen);
    const probe = tf.randomUniform([8, 20], 0, 1, 'float32', 5);
    try {
      assert.ok(frozen.frozen && !live.frozen);
      assert.throws(() => createSolverTrainer(frozen.solver), /frozen/);
      const s = frozen.sample(10, { seed: 3, activeUnits: [0, 1], temperature: 2 });
      assert.deepEqual(s.x.shape, [10, 20]);
      assert.deepEqual(s.y.shape, [10]);
      assert.equal(s.y.dtype, 'int32');
      assert.ok(
        [...(await s.y.data())].every((v) => v === 0 || v === 1),
        'labels restricted to the active units',
      );
      assert.deepEqual(s.probs!.shape, [10, 4]);
      const p = await values(s.probs!);
      assert.ok(p[2] === 0 && p[3] === 0, 'inactive units get no probability');
      const expectY = tf.tidy(() =>
        tf.argMax(tf.add(frozen.solver.predict(s.x), tf.tensor2d([[0, 0, -1e9, -1e9]])), 1),
      );
      assert.deepEqual([...(await s.y.data())], [...(await expectY.data())]);
      tf.dispose([s.x, s.y, s.probs!, expectY]);

      const before = frozen.solver.predict(probe);
      const sampleBefore = frozen.generator!.sample(5, 1);
      const bBefore = await values(before);
      const sBefore = await values(sampleBefore);
      for (let i = 0; i < 5; i++) {
        const x = tf.randomUniform([16, 20], 0, 1, 'float32', 10 + i);
        const b = solverBatch(x, 4, i);
        st.step(b)?.dispose();
        tf.dispose(Object.values(gt.step(x, null, i)));
        disposeSolverBatch(b);
        x.dispose();
      }
      const after = frozen.solver.predict(probe);
      const sampleAfter = frozen.generator!.sample(5, 1);
      assert.deepEqual(await values(after), bBefore, 'frozen solver outputs unchanged');
      assert.deepEqual(await values(sampleAfter), sBefore, 'frozen generator samples unchanged');
      const liveOut = solver.predict(probe);
      assert.ok(maxAbsDiff(await values(liveOut), bBefore) > 0, 'the live solver did change');
      tf.dispose([before, after, sampleBefore, sampleAfter, liveOut]);
    } finally {
      probe.dispose();
      st.dispose();
      gt.dispose();
      frozen.dispose();
      live.dispose();
    }
  },
);
