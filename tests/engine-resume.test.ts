/**
 * Tests of resuming trainSequence from its checkpoint, and of saveScholar/loadScholar.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import { blobSequence } from './fixtures';
import {
  buildGenerator,
  buildSolver,
  createScholar,
  loadScholar,
  saveScholar,
  snapshotScholar,
  trainSequence,
  CheckpointError,
  loadCheckpoint,
  saveCheckpoint,
  type Json,
} from '../lib/engine';
import { paramValues, tiny, values } from './engine-helpers';

test(
  'checkpoints: an interrupted run resumes after its last finished task with identical results; ' +
    'mismatches fail clearly',
  async () => {
    const seq = blobSequence({ numTasks: 3, perClass: 16, seed: 123 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-engine-'));
    try {
      const cfg = tiny();
      const full = await trainSequence(seq, cfg, { progress: false });
      full.scholar.dispose();
      const ckdir = path.join(dir, 'run');
      const part = await trainSequence(seq, cfg, {
        progress: false,
        checkpointDir: ckdir,
        stopAfterTask: 0,
      });
      part.scholar.dispose();
      assert.equal(part.accuracy.length, 1);
      const resumed = await trainSequence(seq, cfg, { progress: false, checkpointDir: ckdir });
      assert.equal(resumed.resumedTasks, 1);
      assert.deepEqual(resumed.accuracy, full.accuracy, 'resumed run = uninterrupted run');
      resumed.scholar.dispose();
      await assert.rejects(
        trainSequence(seq, tiny({ seed: 5 }), { progress: false, checkpointDir: ckdir }),
        (e: Error) => e instanceof CheckpointError && /meta\.config/.test(e.message),
      );

      // Scholar save/load round trip (live and frozen).
      const solver = buildSolver(cfg.solver, [20], 6, 1);
      const gen = buildGenerator(cfg.generator!, [20], 2);
      const live = createScholar(gen, solver);
      const frozen = snapshotScholar(live);
      await saveScholar(path.join(dir, 'live'), live, { task: 1 });
      await saveScholar(path.join(dir, 'frozen'), frozen);
      const l = await loadScholar(path.join(dir, 'live'));
      const f = await loadScholar(path.join(dir, 'frozen'));
      assert.deepEqual(l.meta, { task: 1 });
      assert.ok(!l.scholar.frozen && f.scholar.frozen);
      const probe = tf.randomUniform([4, 20], 0, 1, 'float32', 1);
      const outs = [live, l.scholar, f.scholar].map((s) => s.solver.predict(probe));
      const smp = [live, l.scholar, f.scholar].map((s) => s.generator!.sample(3, 7));
      assert.deepEqual(await values(outs[1]!), await values(outs[0]!));
      assert.deepEqual(await values(outs[2]!), await values(outs[0]!));
      assert.deepEqual(await values(smp[1]!), await values(smp[0]!));
      assert.deepEqual(await values(smp[2]!), await values(smp[0]!));
      tf.dispose([probe, ...outs, ...smp]);
      [live, frozen, l.scholar, f.scholar].forEach((s) => s.dispose());
      // Corruption is detected.
      const manifest = JSON.parse(
        fs.readFileSync(path.join(dir, 'live', 'manifest.json'), 'utf8'),
      ) as { tensors: { file: string }[] };
      const victim = path.join(dir, 'live', manifest.tensors[0]!.file);
      const bytes = fs.readFileSync(victim);
      bytes[10] = (bytes[10] as number) ^ 0xff;
      fs.writeFileSync(victim, bytes);
      await assert.rejects(
        loadScholar(path.join(dir, 'live')),
        (e: Error) => e instanceof CheckpointError && /corrupt/.test(e.message),
      );
    } finally {
      seq.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'first-task cache: runs that train task 1 alike share it, ' +
    'and end bit for bit as if trained alone',
  async () => {
    const seq = blobSequence({ numTasks: 3, perClass: 16, seed: 123 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-first-'));
    const cache = path.join(dir, 'first-tasks');
    const gr = tiny();
    const none = tiny({ generator: null, replay: { mode: 'none' } });
    // [name, config, the run whose first task it reuses (null: trains its own)]
    const runs: [string, ReturnType<typeof tiny>, string | null][] = [
      ['gr', gr, null],
      ['gr-soft-r05', tiny({ replay: { targets: 'soft', temperature: 2, ratio: 0.5 } }), 'gr'],
      ['gr-lwf', tiny({ lwf: { temperature: 2 } }), 'gr'],
      ['gr-gen-iters', tiny({ generatorIterations: [30, 10, 10] }), 'gr'],
      ['gr-seed1', tiny({ seed: 1 }), null],
      ['gr-iters', tiny({ iterations: 20 }), null],
      ['none', none, null],
      ['exact', tiny({ generator: null, replay: { mode: 'exact' } }), 'none'],
      ['lwf', tiny({ generator: null, replay: { mode: 'none' }, lwf: { temperature: 2 } }), 'none'],
    ];
    try {
      for (const [name, cfg, from] of runs) {
        const alone = await trainSequence(seq, cfg, { progress: false });
        const aloneParams = await paramValues(alone.scholar.solver.params);
        alone.scholar.dispose();
        const opts = { progress: false as const, firstTaskCache: cache };
        const run = await trainSequence(seq, cfg, { ...opts, checkpointDir: path.join(dir, name) });
        const params = await paramValues(run.scholar.solver.params);
        run.scholar.dispose();
        assert.equal(run.firstTaskFrom, from, `${name}: first task from ${from}`);
        assert.equal(run.resumedTasks, from === null ? 0 : 1, name);
        assert.deepEqual(run.accuracy, alone.accuracy, `${name}: R = the run trained alone`);
        assert.deepEqual(params, aloneParams, `${name}: weights = the run trained alone`);
      }
      // Read back whole from their own checkpoints, they still name who trained task 1; so does
      // a checkpoint saved before that was recorded (its task-1 seconds are the cache's).
      const legacy = path.join(dir, 'gr-lwf');
      const saved = await loadCheckpoint<Record<string, Json>>(legacy);
      const { firstTaskFrom: recorded, ...older } = saved.meta;
      assert.equal(recorded, 'gr');
      await saveCheckpoint(legacy, { meta: older, tensors: saved.tensors });
      tf.dispose(Object.values(saved.tensors));
      for (const [name, cfg, from] of runs) {
        const opts = { progress: false as const, firstTaskCache: cache };
        const again = await trainSequence(seq, cfg, {
          ...opts,
          checkpointDir: path.join(dir, name),
        });
        again.scholar.dispose();
        assert.equal(again.resumedTasks, 3, name);
        assert.equal(again.firstTaskFrom, from, `${name} read back: first task from ${from}`);
      }
      // Other curve settings record task 1 differently: not shared.
      const curved = await trainSequence(seq, tiny({ lwf: { temperature: 2 } }), {
        progress: false,
        curveEvery: 10,
        firstTaskCache: cache,
        checkpointDir: path.join(dir, 'gr-lwf-curves'),
      });
      curved.scholar.dispose();
      assert.equal(curved.firstTaskFrom, null);
      await assert.rejects(
        trainSequence(seq, gr, { progress: false, firstTaskCache: cache }),
        /firstTaskCache needs a checkpointDir/,
      );
    } finally {
      seq.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
