/**
 * Fault injection: a checkpointing run is killed (SIGKILL) at random moments, and twice exactly
 * between the two renames of a checkpoint swap (DGR_CHECKPOINT_FAULT=between-renames); each
 * episode restarts it until it finishes. After every kill the checkpoint folder holds a complete
 * checkpoint (old or new) or none, and every episode ends with the accuracy matrix of an
 * uninterrupted run. Bounded: 10 kills in about 13 child processes of ~1-2 s each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import { trainSequence } from '../lib/engine/train';
import { FAULT_ENV, findCheckpoint, loadCheckpoint } from '../lib/engine/checkpoint';
import type { AccuracyMatrix } from '../lib/engine/types';
import { createRng } from '../lib/rng';
import { faultConfig, faultSequence } from './resume-fixture';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-faults-');
const CHILD = path.join(__dirname, 'resume-child.js');

interface Life {
  readonly killed: boolean;
  readonly tasks: readonly number[];
  readonly result: { readonly accuracy: AccuracyMatrix; readonly resumedTasks: number } | null;
}

/** One life of the run: killed `killAfterMs` after it is ready (null: never), or at the fault hook. */
function live(dir: string, fault: boolean, killAfterMs: number | null): Promise<Life> {
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
  if (fault) env[FAULT_ENV] = 'between-renames';
  else delete env[FAULT_ENV];
  const child = spawn(process.execPath, [CHILD, dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let timer: NodeJS.Timeout | undefined;
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (killAfterMs !== null && timer === undefined && out.includes('GO\n')) {
      timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tasks = [...out.matchAll(/^TASK (\d+)$/gm)].map((m) => Number(m[1]));
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (signal === 'SIGKILL') resolve({ killed: true, tasks, result: null });
      else if (code === 0 && line !== undefined) {
        resolve({ killed: false, tasks, result: JSON.parse(line.slice('RESULT '.length)) as Life['result'] });
      } else reject(new Error(`child exited with ${code ?? signal}:\n${err}`));
    });
  });
}

test('runs killed at random moments and between the two renames resume to the uninterrupted result', { timeout: 240_000 }, async () => {
  const seq = faultSequence();
  const t0 = performance.now();
  const ref = await trainSequence(seq, faultConfig(), { progress: false });
  const runMs = performance.now() - t0;
  ref.scholar.dispose();
  seq.dispose();

  const rng = createRng(2026);
  let kills = 0;
  let betweenRenames = 0;
  for (let episode = 0; kills < 10; episode++) {
    const dir = path.join(tmpDir(), 'run');
    let afterFault = false;
    for (let life = 0; ; life++) {
      // Episodes 0 and 1 start by dying between the renames of their second save; the next life
      // must resume from the checkpoint left aside. Later lives die at random moments.
      const fault = episode < 2 && life === 0;
      const killAfterMs = fault || afterFault || life >= 8 ? null : rng.next() * runMs * 1.2;
      const l = await live(dir, fault, killAfterMs);
      if (l.result !== null) {
        assert.deepEqual(l.result.accuracy, ref.accuracy, `episode ${episode}, life ${life}`);
        if (afterFault) assert.equal(l.result.resumedTasks, 1, 'resumed from the renamed-aside checkpoint');
        afterFault = false;
        if (!fault) break;
      }
      if (!l.killed) continue;
      kills++;
      if (fault) {
        betweenRenames++;
        assert.deepEqual(l.tasks, [0], 'died saving the second task (the first save that replaces one)');
        afterFault = true;
      }
      // Whatever the moment, a complete checkpoint (old or new) or none is there to resume.
      if (findCheckpoint(dir) !== null) {
        const ck = await loadCheckpoint(dir);
        tf.dispose(Object.values(ck.tensors));
      }
    }
  }
  assert.ok(kills >= 10 && betweenRenames === 2, `${kills} kills, ${betweenRenames} between the renames`);
});
