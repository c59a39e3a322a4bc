/**
 * Tests of the models (lib/engine/solvers.ts and the generators' shapes): output shapes, seeding,
 * and the hand-written backward passes against tf.js autodiff.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-node';
import {
  createVaeTrainer,
  solverLoss,
  type SolverBatch,
  buildCnnSolver,
  buildGenerator,
  buildMlpSolver,
  buildSolver,
  buildVae,
  buildWganGp,
  createSolverTrainer,
  presets,
} from '../lib/engine';
import { tiny, values, paramValues, maxAbsDiff } from './engine-helpers';

test('models: output shapes', () => {
  const mlp = buildMlpSolver(
    { kind: 'mlp', hidden: [32, 16], init: 'torch', optimizer: tiny().solver.optimizer },
    [28, 28, 1],
    10,
    1,
  );
  const cnn = buildCnnSolver(
    {
      kind: 'cnn',
      channels: [4, 8],
      hidden: 16,
      init: 'torch',
      optimizer: tiny().solver.optimizer,
    },
    [32, 32, 3],
    10,
    1,
  );
  const vae = buildVae(
    { kind: 'vae', hidden: [32], latent: 4, init: 'torch', optimizer: tiny().solver.optimizer },
    [784],
    1,
  );
  const wm = buildWganGp({ ...presets.wganGp('mlp'), hidden: [16, 32], latent: 8 }, [784], 1);
  const wc = buildWganGp({ ...presets.wganGp('dcgan'), hidden: [4, 8], latent: 8 }, [32, 32, 3], 1);
  try {
    tf.tidy(() => {
      assert.deepEqual(mlp.predict(tf.zeros([5, 28, 28, 1])).shape, [5, 10]);
      assert.deepEqual(mlp.predict(tf.zeros([5, 784])).shape, [5, 10]);
      assert.deepEqual(cnn.predict(tf.zeros([3, 32, 32, 3])).shape, [3, 10]);
      assert.deepEqual(vae.sample(6, 1).shape, [6, 784]);
      assert.deepEqual(wm.sample(6, 1).shape, [6, 784]);
      const s = wc.sample(2, 1);
      assert.deepEqual(s.shape, [2, 32, 32, 3]);
      const [lo, hi] = [s.min().dataSync()[0] as number, s.max().dataSync()[0] as number];
      assert.ok(lo >= 0 && hi <= 1, 'samples are in [0, 1]');
    });
    assert.throws(
      () =>
        buildCnnSolver(
          {
            kind: 'cnn',
            channels: [4, 8],
            hidden: 16,
            init: 'torch',
            optimizer: tiny().solver.optimizer,
          },
          [784],
          10,
          1,
        ),
      /image inputs/,
    );
  } finally {
    [mlp, cnn, vae, wm, wc].forEach((m) => m.dispose());
  }
});

test('models: same seed, same weights and samples; different seed, different', async () => {
  const cfg = tiny();
  const a = buildSolver(cfg.solver, [20], 4, 9);
  const b = buildSolver(cfg.solver, [20], 4, 9);
  const c = buildSolver(cfg.solver, [20], 4, 10);
  const g = buildGenerator(cfg.generator!, [20], 3);
  try {
    assert.deepEqual(await paramValues(a.params), await paramValues(b.params));
    assert.notDeepEqual(await paramValues(a.params), await paramValues(c.params));
    const s1 = g.sample(4, 5);
    const s2 = g.sample(4, 5);
    const s3 = g.sample(4, 6);
    assert.deepEqual(await values(s1), await values(s2));
    assert.notDeepEqual(await values(s1), await values(s3));
    tf.dispose([s1, s2, s3]);
  } finally {
    [a, b, c, g].forEach((m) => m.dispose());
  }
});

test(
  'hand-written backward passes match tf.js autodiff (MLP with mask, temperature, soft targets; ' +
    'VAE)',
  async () => {
    const cfg = tiny();
    const solver = buildSolver(
      { kind: 'mlp', hidden: [12, 8], init: 'torch', optimizer: cfg.solver.optimizer },
      [20],
      5,
      1,
    );
    const st = createSolverTrainer(solver);
    const x = tf.randomUniform([6, 20], 0, 1, 'float32', 2);
    const targets = tf.softmax(tf.randomNormal([6, 5], 0, 1, 'float32', 3)) as Tensor2D;
    const batch: SolverBatch = {
      x,
      targets,
      weights: tf.tensor1d([0.1, 0.2, 0.05, 0.3, 0.15, 0.2]),
      mask: tf.tensor2d([[0, 0, 0, -1e9, 0]]),
      invTemperature: tf.tensor2d([1, 1, 1, 0.5, 0.5, 0.5], [6, 1]),
    };
    const vae = buildVae(
      { kind: 'vae', hidden: [16, 12], latent: 3, init: 'torch', optimizer: cfg.solver.optimizer },
      [20],
      4,
    );
    const vt = createVaeTrainer(vae);
    const w = tf.tensor1d([0.3, 0.1, 0.2, 0.1, 0.2, 0.1]);
    try {
      const manual = st.gradients(batch);
      const auto = tf.tidy(() =>
        tf.valueAndGrads((...ws: Tensor[]) => solverLoss(solver, ws, batch))(solver.params.read()),
      );
      assert.ok(
        Math.abs((await values(manual.loss))[0]! - (await values(auto.value))[0]!) < 1e-5,
        'same loss',
      );
      for (let i = 0; i < manual.grads.length; i++) {
        const d = maxAbsDiff(await values(manual.grads[i]!), await values(auto.grads[i]!));
        assert.ok(d < 1e-5, `solver gradient ${i} differs by ${d}`);
      }
      tf.dispose([manual.loss, ...manual.grads, auto.value, ...auto.grads]);
      for (const weights of [w, null]) {
        const m = vt.gradients(x, weights, 7, 'manual');
        const a = vt.gradients(x, weights, 7, 'autodiff');
        assert.ok(
          Math.abs((await values(m.loss))[0]! - (await values(a.loss))[0]!) < 1e-5,
          'same VAE loss',
        );
        const gm = [...m.encoder, ...m.decoder];
        const ga = [...a.encoder, ...a.decoder];
        for (let i = 0; i < gm.length; i++) {
          const d = maxAbsDiff(await values(gm[i]!), await values(ga[i]!));
          const scale = Math.max(...(await values(ga[i]!)).map(Math.abs));
          assert.ok(d <= 1e-5 + 1e-4 * scale, `VAE gradient ${i} differs by ${d} (scale ${scale})`);
        }
        tf.dispose([m.loss, a.loss, ...gm, ...ga]);
      }
    } finally {
      tf.dispose([x, targets, batch.weights, batch.mask!, batch.invTemperature!, w]);
      st.dispose();
      vt.dispose();
      solver.dispose();
      vae.dispose();
    }
  },
);
