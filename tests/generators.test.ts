/**
 * Tests of lib/engine/generators.ts: a generator step changes only the generator, WGAN-GP's
 * gradient penalty, and no tensor leak in any model's step.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { Tensor1D } from '@tensorflow/tfjs-node';
import {
  buildCnnSolver,
  buildGenerator,
  buildSolver,
  buildWganGp,
  createGeneratorTrainer,
  createScholar,
  createSolverTrainer,
  createWganGpTrainer,
  presets,
  snapshotScholar,
} from '../lib/engine';
import {
  tiny,
  paramValues,
  maxAbsDiff,
  assertNoLeak,
  solverBatch,
  disposeSolverBatch,
} from './engine-helpers';

test(
  'training steps: a generator step changes only the generator, ' + 'a solver step only the solver',
  async () => {
    for (const genCfg of [
      tiny().generator!,
      { ...presets.wganGp('mlp'), hidden: [16, 16], latent: 4, criticSteps: 2 },
    ]) {
      const cfg = tiny();
      const solver = buildSolver(cfg.solver, [20], 4, 1);
      const gen = buildGenerator(genCfg, [20], 2);
      const scholar = createScholar(gen, solver);
      const st = createSolverTrainer(solver);
      const gt = createGeneratorTrainer(gen);
      const x = tf.randomUniform([16, 20], 0, 1, 'float32', 4);
      const snap = async (): Promise<Float32Array[]> =>
        Promise.all([solver.params, ...Object.values(gen.params)].map(paramValues));
      try {
        const s0 = await snap();
        tf.dispose(Object.values(gt.step(x, null, 1)));
        const s1 = await snap();
        assert.deepEqual(s1[0], s0[0], `${genCfg.kind} step left the solver unchanged`);
        for (let i = 1; i < s0.length; i++)
          assert.ok(
            maxAbsDiff(s1[i] as Float32Array, s0[i] as Float32Array) > 0,
            `${genCfg.kind} step changed generator part ${i}`,
          );
        const b = solverBatch(x, 4, 1);
        st.step(b)?.dispose();
        disposeSolverBatch(b);
        const s2 = await snap();
        assert.ok(
          maxAbsDiff(s2[0] as Float32Array, s1[0] as Float32Array) > 0,
          'solver step changed the solver',
        );
        for (let i = 1; i < s0.length; i++)
          assert.deepEqual(s2[i], s1[i], `solver step left generator part ${i} unchanged`);
      } finally {
        x.dispose();
        st.dispose();
        gt.dispose();
        scholar.dispose();
      }
    }
  },
);

test(
  'WGAN-GP: ' + 'the gradient penalty is differentiated (second order) and the critic learns',
  async () => {
    const cfg = {
      ...presets.wganGp('mlp'),
      hidden: [16, 16],
      latent: 4,
      criticSteps: 1,
      generatorOptimizer: tiny().solver.optimizer,
      criticOptimizer: tiny().solver.optimizer,
    };
    const run = async (gpWeight: number): Promise<Float32Array> => {
      const g = buildWganGp({ ...cfg, gpWeight }, [20], 1);
      const t = createWganGpTrainer(g);
      const x = tf.randomUniform([16, 20], 0, 1, 'float32', 4);
      tf.dispose(Object.values(t.criticStep(x, null, 1)));
      const out = await paramValues(g.params.critic!);
      x.dispose();
      t.dispose();
      g.dispose();
      return out;
    };
    const [a, b] = [await run(0), await run(10)];
    assert.ok(
      maxAbsDiff(a, b) > 0,
      'λ changes the critic update, so the penalty reaches the critic weights',
    );
  },
);

test('no tensor leak over 20 iterations of every step', () => {
  const cfg = tiny();
  const solver = buildSolver(cfg.solver, [20], 4, 1);
  const cnn = buildCnnSolver(
    { kind: 'cnn', channels: [4], hidden: 8, init: 'torch', optimizer: cfg.solver.optimizer },
    [8, 8, 1],
    4,
    1,
  );
  const vae = buildGenerator(cfg.generator!, [20], 2);
  const wm = buildWganGp(
    { ...presets.wganGp('mlp'), hidden: [8, 8], latent: 4, criticSteps: 1 },
    [20],
    3,
  );
  const wc = buildWganGp(
    { ...presets.wganGp('dcgan'), hidden: [2, 4], latent: 4, criticSteps: 1 },
    [8, 8, 1],
    3,
  );
  const scholar = createScholar(vae, solver);
  const frozen = snapshotScholar(scholar);
  const st = createSolverTrainer(solver);
  const ct = createSolverTrainer(cnn);
  const vt = createGeneratorTrainer(vae);
  const wmt = createWganGpTrainer(wm);
  const wct = createWganGpTrainer(wc);
  const x = tf.randomUniform([8, 20], 0, 1, 'float32', 1);
  const xi = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 1);
  const b = solverBatch(x, 4, 1);
  const bi = solverBatch(xi, 4, 1);
  const w = tf.fill([8], 1 / 8) as Tensor1D;
  try {
    assertNoLeak('MLP solver step', () => st.step(b)?.dispose());
    assertNoLeak('MLP solver step without loss', () => assert.equal(st.step(b, false), null));
    assertNoLeak('CNN solver step', () => ct.step(bi)?.dispose());
    assertNoLeak('VAE step', (i) => tf.dispose(Object.values(vt.step(x, w, i))));
    assertNoLeak('VAE step without loss', (i) =>
      tf.dispose(Object.values(vt.step(x, null, i, false))),
    );
    assertNoLeak('WGAN-GP (mlp) critic step', (i) => {
      const l = wmt.criticStep(x, null, i);
      assert.ok(
        Object.values(l).every((t) => !t.isDisposed && Number.isFinite(t.dataSync()[0])),
        'critic losses are readable',
      );
      tf.dispose(Object.values(l));
    });
    assertNoLeak('WGAN-GP (mlp) generator step', (i) =>
      tf.dispose(Object.values(wmt.generatorStep(8, i))),
    );
    assertNoLeak('WGAN-GP (dcgan) full step', (i) => tf.dispose(Object.values(wct.step(xi, w, i))));
    assertNoLeak('replay sampling', (i) => {
      const s = frozen.sample(8, { seed: i, temperature: 2 });
      tf.dispose([s.x, s.y, s.probs!]);
    });
    assertNoLeak('predict', () => tf.dispose([solver.predict(x), frozen.solver.predict(x)]));
  } finally {
    disposeSolverBatch(b);
    disposeSolverBatch(bi);
    tf.dispose([x, xi, w]);
    [st, ct, vt, wmt, wct].forEach((t) => t.dispose());
    frozen.dispose();
    scholar.dispose();
    [cnn, wm, wc].forEach((m) => m.dispose());
  }
});
