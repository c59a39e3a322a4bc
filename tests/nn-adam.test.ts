/**
 * Tests of lib/engine/nn.ts: Adam against the PyTorch update rule.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { type SolverBatch, buildSolver, createSolverTrainer } from '../lib/engine';
import { tiny, values, paramValues } from './engine-helpers';

test('Adam matches the PyTorch update rule', async () => {
  const cfg = tiny();
  const solver = buildSolver(
    { kind: 'mlp', hidden: [], init: 'torch', optimizer: cfg.solver.optimizer },
    [3],
    2,
    1,
  );
  const st = createSolverTrainer(solver, { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const w0 = await paramValues(solver.params);
  const x = tf.tensor2d([[1, 2, 3]]);
  const b: SolverBatch = {
    x,
    targets: tf.tensor2d([[1, 0]]),
    weights: tf.tensor1d([1]),
    mask: null,
    invTemperature: null,
  };
  try {
    const g = st.gradients(b);
    const gv = new Float32Array((await paramValues(solver.params)).length);
    let off = 0;
    for (const t of g.grads) {
      const v = await values(t);
      gv.set(v, off);
      off += v.length;
    }
    st.step(b)?.dispose();
    const w1 = await paramValues(solver.params);
    // First step: m̂ = g, v̂ = g², so w1 = w0 − lr·g/(|g| + ε).
    for (let i = 0; i < w0.length; i++) {
      const expect = w0[i]! - (0.1 * gv[i]!) / (Math.abs(gv[i]!) + 1e-8);
      assert.ok(Math.abs(w1[i]! - expect) < 1e-5, `param ${i}: ${w1[i]} vs ${expect}`);
    }
    tf.dispose([g.loss, ...g.grads]);
  } finally {
    tf.dispose([x, b.targets, b.weights]);
    st.dispose();
    solver.dispose();
  }
});
