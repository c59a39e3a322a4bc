/**
 * Tests of lib/engine/train.ts: trainSequence in every replay mode and scenario (leaks,
 * determinism, callbacks) and an end-to-end check that generative replay beats no replay on split
 * MNIST.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { loadMnist } from '../lib/data/mnist';
import { blobSequence } from './fixtures';
import {
  type ExperimentConfig,
  type TaskSequence,
  configWith,
  presets,
  trainSequence,
  splitMnist,
  averageAccuracy,
} from '../lib/engine';
import { tiny, paramValues, maxAbsDiff } from './engine-helpers';

test(
  'trainSequence: every replay mode and scenario runs without leaks; ' +
    'same seed gives the same results',
  async () => {
    const cases: [string, 'class' | 'task' | 'domain', ExperimentConfig][] = [
      ['generative/class', 'class', tiny()],
      ['generative/task', 'task', tiny({ scenario: 'task' })],
      [
        'generative/domain + soft targets',
        'domain',
        tiny({ scenario: 'domain', replay: { targets: 'soft' } }),
      ],
      ['noise/class', 'class', tiny({ replay: { mode: 'noise' }, generator: null })],
      [
        'exact/task',
        'task',
        tiny({ scenario: 'task', replay: { mode: 'exact', ratio: 0.5 }, generator: null }),
      ],
      ['none/class + generator', 'class', tiny({ replay: { mode: 'none' } })],
      [
        'generative/wgan-gp',
        'class',
        tiny({
          iterations: 5,
          generator: { ...presets.wganGp('mlp'), hidden: [8, 8], latent: 4, criticSteps: 2 },
        }),
      ],
    ];
    for (const [name, scenario, cfg] of cases) {
      const seq = blobSequence({ numTasks: 3, perClass: 16, scenario, seed: 123 });
      try {
        const before = tf.memory().numTensors;
        const a = await trainSequence(seq, cfg, {
          progress: { everySeconds: 0, write: () => undefined },
          curveEvery: 10,
        });
        a.scholar.dispose();
        const bad = a.losses.find((l) =>
          Object.values(l.losses).some((v) => !Number.isFinite(v) || Math.abs(v) > 1e3),
        );
        assert.equal(
          bad,
          undefined,
          `${name}: losses stay finite and small (a target hidden by the logit ` +
            'mask would give ~1e9)',
        );
        assert.equal(
          tf.memory().numTensors,
          before,
          `${name}: trainSequence leaked ${tf.memory().numTensors - before} tensors`,
        );
        assert.equal(a.accuracy.length, 3, `${name}: one row per task`);
        assert.ok(a.accuracy.every((r) => r.length === 3 && r.every((v) => v >= 0 && v <= 1)));
        assert.equal(
          a.curves.length,
          3 * (Math.floor(cfg.iterations / 10) + 1),
          `${name}: curve points`,
        );
        const b = await trainSequence(seq, cfg, { progress: false });
        b.scholar.dispose();
        assert.deepEqual(b.accuracy, a.accuracy, `${name}: same seed, same accuracy matrix`);
      } finally {
        seq.dispose();
      }
    }
  },
);

test(
  'trainSequence: a different seed changes the run; ' + 'progress and onTaskEnd are called',
  async () => {
    const seq = blobSequence({ numTasks: 2, perClass: 16, seed: 123 });
    try {
      const lines: string[] = [];
      const ends: number[] = [];
      const a = await trainSequence(seq, tiny(), {
        progress: { everySeconds: 0, write: (l) => lines.push(l) },
        onTaskEnd: (info) => {
          ends.push(info.taskIndex);
          const s = info.scholar.sample(4, { seed: 1 });
          assert.deepEqual(s.x.shape, [4, 20]);
          tf.dispose([s.x, s.y]);
        },
      });
      const b = await trainSequence(seq, tiny({ seed: 1 }), { progress: false });
      const pa = await paramValues(a.scholar.solver.params);
      const pb = await paramValues(b.scholar.solver.params);
      assert.ok(maxAbsDiff(pa, pb) > 0);
      a.scholar.dispose();
      b.scholar.dispose();
      assert.deepEqual(ends, [0, 1]);
      assert.equal(lines.length, 60, 'everySeconds 0: one line per iteration');
      assert.match(lines[0] as string, /task 1\/2.*solver .*loss .*it\/s/);
      assert.ok(a.losses.length === 60 && Number.isFinite(a.losses[0]!.losses.solver));
    } finally {
      seq.dispose();
    }
  },
);

test(
  'end to end: ' + 'generative replay beats no replay on two split-MNIST tasks (class-IL)',
  async () => {
    const mnist = await loadMnist();
    const full = splitMnist(mnist, { scenario: 'class', trainPerTask: 1000, testPerTask: 300 });
    const seq: TaskSequence = { ...full, tasks: full.tasks.slice(0, 2) };
    try {
      const base = configWith(presets.splitMnistGR(), {
        iterations: 150,
        batchSize: 32,
        solver: { hidden: [100] },
        generator: { hidden: [100], latent: 10 },
        replay: { batchSize: 32 },
      });
      const none = await trainSequence(
        seq,
        configWith(base, { replay: { mode: 'none' }, generator: null }),
        { progress: false },
      );
      const gr = await trainSequence(seq, base, { progress: false });
      none.scholar.dispose();
      gr.scholar.dispose();
      const accNone = averageAccuracy(none.accuracy);
      const accGr = averageAccuracy(gr.accuracy);
      assert.ok(
        none.accuracy[1]![0]! < 0.2,
        `without replay task 1 is forgotten (class-IL): ${none.accuracy[1]![0]}`,
      );
      assert.ok(
        accGr >= accNone + 0.2,
        `generative replay ${accGr.toFixed(3)} should beat no replay ${accNone.toFixed(3)} by 0.2`,
      );
    } finally {
      full.dispose();
    }
  },
);
