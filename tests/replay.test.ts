/**
 * Tests of lib/engine/replay.ts and lib/engine/masks.ts: r, the mixed loss of Shin et al. §3.1 as
 * row weights, labelling replayed inputs with the previous solver, the logit masks of a batch and
 * the batches planTask builds in each replay mode and scenario.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import {
  INACTIVE_LOGIT,
  activeOutputs,
  batchMasks,
  buildSolver,
  configWith,
  createScholar,
  disposeBatch,
  labelWithSolver,
  logitMask,
  mixedLossWeights,
  planTask,
  replayRatio,
  replayRowTask,
  snapshotScholar,
  solverLoss,
  buildGenerator,
} from '../lib/engine';
import { blobSequence, tinyConfig } from './fixtures';
import { assertNoLeak, values } from './engine-helpers';

const close = (a: number, b: number, tol: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('replayRatio: a fixed r, or 1/t on the t-th task', () => {
  const cfg = tinyConfig(10);
  assert.equal(replayRatio(cfg, 0), 1);
  assert.equal(replayRatio(cfg, 3), 0.25);
  assert.equal(replayRatio(configWith(cfg, { replay: { ratio: 0.3 } }), 3), 0.3);
});

test('mixedLossWeights: real rows sum to r, replayed rows to 1 − r (× T² for soft targets)', () => {
  const sum = (a: Float32Array, from: number, to: number): number =>
    a.slice(from, to).reduce((s, v) => s + v, 0);
  const hard = mixedLossWeights(0.25, 4, 8, null);
  assert.equal(hard.length, 12);
  close(sum(hard, 0, 4), 0.25, 1e-6, 'real rows');
  close(sum(hard, 4, 12), 0.75, 1e-6, 'replayed rows');
  const soft = mixedLossWeights(0.25, 4, 8, 2);
  close(sum(soft, 4, 12), 0.75 * 4, 1e-6, 'replayed rows × T²');
  const first = mixedLossWeights(1, 5, 0, null);
  assert.deepEqual([...first], [0.2, 0.2, 0.2, 0.2, 0.2].map(Math.fround));
});

test(
  "the solver's loss on a planned batch is r·L(real) " + '+ (1 − r)·L(replayed) (Shin et al. §3.1)',
  async () => {
    const seq = blobSequence({ numTasks: 2, scenario: 'domain' });
    const cfg = tinyConfig(5, { scenario: 'domain', replay: { ratio: 0.3, batchSize: 24 } });
    const solver = buildSolver(cfg.solver, seq.inputShape, seq.numOutputs, 1);
    const prev = snapshotScholar(
      createScholar(
        buildGenerator(cfg.generator!, seq.inputShape, 2),
        buildSolver(cfg.solver, seq.inputShape, seq.numOutputs, 3),
      ),
    );
    const plan = planTask(cfg, seq, 1, prev, true);
    const batch = plan.build(1);
    try {
      const B = cfg.batchSize;
      const w = solver.params.read();
      const loss = solverLoss(solver, w, batch.solver);
      // The equation written out: the mean cross-entropy of each part, weighted r and 1 − r.
      const direct = tf.tidy(() => {
        const ce = tf.neg(
          tf.sum(tf.mul(batch.solver.targets, tf.logSoftmax(solver.forward(w, batch.solver.x))), 1),
        );
        const real = tf.mean(ce.slice([0], [B]));
        const replayed = tf.mean(ce.slice([B], [cfg.replay.batchSize]));
        return tf.add(tf.mul(0.3, real), tf.mul(0.7, replayed));
      });
      close(
        (await values(loss))[0] ?? NaN,
        (await values(direct))[0] ?? NaN,
        1e-5,
        'weighted loss vs the equation',
      );
      tf.dispose([loss, direct]);
    } finally {
      disposeBatch(batch);
      plan.dispose();
      prev.dispose();
      solver.dispose();
      seq.dispose();
    }
  },
);

test(
  'labelWithSolver: hard labels are the argmax over active outputs, soft ones softmax(z/T); ' +
    'both as Scholar.sample gives them',
  async () => {
    const seq = blobSequence({ numTasks: 2 });
    const cfg = tinyConfig(5);
    const live = createScholar(
      buildGenerator(cfg.generator!, seq.inputShape, 4),
      buildSolver(cfg.solver, seq.inputShape, seq.numOutputs, 5),
    );
    const s = live.sample(16, { seed: 7, activeUnits: [0, 1], temperature: 2 });
    const mask = logitMask(seq.numOutputs, [0, 1]);
    const hard = labelWithSolver(live.solver, s.x, mask, null);
    const soft = labelWithSolver(live.solver, s.x, mask, 2);
    try {
      const y = await values(s.y);
      const h = await values(hard);
      for (let i = 0; i < 16; i++) {
        const row = [...h.slice(i * 4, i * 4 + 4)];
        assert.deepEqual(
          row,
          [0, 1, 2, 3].map((c) => (c === y[i] ? 1 : 0)),
          `row ${i}: one-hot of Scholar.sample's label`,
        );
      }
      assert.deepEqual(
        [...(await values(soft))],
        [...(await values(s.probs!))],
        'soft targets equal Scholar.sample probs',
      );
      const p = await values(soft);
      assert.ok(p[2] === 0 && p[3] === 0, 'inactive outputs get no probability');
    } finally {
      tf.dispose([s.x, s.y, s.probs!, hard, soft, mask!]);
      live.dispose();
      seq.dispose();
    }
  },
);

test(
  'batchMasks: task-IL heads per replayed chunk, ' + 'class-IL classes seen so far, domain-IL none',
  async () => {
    const task = blobSequence({ numTasks: 3, scenario: 'task' });
    const cls = blobSequence({ numTasks: 3, scenario: 'class' });
    const dom = blobSequence({ numTasks: 3, scenario: 'domain' });
    try {
      const t = batchMasks(task, 2, 2, 4);
      const m = await values(t.batch!);
      const C = task.numOutputs;
      const activeOf = (row: number): number[] =>
        [...m.slice(row * C, row * C + C)].flatMap((v, c) => (v === 0 ? [c] : []));
      assert.deepEqual(
        activeOf(0),
        [...activeOutputs(task, 2, 'train')],
        'real rows: the current head',
      );
      for (let i = 0; i < 4; i++)
        assert.deepEqual(
          activeOf(2 + i),
          [...activeOutputs(task, replayRowTask(i, 2, 4), 'train')],
          `replayed row ${i}`,
        );
      assert.deepEqual(
        [0, 1, 2, 3].map((i) => replayRowTask(i, 2, 4)),
        [0, 0, 1, 1],
      );
      assert.deepEqual(t.labeller!.shape, [4, C]);
      const c = batchMasks(cls, 1, 2, 4);
      assert.deepEqual(c.batch!.shape, [1, C]);
      assert.deepEqual(
        [...(await values(c.batch!))],
        [0, 0, 0, 0, INACTIVE_LOGIT, INACTIVE_LOGIT].map(Math.fround),
      );
      assert.deepEqual(
        [...(await values(c.labeller!))],
        [0, 0, INACTIVE_LOGIT, INACTIVE_LOGIT, INACTIVE_LOGIT, INACTIVE_LOGIT].map(Math.fround),
      );
      assert.deepEqual(batchMasks(dom, 1, 2, 4), { batch: null, labeller: null });
      assert.equal(batchMasks(cls, 0, 2, 0).labeller, null);
      tf.dispose([t.batch!, t.labeller!, c.batch!, c.labeller!]);
    } finally {
      [task, cls, dom].forEach((s) => s.dispose());
    }
  },
);

test(
  'planTask: batch sizes, no replay on the first task, exact replay in task-IL draws each chunk ' +
    'from its own task; no leaks',
  async () => {
    const seq = blobSequence({ numTasks: 3, scenario: 'task' });
    const cfg = tinyConfig(5, {
      scenario: 'task',
      generator: null,
      replay: { mode: 'exact', batchSize: 8 },
    });
    const prev = snapshotScholar(
      createScholar(null, buildSolver(cfg.solver, seq.inputShape, seq.numOutputs, 1)),
    );
    const first = planTask(cfg, seq, 0, null, false);
    const third = planTask(cfg, seq, 2, prev, false);
    try {
      const b0 = first.build(1);
      assert.equal(b0.solver.x.shape[0], cfg.batchSize, 'first task: real rows only');
      assert.equal(b0.genWeights, null);
      disposeBatch(b0);
      const b = third.build(1);
      assert.equal(b.solver.x.shape[0], cfg.batchSize + 8);
      const labels = await values(tf.tidy(() => tf.argMax(b.solver.targets, 1)));
      for (let i = 0; i < 8; i++) {
        const j = replayRowTask(i, 2, 8);
        const label = labels[cfg.batchSize + i] ?? -1;
        assert.ok(
          seq.tasks[j]?.classes.includes(label),
          `replayed row ${i} (label ${label}) comes from task ${j}`,
        );
      }
      disposeBatch(b);
      assertNoLeak('planTask build + disposeBatch', (i) => disposeBatch(third.build(i + 2)));
    } finally {
      first.dispose();
      third.dispose();
      prev.dispose();
      seq.dispose();
    }
  },
);

test(
  'planTask: generative replay with soft targets weighs replayed rows by (1 − r)·T²/B′ and ' +
    'divides their logits by T',
  async () => {
    const seq = blobSequence({ numTasks: 2 });
    const cfg = tinyConfig(5, { replay: { targets: 'soft', temperature: 2, ratio: 0.5 } });
    const prev = snapshotScholar(
      createScholar(
        buildGenerator(cfg.generator!, seq.inputShape, 2),
        buildSolver(cfg.solver, seq.inputShape, seq.numOutputs, 3),
      ),
    );
    const plan = planTask(cfg, seq, 1, prev, true);
    const b = plan.build(1);
    try {
      const B = cfg.batchSize;
      const Br = cfg.replay.batchSize;
      const w = await values(b.solver.weights);
      close(w[0] ?? NaN, 0.5 / B, 1e-7, 'real row weight');
      close(w[B] ?? NaN, (0.5 / Br) * 4, 1e-7, 'replayed row weight');
      const gw = await values(b.genWeights!);
      close(gw[B] ?? NaN, 0.5 / Br, 1e-7, 'generator replayed row weight (no T²)');
      const inv = await values(b.solver.invTemperature!);
      assert.equal(inv[0], 1);
      assert.equal(inv[B], 0.5);
      const t = b.solver.targets;
      const rowSums = await values(tf.tidy(() => tf.sum(t, 1)));
      rowSums.forEach((s, i) => close(s, 1, 1e-5, `target row ${i} sums to 1`));
    } finally {
      disposeBatch(b);
      plan.dispose();
      prev.dispose();
      seq.dispose();
    }
  },
);
