/**
 * Child process of tests/resume-faults.test.ts: one life of a small checkpointing run, which the
 * test kills at random moments. Prints `GO` once ready to train, `TASK k` after each task, and
 * `RESULT {...}` at the end. Usage: node build/tests/resume-child.js <checkpointDir>
 */
import { trainSequence } from '../lib/engine/train';
import { faultConfig, faultSequence } from './resume-fixture';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error('usage: resume-child.js <checkpointDir>');
  const seq = faultSequence();
  process.stdout.write('GO\n');
  const t0 = performance.now();
  const r = await trainSequence(seq, faultConfig(), {
    progress: false,
    checkpointDir: dir,
    onTaskEnd: (info) => void process.stdout.write(`TASK ${info.taskIndex}\n`),
  });
  const result = { accuracy: r.accuracy, resumedTasks: r.resumedTasks, ms: performance.now() - t0 };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  r.scholar.dispose();
  seq.dispose();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
