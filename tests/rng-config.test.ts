/**
 * Tests of lib/rng.ts (seeded streams) and lib/engine/config.ts (presets, configWith, validation).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { blobSequence } from './fixtures';
import {
  ConfigError,
  type ExperimentConfig,
  configWith,
  createBatchSampler,
  createRng,
  deriveSeed,
  presets,
  replayRatio,
  trainSequence,
  validateConfig,
  runName,
  runNameParts,
} from '../lib/engine';
import { tiny } from './engine-helpers';

test('rng: same seed same stream, derived seeds differ, permutations are permutations', () => {
  const a = createRng(7);
  const b = createRng(7);
  const c = createRng(8);
  const sa = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    sa,
    Array.from({ length: 5 }, () => b.next()),
  );
  assert.notDeepEqual(
    sa,
    Array.from({ length: 5 }, () => c.next()),
  );
  assert.equal(deriveSeed(1, 'x', 2), deriveSeed(1, 'x', 2));
  assert.notEqual(deriveSeed(1, 'x', 2), deriveSeed(1, 'x', 3));
  assert.notEqual(deriveSeed(1, 'x'), deriveSeed(2, 'x'));
  const p = createRng(3).permutation(100);
  assert.deepEqual(
    [...p].sort((u, v) => u - v),
    Array.from({ length: 100 }, (_, i) => i),
  );
  const s = createBatchSampler(10, 4, 1);
  const seen = [...s.next(), ...s.next(), ...s.next()].slice(0, 10).sort((u, v) => u - v);
  assert.deepEqual(
    seen,
    Array.from({ length: 10 }, (_, i) => i),
    'one epoch visits every example once',
  );
  const z = createRng(5).normalArray(20000);
  const mean = z.reduce((u, v) => u + v, 0) / z.length;
  const sd = Math.sqrt(z.reduce((u, v) => u + (v - mean) ** 2, 0) / z.length);
  assert.ok(
    Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03,
    `normal samples: mean ${mean}, sd ${sd}`,
  );
  assert.throws(() => createRng(1.5), /integer/);
});

test('config: presets are valid and frozen; configWith merges', () => {
  for (const cfg of [
    presets.splitMnistGR(),
    presets.splitMnistGRDistill(),
    presets.splitMnist('none'),
    presets.splitMnist('exact'),
    presets.permutedMnistDGR(),
    presets.svhnMnistDGR(),
  ]) {
    assert.equal(validateConfig(cfg), cfg);
    assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.solver) && Object.isFrozen(cfg.replay));
  }
  const gr = presets.splitMnistGR();
  assert.equal(gr.iterations, 2000);
  assert.equal(gr.batchSize, 128);
  assert.equal(gr.replay.ratio, 'inverse-task');
  assert.equal(gr.solver.optimizer.lr, 0.001);
  const d = presets.splitMnistGRDistill();
  assert.equal(d.replay.targets, 'soft');
  assert.equal(d.replay.temperature, 2);
  const changed = configWith(gr, { replay: { ratio: 0.5 } });
  assert.equal(changed.replay.ratio, 0.5);
  assert.equal(changed.replay.batchSize, 128, 'untouched fields are kept');
  assert.equal(gr.replay.ratio, 'inverse-task', 'the base is not changed');
  assert.equal(replayRatio(gr, 0), 1);
  assert.equal(replayRatio(gr, 3), 0.25);
  assert.equal(replayRatio(changed, 3), 0.5);
  assert.equal(
    runName(runNameParts(gr, { name: 'splitMNIST', scenario: 'class' })),
    'splitMNIST-class-gr-vae-r1overt-s0-iters=2000',
  );
  assert.equal(
    runName(runNameParts(presets.splitMnist('none'), { name: 'splitMNIST', scenario: 'class' })),
    'splitMNIST-class-none-r1-s0-iters=2000',
  );
  assert.equal(
    runName(runNameParts(presets.permutedMnistDGR(), { name: 'permMNIST', scenario: 'domain' })),
    'permMNIST-domain-gr-wgangp_mlp-r1overt-s0-iters=2000',
  );
});

test('config: bad settings fail with a clear error naming the field', () => {
  const gr = presets.splitMnistGR();
  const bad: [ExperimentConfig, RegExp][] = [
    [configWith(gr, { replay: { ratio: 1.5 } }), /replay\.ratio.*\[0, 1\]/],
    [configWith(gr, { replay: { ratio: -0.1 } }), /replay\.ratio/],
    [configWith(gr, { iterations: 0 }), /iterations: must be a positive integer/],
    [configWith(gr, { batchSize: -4 }), /batchSize: must be a positive integer/],
    [configWith(gr, { replay: { batchSize: 0 } }), /replay\.batchSize/],
    [configWith(gr, { replay: { mode: 'magic' as never } }), /unknown replay mode "magic"/],
    [configWith(gr, { scenario: 'sideways' as never }), /unknown scenario "sideways"/],
    [configWith(gr, { solver: { hidden: [400, 0] } }), /solver\.hidden\[1\]/],
    [configWith(gr, { solver: { optimizer: { lr: 0 } } }), /solver\.optimizer\.lr/],
    [configWith(gr, { generator: null }), /generative replay needs a generator/],
    [configWith(gr, { replay: { temperature: 0 } }), /replay\.temperature/],
  ];
  for (const [cfg, re] of bad)
    assert.throws(
      () => validateConfig(cfg),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
      `expected ${re}`,
    );
});

test('config: shapes that do not fit the models fail before training', async () => {
  const seq = blobSequence({ numTasks: 2, perClass: 8, seed: 123 });
  try {
    const cnn = configWith(tiny(), {
      solver: {
        kind: 'cnn',
        channels: [4],
        hidden: 8,
        init: 'torch',
        optimizer: { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
      },
    });
    assert.throws(() => validateConfig(cnn, seq), /'cnn' solver needs image inputs/);
    const dcgan = configWith(tiny(), { generator: presets.wganGp('dcgan') });
    assert.throws(() => validateConfig(dcgan, seq), /'dcgan' needs square image inputs/);
    assert.throws(
      () => validateConfig(configWith(tiny(), { scenario: 'task' }), seq),
      /built for 'class'/,
    );
    const before = tf.memory().numTensors;
    await assert.rejects(
      trainSequence(seq, configWith(tiny(), { replay: { ratio: 2 } }), { progress: false }),
      ConfigError,
    );
    assert.equal(tf.memory().numTensors, before, 'nothing was built');
  } finally {
    seq.dispose();
  }
});
