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
} from '../lib/engine';
import { tiny, values } from './engine-helpers';

test('checkpoints: an interrupted run resumes after its last finished task with identical results; mismatches fail clearly', async () => {
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
});
