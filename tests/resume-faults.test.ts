/**
 * Fault injection: a checkpointing run is killed (SIGKILL) at random moments, and once exactly
 * between the two renames of a checkpoint swap (DGR_CHECKPOINT_FAULT=between-renames); each
 * episode restarts it until it finishes. After every kill the checkpoint folder holds a complete
 * checkpoint (old or new) or none, and every episode ends with the accuracy matrix of an
 * uninterrupted run. Bounded: 10 kills in about 12 child processes of ~1-2 s each.
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
  readonly result: {
    readonly accuracy: AccuracyMatrix;
    readonly resumedTasks: number;
    readonly ms: number;
  } | null;
}

/** One life of the run: killed `killAfterMs` after it is ready (null: never) or by the hook. */
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
        resolve({
          killed: false,
          tasks,
          result: JSON.parse(line.slice('RESULT '.length)) as Life['result'],
        });
      } else reject(new Error(`child exited with ${code ?? signal}:\n${err}`));
    });
  });
}

test(
  'runs killed at random moments and between the two renames resume to the uninterrupted result',
  { timeout: 300_000 },
  async (t) => {
    const seq = faultSequence();
    const t0 = performance.now();
    const ref = await trainSequence(seq, faultConfig(), { progress: false });
    // How long a whole run takes in a child, re-estimated from every life that finishes: random
    // kills fall within it, so few lives finish before their kill.
    let runMs = performance.now() - t0;
    ref.scholar.dispose();
    seq.dispose();

    const rng = createRng(2026);
    const lives: string[] = [];
    let kills = 0;
    let betweenRenames = 0;
    for (let episode = 0; kills < 10; episode++) {
      const dir = path.join(tmpDir(), 'run');
      let afterFault = false;
      let saved = 0; // tasks in the checkpoint: never goes down from one life to the next
      for (let life = 0; ; life++) {
        // Episode 0 starts by dying between the two renames of its second save, and the next
        // life must resume from the checkpoint left aside. Other lives die at random moments.
        const fault = episode === 0 && life === 0;
        const random = !fault && !afterFault && kills < 10;
        const killAfterMs = random ? rng.next() * runMs : null;
        const l = await live(dir, fault, killAfterMs);
        const when = killAfterMs === null ? '' : ` at ${Math.round(killAfterMs)} ms`;
        lives.push(
          `${episode}.${life}${l.killed ? ' killed' : ''}${when}, tasks [${l.tasks.join(' ')}]`,
        );
        if (l.result !== null) {
          const trained = ref.accuracy.length - l.result.resumedTasks;
          if (trained > 0) runMs = (0.9 * l.result.ms * ref.accuracy.length) / trained;
          assert.deepEqual(l.result.accuracy, ref.accuracy, `episode ${episode}, life ${life}`);
          if (afterFault) {
            assert.equal(l.result.resumedTasks, 1, 'resumed from the renamed-aside checkpoint');
          }
          break;
        }
        kills++;
        if (fault) {
          betweenRenames++;
          assert.deepEqual(
            l.tasks,
            [0],
            'died saving the second task (the first save replacing one)',
          );
          afterFault = true;
        }
        // Whatever the moment, a complete checkpoint (old or new) or none is there to resume.
        if (findCheckpoint(dir) !== null) {
          const ck = await loadCheckpoint<{ completedTasks: number }>(dir);
          tf.dispose(Object.values(ck.tensors));
          assert.ok(ck.meta.completedTasks >= saved, `checkpoint went back after ${lives.at(-1)}`);
          saved = ck.meta.completedTasks;
        }
      }
    }
    t.diagnostic(`${kills} kills (${betweenRenames} between the renames): ${lives.join('; ')}`);
    assert.ok(
      kills >= 10 && betweenRenames === 1,
      `${kills} kills, ${betweenRenames} at the renames`,
    );
  },
);
