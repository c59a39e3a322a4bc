import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import {
  accuracyDataFrame,
  danfo,
  listResults,
  loadResults,
  metricsDataFrame,
  parseRunName,
  ResultsError,
  runName,
  saveResults,
  type RunNameParts,
} from '../lib/engine/results';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-results-');

test('runName: the paper-style stamp, and parseRunName inverts it', () => {
  const parts: RunNameParts = {
    sequence: 'splitMNIST',
    scenario: 'class',
    method: 'gr',
    generator: 'vae',
    ratio: '1/t',
    seed: 0,
  };
  assert.equal(runName(parts), 'splitMNIST-class-gr-vae-r1overt-s0');
  assert.deepEqual(parseRunName('splitMNIST-class-gr-vae-r1overt-s0'), parts);
  assert.equal(
    runName({
      sequence: 'permMNIST',
      scenario: 'domain',
      method: 'none',
      ratio: 0,
      seed: 3,
      extra: { z: 100, epochs: 5, bn: true },
    }),
    'permMNIST-domain-none-r0-s3-bn=true-epochs=5-z=100',
  );
  assert.equal(
    runName({ sequence: 'a', scenario: 'task', method: 'b', ratio: 1e-7, seed: 1 }),
    'a-task-b-r1em7-s1',
  );
  assert.equal(parseRunName('a-task-b-r1em7-s1').ratio, 1e-7);
});

test('runName: different settings never give the same name', () => {
  const names = new Map<string, string>();
  const words = ['gr', 'r1', 'vae', 'r0.5', 's1', 'none'];
  let n = 0;
  for (const sequence of ['splitMNIST', 'permMNIST'])
    for (const scenario of ['task', 'domain', 'class'] as const)
      for (const method of words)
        for (const generator of [undefined, ...words])
          for (const ratio of [0, 0.5, 1, '1/t'] as const)
            for (const seed of [0, 1, 10])
              for (const extra of [undefined, { e: 1 }, { e: 's1' }, { e: 1, f: 2 }] as (
                Record<string, string | number> | undefined
              )[]) {
                const parts: RunNameParts = {
                  sequence,
                  scenario,
                  method,
                  ...(generator !== undefined ? { generator } : {}),
                  ratio,
                  seed,
                  ...(extra !== undefined ? { extra } : {}),
                };
                const name = runName(parts);
                const key = JSON.stringify(parts);
                assert.ok(!names.has(name), `${name} made by ${key} and ${names.get(name)}`);
                names.set(name, key);
                const back = parseRunName(name);
                assert.equal(runName(back), name);
                assert.equal(back.generator, generator);
                n++;
              }
  assert.equal(names.size, n);
});

test('runName rejects values that could make names collide or escape the folder', () => {
  const base: RunNameParts = {
    sequence: 'splitMNIST',
    scenario: 'class',
    method: 'gr',
    ratio: 0.5,
    seed: 0,
  };
  assert.throws(() => runName({ ...base, method: 'g-r' }), /method/);
  assert.throws(() => runName({ ...base, generator: '../x' }), /generator/);
  assert.throws(() => runName({ ...base, ratio: 2 }), /ratio/);
  assert.throws(() => runName({ ...base, seed: -1 }), /seed/);
  assert.throws(() => runName({ ...base, extra: { 'a=b': 1 } }), /extra key/);
  assert.throws(() => runName({ ...base, scenario: 'x' as never }), /scenario/);
  assert.throws(() => parseRunName('a-b'), /not a run name/);
});

test('danfojs keeps the native backend; DataFrames of R and of metrics', () => {
  danfo();
  assert.equal(tf.getBackend(), 'tensorflow');
  const df = accuracyDataFrame(
    [
      [0.9, 0.1],
      [0.6, 0.8],
    ],
    ['digits 0/1', 'digits 2/3'],
  );
  assert.deepEqual(df.columns, ['after', 'after_task', 'digits 0/1', 'digits 2/3']);
  assert.deepEqual(df.shape, [2, 4]);
  assert.deepEqual((df.values as unknown[][])[1], [1, 'digits 2/3', 0.6, 0.8]);
  const m = metricsDataFrame([
    {
      run: 'a',
      averageAccuracy: 0.7,
      backwardTransfer: -0.3,
      forwardTransfer: Number.NaN,
      forgetting: 0.3,
    },
  ]);
  assert.deepEqual(m.columns, [
    'run',
    'averageAccuracy',
    'backwardTransfer',
    'forwardTransfer',
    'forgetting',
  ]);
});

test('saveResults / loadResults round trip, atomically, with CSVs for people', async () => {
  const root = tmpDir();
  const name = runName({
    sequence: 'splitMNIST',
    scenario: 'class',
    method: 'gr',
    generator: 'vae',
    ratio: '1/t',
    seed: 0,
  });
  const accuracy = [
    [0.9, 0.1, 0.2],
    [0.6, 0.8, 0.3],
    [0.5, 0.7, 0.95],
  ];
  const dir = await saveResults(
    {
      runName: name,
      taskNames: ['t0', 't1', 't2'],
      accuracy,
      baseline: [0.1, 0.2, 0.1],
      config: { lr: 0.001 },
      curves: { loss: [1, 0.5, null] },
    },
    { root },
  );
  assert.equal(dir, path.join(root, name));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['accuracy.csv', 'metrics.csv', 'results.json']);
  const csv = fs.readFileSync(path.join(dir, 'accuracy.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'after,after_task,t0,t1,t2');
  assert.equal(csv[3], '2,t2,0.5,0.7,0.95');
  const r = loadResults(name, { root });
  assert.deepEqual(r.accuracy, accuracy);
  assert.deepEqual(r.taskNames, ['t0', 't1', 't2']);
  assert.ok(Math.abs(r.metrics.backwardTransfer - -0.25) < 1e-12);
  assert.ok(Math.abs(r.metrics.forwardTransfer - 0.05) < 1e-12);
  assert.equal(r.parts?.generator, 'vae');
  assert.deepEqual(r.config, { lr: 0.001 });
  assert.deepEqual(r.curves, { loss: [1, 0.5, null] });
  // NaN (one row: no transfer yet) survives JSON as null and comes back as NaN.
  await saveResults(
    { runName: 'partial', taskNames: ['a', 'b'], accuracy: [[0.5, Number.NaN]] },
    { root },
  );
  const p = loadResults('partial', { root });
  assert.ok(Number.isNaN(p.metrics.backwardTransfer));
  assert.ok(Number.isNaN((p.accuracy[0] as number[])[1]!));
  assert.deepEqual(listResults(root), ['partial', name].sort());
});

test('missing or corrupt results give a clear error naming the file', async () => {
  const root = tmpDir();
  assert.throws(
    () => loadResults('nope', { root }),
    (e: Error) =>
      e instanceof ResultsError &&
      e.message.includes(path.join(root, 'nope', 'results.json')) &&
      /no results for run nope/.test(e.message),
  );
  await saveResults({ runName: 'run1', taskNames: ['a'], accuracy: [[0.5]] }, { root });
  const file = path.join(root, 'run1', 'results.json');
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.slice(0, 20));
  assert.throws(() => loadResults('run1', { root }), /results\.json: not valid JSON/);
  fs.writeFileSync(file, text.replace('0.5', '1.5'));
  assert.throws(() => loadResults('run1', { root }), /R\[0\]\[0\] = 1.5/);
  fs.writeFileSync(file, text.replace('"dgr-results"', '"other"'));
  assert.throws(() => loadResults('run1', { root }), /format is "other"/);
  assert.throws(() => loadResults('../etc', { root }), /run name/);
  await assert.rejects(
    saveResults({ runName: 'x', taskNames: ['a'], accuracy: [[0.5, 0.5]] }, { root }),
    /1 task names for 2 tasks/,
  );
});
