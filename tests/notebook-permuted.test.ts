import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  budgetProbeRows,
  distillationLossParts,
  finalRowDifference,
  loadBudgetProbe,
  replayGap,
} from '../lib/notebook/permuted';
import { runExperiment } from '../lib/notebook/experiments';
import { blobSequence, tinyConfig } from './fixtures';

test(
  'replayGap: the gap of the means in points, held only within the points ' +
    'and with enough seeds',
  () => {
    const within = replayGap([0.95, 0.955, 0.96], [0.965, 0.97, 0.975], 2);
    assert.ok(Math.abs(within.gapPoints - 1.5) < 1e-9);
    assert.equal(within.shortPoints, 0);
    assert.equal(within.holds, true);
    assert.match(within.sentence, /95\.50 ± 0\.50 % \(sd over 3 seeds\)/);
    assert.match(within.sentence, /1\.50 points below exact replay, within 2 points over 3 seeds/);

    const missed = replayGap([0.93, 0.94, 0.95], [0.97, 0.97, 0.97], 2);
    assert.ok(Math.abs(missed.gapPoints - 3) < 1e-9);
    assert.ok(Math.abs(missed.shortPoints - 1) < 1e-9);
    assert.equal(missed.holds, false);
    assert.match(missed.sentence, /more than 2 points: 1\.00 points too many/);

    const fewSeeds = replayGap([0.97], [0.96], 2);
    assert.equal(fewSeeds.holds, false, 'one seed is not three');
    assert.match(fewSeeds.sentence, /1\.00 points above exact replay.*over 1 seed, not 3/);

    assert.throws(() => replayGap([95], [0.9], 2), /fractions in \[0, 1\]/);
    assert.throws(() => replayGap([], [0.9], 2), /no accuracies/);
  },
);

test('finalRowDifference: earlier tasks and last task of the last row, in points', () => {
  const a = [
    [0.9, 0.1, 0.1],
    [0.8, 0.9, 0.1],
    [0.7, 0.8, 0.95],
  ];
  const b = [
    [0.9, 0.1, 0.1],
    [0.9, 0.9, 0.1],
    [0.9, 0.9, 0.9],
  ];
  const d = finalRowDifference(a, b);
  assert.ok(Math.abs(d.oldTasks - -15) < 1e-9);
  assert.ok(Math.abs(d.lastTask - 5) < 1e-9);
  assert.throws(() => finalRowDifference([[1]], [[1]]), /same number/);
});

test(
  'distillationLossParts: ' + 'last loss of each task from the second on, divided by (1 − r)·T²',
  () => {
    const losses = [
      { task: 0, iteration: 1, losses: { solver: 2.3 } },
      { task: 0, iteration: 10, losses: { solver: 0.1 } },
      { task: 1, iteration: 1, losses: { solver: 5 } },
      { task: 1, iteration: 10, losses: { solver: 2 } },
      { task: 2, iteration: 10, losses: { solver: 4 } },
      { task: 2, iteration: 5, losses: { solver: 9 } },
    ];
    const rows = distillationLossParts(losses, 2);
    assert.deepEqual(
      rows.map((r) => r.task),
      [2, 3],
    );
    assert.equal(rows[0]?.replayWeight, 2); // (1 − 1/2)·4
    assert.equal(rows[0]?.perReplayedRow, 1);
    assert.ok(Math.abs((rows[1]?.replayWeight ?? 0) - 8 / 3) < 1e-12); // (1 − 1/3)·4
    assert.equal(rows[1]?.loss, 4, 'the last iteration, not the last line read');
    assert.throws(() => distillationLossParts(losses.slice(0, 2), 2), /no losses after the first/);
    assert.throws(() => distillationLossParts(losses, 0), /temperature/);
  },
);

test(
  'loadBudgetProbe and budgetProbeRows: ' + 'one row per budget, gap in points; bad lines named',
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-'));
    const file = path.join(dir, 'p.jsonl');
    const line = (iterations: number, variant: string, avg: number): string =>
      JSON.stringify({ iterations, variant, afterTask1: [0.97, 0.1], afterTask2: [avg, avg], avg });
    fs.writeFileSync(
      file,
      [line(2000, 'exact', 0.975), line(1000, 'exact', 0.97), line(1000, 'gr-hard', 0.95), ''].join(
        '\n',
      ),
    );
    const rows = budgetProbeRows(loadBudgetProbe(file));
    assert.deepEqual(
      rows.map((r) => r['iterations/task']),
      [1000, 2000],
    );
    assert.equal(rows[0]?.['hard − exact (points)'], '-2.00');
    assert.equal(rows[1]?.['GR WGAN-GP, hard (%)'], '—');
    fs.writeFileSync(file, '{"iterations": "x"}\n');
    assert.throws(() => loadBudgetProbe(file), /line 1 of .* is not a probe line/);
    assert.throws(() => loadBudgetProbe(path.join(dir, 'missing.jsonl')), /is missing/);
    fs.rmSync(dir, { recursive: true });
  },
);

test(
  'runExperiment hands back the losses read for progress lines, the last iteration of ' +
    'each task among them',
  async () => {
    const seq = blobSequence({ numTasks: 2, scenario: 'domain' });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-losses-'));
    try {
      const config = tinyConfig(12, { scenario: 'domain', replay: { targets: 'soft' } });
      const lines: string[] = [];
      const run = await runExperiment(seq, config, {
        label: 'GR + distill',
        curveEvery: 0,
        resultsRoot: root,
        checkpoint: false,
        progress: { everySeconds: 3600, write: (l) => lines.push(l) },
      });
      assert.ok(lines.length >= 2);
      for (const task of [0, 1])
        assert.ok(run.losses.some((p) => p.task === task && p.iteration === 12));
      const parts = distillationLossParts(run.losses, 2);
      assert.equal(parts.length, 1);
      assert.ok(Number.isFinite(parts[0]?.loss) && (parts[0]?.loss ?? 0) > 0);
      const silent = await runExperiment(seq, config, {
        label: 'quiet',
        curveEvery: 0,
        resultsRoot: root,
        checkpoint: false,
      });
      assert.equal(silent.losses.length, 0, 'no progress lines, no losses read');
    } finally {
      seq.dispose();
      fs.rmSync(root, { recursive: true });
    }
  },
);
