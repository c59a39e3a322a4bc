import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { ImageSplit } from '../lib/data/mnist';
import { COLOUR_MNIST32, SVHN_DOMAIN } from '../lib/data/digits32';
import { permutedMnist, pixelPermutation } from '../lib/engine/tasks';
import { configWith, presets } from '../lib/engine/config';
import { parseRunName, runName } from '../lib/engine/results';
import { runNameParts } from '../lib/engine/results';
import {
  MNIST32_DOMAIN,
  PERMUTED_MNIST_DOMAIN_IL_REFERENCES,
  domainAccuracyFigure,
  inversePermutation,
  examplesFrom,
  domainSequenceName,
  secondsPerIteration,
  targetSentence,
  firstDomainStats,
  firstDomainStatsByMethod,
  firstDomainRows,
  meanAccuracyMatrix,
  recoveredShare,
  withoutMachinePaths,
} from '../lib/notebook/domains';
import { computeMetrics } from '../lib/engine/eval';
import { projectRoot } from '../lib/engine/results';
import { defaultDataRoot } from '../lib/data/registry';
import * as path from 'node:path';

function fakeSplit(count: number): ImageSplit {
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37) % 256;
  return {
    count,
    shape: [28, 28, 1],
    images,
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    numClasses: 10,
  };
}

test(
  'domainSequenceName joins the ids of the domains actually used, ' +
    'and is a valid run-name field',
  () => {
    const standIn = domainSequenceName([MNIST32_DOMAIN, COLOUR_MNIST32]);
    assert.equal(standIn, 'mnist32x32x3_to_colourmnist32');
    assert.ok(!/svhn/i.test(standIn), 'the stand-in sequence is never called SVHN');
    assert.equal(domainSequenceName([SVHN_DOMAIN, MNIST32_DOMAIN]), 'svhn_to_mnist32x32x3');
    const name = runName({
      sequence: standIn,
      scenario: 'domain',
      method: 'gr',
      generator: 'wgangp_dcgan',
      ratio: '1/t',
      seed: 0,
    });
    assert.equal(parseRunName(name).sequence, standIn);
    assert.throws(() => domainSequenceName([]), /empty/);
    assert.throws(() => domainSequenceName([{ id: '--' }]), /no letters or digits/);
  },
);

test(
  'domainAccuracyFigure: one bar group per (method, stage), ' + 'one trace per domain, values in %',
  () => {
    const fig = domainAccuracyFigure(
      [
        {
          method: 'none',
          accuracy: [
            [0.9, 0.1],
            [0.2, 0.8],
          ],
        },
        {
          method: 'GR',
          accuracy: [
            [0.9, 0.1],
            [0.85, 0.8],
          ],
        },
      ],
      ['A', 'B'],
      { title: 't' },
    );
    assert.equal(fig.data.length, 2);
    assert.deepEqual(fig.data[0]?.y, [90, 20, 90, 85]);
    assert.deepEqual(fig.data[1]?.y, [10, 80, 10, 80]);
    const [methods, stages] = fig.data[0]?.x as unknown as string[][];
    assert.deepEqual(methods, ['none', 'none', 'GR', 'GR'], 'the method: the outer category');
    assert.deepEqual(stages, ['task 1', 'task 2', 'task 1', 'task 2'], 'the stage: the inner one');
    assert.match(String(fig.data[1]?.name), /B/);
    assert.throws(
      () => domainAccuracyFigure([{ method: 'x', accuracy: [[0.5, 0.5]] }], ['A'], { title: 't' }),
      /2 tasks, 1 domain/,
    );
    assert.throws(() => domainAccuracyFigure([], ['A'], { title: 't' }), /no runs/);
  },
);

test('targetSentence says met or missed, and by how much, from the numbers given', () => {
  assert.match(
    targetSentence(0.95, 0.96, 2),
    /^Target met: .*95\.00 %.*1\.00 points below.*96\.00 %/,
  );
  assert.match(targetSentence(0.97, 0.96, 2), /1\.00 points above/);
  const miss = targetSentence(0.9, 0.955, 2);
  assert.match(miss, /^Target missed: .*5\.50 points below.*fall short by 3\.50 points/);
  assert.throws(() => targetSentence(95, 0.9, 2), /generative must be an accuracy/);
});

test('the permuted-MNIST reference numbers are the published table: source, table, spread', () => {
  const by = Object.fromEntries(PERMUTED_MNIST_DOMAIN_IL_REFERENCES.map((r) => [r.method, r]));
  assert.deepEqual(Object.keys(by), [
    'None (fine-tuning, lower bound)',
    'DGR',
    'DGR + distill',
    'Offline (all data, upper bound)',
  ]);
  assert.equal(by['DGR']!.accuracy, 95.09);
  assert.equal(by['DGR + distill']!.accuracy, 97.35);
  assert.equal(by['Offline (all data, upper bound)']!.accuracy, 97.59);
  for (const r of PERMUTED_MNIST_DOMAIN_IL_REFERENCES) {
    assert.match(r.source, /1809\.10635.*Table 4.*domain-incremental.*SEM over 20 seeds/);
    assert.ok(r.spread !== null && r.spread > 0 && r.spread < 1);
  }
});

test('secondsPerIteration: one positive time per task, and no tensors left behind', async () => {
  const seq = permutedMnist({ train: fakeSplit(64), test: fakeSplit(20) }, { numTasks: 2 });
  const cfg = configWith(presets.permutedMnistDGR(), {
    generator: null,
    replay: { mode: 'exact', batchSize: 8 },
    batchSize: 8,
    solver: { hidden: [16] },
  });
  await secondsPerIteration(seq, cfg, 2); // warm-up (kernels, caches)
  const before = tf.memory().numTensors;
  const s = await secondsPerIteration(seq, cfg, 3);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(s.length, 2);
  assert.ok(s.every((v) => v > 0 && Number.isFinite(v)));
  assert.equal(runNameParts(cfg, seq).sequence, 'permMNIST');
  await assert.rejects(secondsPerIteration(seq, cfg, 0), /positive integer/);
  seq.dispose();
});

test('inversePermutation undoes the pixel permutation of permuted MNIST', () => {
  const seq = permutedMnist({ train: fakeSplit(4), test: fakeSplit(2) }, { numTasks: 2 });
  const perm = pixelPermutation(seq.config, 1);
  const inv = inversePermutation(perm);
  const restored = tf.tidy(
    () => tf.gather(seq.tasks[1]!.test.x, tf.tensor1d(inv, 'int32'), 1).arraySync() as number[][],
  );
  const original = Array.from(fakeSplit(2).images.subarray(0, 784), (v) => v / 255);
  assert.deepEqual(
    restored[0]!.map((v) => Math.round(v * 255)),
    original.map((v) => Math.round(v * 255)),
  );
  assert.deepEqual(Array.from(inversePermutation([2, 0, 1])), [1, 2, 0]);
  assert.throws(() => inversePermutation([0, 0, 1]), /not a permutation/);
  seq.dispose();
});

test(
  'examplesFrom takes n examples from start, ' + 'as views, and rejects out-of-range requests',
  () => {
    const s = fakeSplit(10);
    const part = examplesFrom(s, 7, 3);
    assert.equal(part.count, 3);
    assert.deepEqual(Array.from(part.labels), [7, 8, 9]);
    assert.deepEqual(
      Array.from(part.images.subarray(0, 5)),
      Array.from(s.images.subarray(7 * 784, 7 * 784 + 5)),
    );
    assert.equal(part.images.length, 3 * 784);
    assert.throws(() => examplesFrom(s, 8, 3), /start \+ n <= 10/);
  },
);

test(
  'first domain before and after the second, over seeds; ' + 'the share of exact replay recovered',
  () => {
    const run = (label: string, seed: number, R: number[][]) => ({
      label,
      seed,
      accuracy: R,
      metrics: computeMetrics(R),
    });
    const runs = [
      run('None', 0, [
        [0.98, 0.2],
        [0.7, 0.95],
      ]),
      run('None', 1, [
        [0.96, 0.2],
        [0.8, 0.97],
      ]),
      run('Exact', 0, [
        [0.98, 0.2],
        [0.96, 0.94],
      ]),
      run('GR', 0, [
        [0.98, 0.2],
        [0.9, 0.94],
      ]),
    ];
    const none = firstDomainStats(runs.slice(0, 2));
    assert.ok(Math.abs(none.afterOwn - 0.97) < 1e-12 && Math.abs(none.afterSecond - 0.75) < 1e-12);
    assert.ok(Math.abs(none.secondAfterSecond - 0.96) < 1e-12);
    assert.equal(none.seeds, 2);
    const by = firstDomainStatsByMethod(runs);
    assert.deepEqual(Object.keys(by), ['None', 'Exact', 'GR']);
    // (0.90 − 0.75) / (0.96 − 0.75) = 0.714…
    const share = recoveredShare(by.GR!.afterSecond, by.None!.afterSecond, by.Exact!.afterSecond);
    assert.ok(Math.abs(share - 0.15 / 0.21) < 1e-9, String(share));
    assert.equal(recoveredShare(0.5, 0.5, 0.9), 0);
    assert.ok(recoveredShare(0.4, 0.5, 0.9) < 0, 'worse than no replay is negative');
    assert.ok(Number.isNaN(recoveredShare(0.8, 0.9, 0.85)), 'nothing to recover: NaN');
    assert.throws(() => recoveredShare(97, 0.5, 0.9), /method must be an accuracy in \[0, 1\]/);
    const rows = firstDomainRows(runs);
    assert.equal(rows.length, 3);
    assert.deepEqual(rows[0], {
      method: 'None',
      seeds: 2,
      'first domain, after its task (%)': '97.00 ± 1.41',
      'first domain, after the second (%)': '75.00 ± 7.07',
      'second domain (%)': '96.00 ± 1.41',
      'average (%)': '85.50 ± 4.24',
    });
    const mean = meanAccuracyMatrix(runs.slice(0, 2));
    assert.ok(Math.abs(mean[1]![0]! - 0.75) < 1e-12 && Math.abs(mean[0]![1]! - 0.2) < 1e-12);
    assert.throws(() => firstDomainStats([]), /no runs/);
    assert.throws(() => firstDomainStats([run('x', 0, [[0.9, 0.1]])]), /no accuracy after task 2/);
  },
);

test('withoutMachinePaths: the data folder and the repository as the reader sees them', () => {
  const data = defaultDataRoot();
  const text =
    `could not get a verified file into ${path.join(data, 'svhn')}:\n  see ` +
    `${projectRoot()}/data/README.md and ${projectRoot()}/results`;
  const out = withoutMachinePaths(text);
  assert.ok(!out.includes(projectRoot()), out);
  if (data === path.join(projectRoot(), 'data'))
    assert.equal(
      out,
      'could not get a verified file into data/svhn:\n  see data/README.md and ./results',
    );
  assert.equal(withoutMachinePaths('no paths here'), 'no paths here');
});
