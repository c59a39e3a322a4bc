/**
 * Tests of the engine core: rng, config validation, solvers, generators,
 * scholar, sequential training with replay, determinism, checkpoints/resume.
 * Tiny models and few iterations: the whole file runs in well under a minute.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';
import {
  ConfigError,
  ParamSet,
  createVaeTrainer,
  solverLoss,
  ExperimentConfig,
  SolverBatch,
  TaskSequence,
  buildCnnSolver,
  buildGenerator,
  buildMlpSolver,
  buildSolver,
  buildVae,
  buildWganGp,
  configWith,
  createBatchSampler,
  createGeneratorTrainer,
  createRng,
  createScholar,
  createSolverTrainer,
  createWganGpTrainer,
  deriveSeed,
  loadScholar,
  presets,
  replayRatio,
  saveScholar,
  snapshotScholar,
  trainSequence,
  validateConfig,
  CheckpointError,
  splitMnist,
  averageAccuracy,
  runName,
  runNameParts,
} from '../lib/engine';
import { loadMnist } from '../lib/data/mnist';
import { blobSequence } from './fixtures';

// ------------------------------------------------------------------------------------ helpers

/** A small config: MLP 64 hidden, VAE [64] latent 8, batch 16, 30 iterations. */
function tiny(patch: Parameters<typeof configWith>[1] = {}): ExperimentConfig {
  const base = configWith(presets.splitMnistGR(), {
    iterations: 30,
    batchSize: 16,
    solver: { hidden: [64] },
    generator: { hidden: [64], latent: 8 },
    replay: { batchSize: 16 },
  });
  return configWith(base, patch);
}


async function values(t: Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/** All parameters of a ParamSet, flattened, as numbers. */
async function paramValues(p: ParamSet): Promise<Float32Array> {
  const t = p.readFlat();
  try {
    return await values(t);
  } finally {
    t.dispose();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Runs `step` 20 times (after one warm-up) and asserts the tensor count does not grow. */
function assertNoLeak(name: string, step: (i: number) => void): void {
  step(0);
  const before = tf.memory().numTensors;
  for (let i = 1; i <= 20; i++) step(i);
  assert.equal(tf.memory().numTensors, before, `${name} leaks ${tf.memory().numTensors - before} tensors over 20 iterations`);
}

function solverBatch(x: Tensor, numOutputs: number, seed: number): SolverBatch {
  const n = x.shape[0];
  const y = createRng(seed).permutation(n).map((v) => v % numOutputs);
  return {
    x,
    targets: tf.oneHot(tf.tensor1d(y, 'int32'), numOutputs).toFloat() as Tensor2D,
    weights: tf.fill([n], 1 / n) as Tensor1D,
    mask: null,
    invTemperature: null,
  };
}

function disposeBatch(b: SolverBatch): void {
  tf.dispose([b.targets, b.weights]);
}

// ------------------------------------------------------------------------------------ rng

test('rng: same seed same stream, derived seeds differ, permutations are permutations', () => {
  const a = createRng(7);
  const b = createRng(7);
  const c = createRng(8);
  const sa = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(sa, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(sa, Array.from({ length: 5 }, () => c.next()));
  assert.equal(deriveSeed(1, 'x', 2), deriveSeed(1, 'x', 2));
  assert.notEqual(deriveSeed(1, 'x', 2), deriveSeed(1, 'x', 3));
  assert.notEqual(deriveSeed(1, 'x'), deriveSeed(2, 'x'));
  const p = createRng(3).permutation(100);
  assert.deepEqual([...p].sort((u, v) => u - v), Array.from({ length: 100 }, (_, i) => i));
  const s = createBatchSampler(10, 4, 1);
  const seen = [...s.next(), ...s.next(), ...s.next()].slice(0, 10).sort((u, v) => u - v);
  assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => i), 'one epoch visits every example once');
  const z = createRng(5).normalArray(20000);
  const mean = z.reduce((u, v) => u + v, 0) / z.length;
  const sd = Math.sqrt(z.reduce((u, v) => u + (v - mean) ** 2, 0) / z.length);
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03, `normal samples: mean ${mean}, sd ${sd}`);
  assert.throws(() => createRng(1.5), /integer/);
});

// ------------------------------------------------------------------------------------ config

test('config: presets are valid and frozen; configWith merges', () => {
  for (const cfg of [presets.splitMnistGR(), presets.splitMnistGRDistill(), presets.splitMnist('none'), presets.splitMnist('exact'), presets.permutedMnistDGR(), presets.svhnMnistDGR()]) {
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
  assert.equal(runName(runNameParts(gr, { name: 'splitMNIST', scenario: 'class' })), 'splitMNIST-class-gr-vae-r1overt-s0-iters=2000');
  assert.equal(runName(runNameParts(presets.splitMnist('none'), { name: 'splitMNIST', scenario: 'class' })), 'splitMNIST-class-none-r1-s0-iters=2000');
  assert.equal(runName(runNameParts(presets.permutedMnistDGR(), { name: 'permMNIST', scenario: 'domain' })), 'permMNIST-domain-gr-wgangp_mlp-r1overt-s0-iters=2000');
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
  for (const [cfg, re] of bad) assert.throws(() => validateConfig(cfg), (e: Error) => e instanceof ConfigError && re.test(e.message), `expected ${re}`);
});

test('config: shapes that do not fit the models fail before training', async () => {
  const seq = blobSequence({ numTasks: 2, perClass: 8, seed: 123 });
  try {
    const cnn = configWith(tiny(), { solver: { kind: 'cnn', channels: [4], hidden: 8, init: 'torch', optimizer: { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } } });
    assert.throws(() => validateConfig(cnn, seq), /'cnn' solver needs image inputs/);
    const dcgan = configWith(tiny(), { generator: presets.wganGp('dcgan') });
    assert.throws(() => validateConfig(dcgan, seq), /'dcgan' needs square image inputs/);
    assert.throws(() => validateConfig(configWith(tiny(), { scenario: 'task' }), seq), /built for 'class'/);
    const before = tf.memory().numTensors;
    await assert.rejects(trainSequence(seq, configWith(tiny(), { replay: { ratio: 2 } }), { progress: false }), ConfigError);
    assert.equal(tf.memory().numTensors, before, 'nothing was built');
  } finally {
    seq.dispose();
  }
});

// ------------------------------------------------------------------------------------ models

test('models: output shapes', () => {
  const mlp = buildMlpSolver({ kind: 'mlp', hidden: [32, 16], init: 'torch', optimizer: tiny().solver.optimizer }, [28, 28, 1], 10, 1);
  const cnn = buildCnnSolver({ kind: 'cnn', channels: [4, 8], hidden: 16, init: 'torch', optimizer: tiny().solver.optimizer }, [32, 32, 3], 10, 1);
  const vae = buildVae({ kind: 'vae', hidden: [32], latent: 4, init: 'torch', optimizer: tiny().solver.optimizer }, [784], 1);
  const wm = buildWganGp({ ...presets.wganGp('mlp'), hidden: [16, 32], latent: 8 }, [784], 1);
  const wc = buildWganGp({ ...presets.wganGp('dcgan'), hidden: [4, 8], latent: 8 }, [32, 32, 3], 1);
  try {
    tf.tidy(() => {
      assert.deepEqual(mlp.predict(tf.zeros([5, 28, 28, 1])).shape, [5, 10]);
      assert.deepEqual(mlp.predict(tf.zeros([5, 784])).shape, [5, 10]);
      assert.deepEqual(cnn.predict(tf.zeros([3, 32, 32, 3])).shape, [3, 10]);
      assert.deepEqual(vae.sample(6, 1).shape, [6, 784]);
      assert.deepEqual(wm.sample(6, 1).shape, [6, 784]);
      const s = wc.sample(2, 1);
      assert.deepEqual(s.shape, [2, 32, 32, 3]);
      const [lo, hi] = [s.min().dataSync()[0] as number, s.max().dataSync()[0] as number];
      assert.ok(lo >= 0 && hi <= 1, 'samples are in [0, 1]');
    });
    assert.throws(() => buildCnnSolver({ kind: 'cnn', channels: [4, 8], hidden: 16, init: 'torch', optimizer: tiny().solver.optimizer }, [784], 10, 1), /image inputs/);
  } finally {
    [mlp, cnn, vae, wm, wc].forEach((m) => m.dispose());
  }
});

test('models: same seed, same weights and samples; different seed, different', async () => {
  const cfg = tiny();
  const a = buildSolver(cfg.solver, [20], 4, 9);
  const b = buildSolver(cfg.solver, [20], 4, 9);
  const c = buildSolver(cfg.solver, [20], 4, 10);
  const g = buildGenerator(cfg.generator!, [20], 3);
  try {
    assert.deepEqual(await paramValues(a.params), await paramValues(b.params));
    assert.notDeepEqual(await paramValues(a.params), await paramValues(c.params));
    const s1 = g.sample(4, 5);
    const s2 = g.sample(4, 5);
    const s3 = g.sample(4, 6);
    assert.deepEqual(await values(s1), await values(s2));
    assert.notDeepEqual(await values(s1), await values(s3));
    tf.dispose([s1, s2, s3]);
  } finally {
    [a, b, c, g].forEach((m) => m.dispose());
  }
});

test('training steps: a generator step changes only the generator, a solver step only the solver', async () => {
  for (const genCfg of [tiny().generator!, { ...presets.wganGp('mlp'), hidden: [16, 16], latent: 4, criticSteps: 2 }]) {
    const cfg = tiny();
    const solver = buildSolver(cfg.solver, [20], 4, 1);
    const gen = buildGenerator(genCfg, [20], 2);
    const scholar = createScholar(gen, solver);
    const st = createSolverTrainer(solver);
    const gt = createGeneratorTrainer(gen);
    const x = tf.randomUniform([16, 20], 0, 1, 'float32', 4);
    const snap = async (): Promise<Float32Array[]> => Promise.all([solver.params, ...Object.values(gen.params)].map(paramValues));
    try {
      const s0 = await snap();
      tf.dispose(Object.values(gt.step(x, null, 1)));
      const s1 = await snap();
      assert.deepEqual(s1[0], s0[0], `${genCfg.kind} step left the solver unchanged`);
      for (let i = 1; i < s0.length; i++) assert.ok(maxAbsDiff(s1[i] as Float32Array, s0[i] as Float32Array) > 0, `${genCfg.kind} step changed generator part ${i}`);
      const b = solverBatch(x, 4, 1);
      st.step(b)?.dispose();
      disposeBatch(b);
      const s2 = await snap();
      assert.ok(maxAbsDiff(s2[0] as Float32Array, s1[0] as Float32Array) > 0, 'solver step changed the solver');
      for (let i = 1; i < s0.length; i++) assert.deepEqual(s2[i], s1[i], `solver step left generator part ${i} unchanged`);
    } finally {
      x.dispose();
      st.dispose();
      gt.dispose();
      scholar.dispose();
    }
  }
});

test('hand-written backward passes match tf.js autodiff (MLP with mask, temperature, soft targets; VAE)', async () => {
  const cfg = tiny();
  const solver = buildSolver({ kind: 'mlp', hidden: [12, 8], init: 'torch', optimizer: cfg.solver.optimizer }, [20], 5, 1);
  const st = createSolverTrainer(solver);
  const x = tf.randomUniform([6, 20], 0, 1, 'float32', 2);
  const targets = tf.softmax(tf.randomNormal([6, 5], 0, 1, 'float32', 3)) as Tensor2D;
  const batch: SolverBatch = {
    x,
    targets,
    weights: tf.tensor1d([0.1, 0.2, 0.05, 0.3, 0.15, 0.2]),
    mask: tf.tensor2d([[0, 0, 0, -1e9, 0]]),
    invTemperature: tf.tensor2d([1, 1, 1, 0.5, 0.5, 0.5], [6, 1]),
  };
  const vae = buildVae({ kind: 'vae', hidden: [16, 12], latent: 3, init: 'torch', optimizer: cfg.solver.optimizer }, [20], 4);
  const vt = createVaeTrainer(vae);
  const w = tf.tensor1d([0.3, 0.1, 0.2, 0.1, 0.2, 0.1]);
  try {
    const manual = st.gradients(batch);
    const auto = tf.tidy(() => tf.valueAndGrads((...ws: Tensor[]) => solverLoss(solver, ws, batch))(solver.params.read()));
    assert.ok(Math.abs((await values(manual.loss))[0]! - (await values(auto.value))[0]!) < 1e-5, 'same loss');
    for (let i = 0; i < manual.grads.length; i++) {
      const d = maxAbsDiff(await values(manual.grads[i]!), await values(auto.grads[i]!));
      assert.ok(d < 1e-5, `solver gradient ${i} differs by ${d}`);
    }
    tf.dispose([manual.loss, ...manual.grads, auto.value, ...auto.grads]);
    for (const weights of [w, null]) {
      const m = vt.gradients(x, weights, 7, 'manual');
      const a = vt.gradients(x, weights, 7, 'autodiff');
      assert.ok(Math.abs((await values(m.loss))[0]! - (await values(a.loss))[0]!) < 1e-5, 'same VAE loss');
      const gm = [...m.encoder, ...m.decoder];
      const ga = [...a.encoder, ...a.decoder];
      for (let i = 0; i < gm.length; i++) {
        const d = maxAbsDiff(await values(gm[i]!), await values(ga[i]!));
        const scale = Math.max(...(await values(ga[i]!)).map(Math.abs));
        assert.ok(d <= 1e-5 + 1e-4 * scale, `VAE gradient ${i} differs by ${d} (scale ${scale})`);
      }
      tf.dispose([m.loss, a.loss, ...gm, ...ga]);
    }
  } finally {
    tf.dispose([x, targets, batch.weights, batch.mask!, batch.invTemperature!, w]);
    st.dispose();
    vt.dispose();
    solver.dispose();
    vae.dispose();
  }
});

test('Adam matches the PyTorch update rule', async () => {
  const cfg = tiny();
  const solver = buildSolver({ kind: 'mlp', hidden: [], init: 'torch', optimizer: cfg.solver.optimizer }, [3], 2, 1);
  const st = createSolverTrainer(solver, { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const w0 = await paramValues(solver.params);
  const x = tf.tensor2d([[1, 2, 3]]);
  const b: SolverBatch = { x, targets: tf.tensor2d([[1, 0]]), weights: tf.tensor1d([1]), mask: null, invTemperature: null };
  try {
    const g = st.gradients(b);
    const gv = new Float32Array((await paramValues(solver.params)).length);
    let off = 0;
    for (const t of g.grads) {
      const v = await values(t);
      gv.set(v, off);
      off += v.length;
    }
    st.step(b)?.dispose();
    const w1 = await paramValues(solver.params);
    // First step: m̂ = g, v̂ = g², so w1 = w0 − lr·g/(|g| + ε).
    for (let i = 0; i < w0.length; i++) {
      const expect = w0[i]! - (0.1 * gv[i]!) / (Math.abs(gv[i]!) + 1e-8);
      assert.ok(Math.abs(w1[i]! - expect) < 1e-5, `param ${i}: ${w1[i]} vs ${expect}`);
    }
    tf.dispose([g.loss, ...g.grads]);
  } finally {
    tf.dispose([x, b.targets, b.weights]);
    st.dispose();
    solver.dispose();
  }
});

test('WGAN-GP: the gradient penalty is differentiated (second order) and the critic learns', async () => {
  const cfg = { ...presets.wganGp('mlp'), hidden: [16, 16], latent: 4, criticSteps: 1, generatorOptimizer: tiny().solver.optimizer, criticOptimizer: tiny().solver.optimizer };
  const run = async (gpWeight: number): Promise<Float32Array> => {
    const g = buildWganGp({ ...cfg, gpWeight }, [20], 1);
    const t = createWganGpTrainer(g);
    const x = tf.randomUniform([16, 20], 0, 1, 'float32', 4);
    tf.dispose(Object.values(t.criticStep(x, null, 1)));
    const out = await paramValues(g.params.critic!);
    x.dispose();
    t.dispose();
    g.dispose();
    return out;
  };
  const [a, b] = [await run(0), await run(10)];
  assert.ok(maxAbsDiff(a, b) > 0, 'λ changes the critic update, so the penalty reaches the critic weights');
});

test('scholar: sample labels with the solver; the snapshot is unchanged by training the live scholar', async () => {
  const cfg = tiny();
  const solver = buildSolver(cfg.solver, [20], 4, 1);
  const gen = buildGenerator(cfg.generator!, [20], 2);
  const live = createScholar(gen, solver);
  const frozen = snapshotScholar(live);
  const st = createSolverTrainer(solver);
  const gt = createGeneratorTrainer(gen);
  const probe = tf.randomUniform([8, 20], 0, 1, 'float32', 5);
  try {
    assert.ok(frozen.frozen && !live.frozen);
    assert.throws(() => createSolverTrainer(frozen.solver), /frozen/);
    const s = frozen.sample(10, { seed: 3, activeUnits: [0, 1], temperature: 2 });
    assert.deepEqual(s.x.shape, [10, 20]);
    assert.deepEqual(s.y.shape, [10]);
    assert.equal(s.y.dtype, 'int32');
    assert.ok([...(await s.y.data())].every((v) => v === 0 || v === 1), 'labels restricted to the active units');
    assert.deepEqual(s.probs!.shape, [10, 4]);
    const p = await values(s.probs!);
    assert.ok(p[2] === 0 && p[3] === 0, 'inactive units get no probability');
    const expectY = tf.tidy(() => tf.argMax(tf.add(frozen.solver.predict(s.x), tf.tensor2d([[0, 0, -1e9, -1e9]])), 1));
    assert.deepEqual([...(await s.y.data())], [...(await expectY.data())]);
    tf.dispose([s.x, s.y, s.probs!, expectY]);

    const before = frozen.solver.predict(probe);
    const sampleBefore = frozen.generator!.sample(5, 1);
    const bBefore = await values(before);
    const sBefore = await values(sampleBefore);
    for (let i = 0; i < 5; i++) {
      const x = tf.randomUniform([16, 20], 0, 1, 'float32', 10 + i);
      const b = solverBatch(x, 4, i);
      st.step(b)?.dispose();
      tf.dispose(Object.values(gt.step(x, null, i)));
      disposeBatch(b);
      x.dispose();
    }
    const after = frozen.solver.predict(probe);
    const sampleAfter = frozen.generator!.sample(5, 1);
    assert.deepEqual(await values(after), bBefore, 'frozen solver outputs unchanged');
    assert.deepEqual(await values(sampleAfter), sBefore, 'frozen generator samples unchanged');
    const liveOut = solver.predict(probe);
    assert.ok(maxAbsDiff(await values(liveOut), bBefore) > 0, 'the live solver did change');
    tf.dispose([before, after, sampleBefore, sampleAfter, liveOut]);
  } finally {
    probe.dispose();
    st.dispose();
    gt.dispose();
    frozen.dispose();
    live.dispose();
  }
});

test('no tensor leak over 20 iterations of every step', () => {
  const cfg = tiny();
  const solver = buildSolver(cfg.solver, [20], 4, 1);
  const cnn = buildCnnSolver({ kind: 'cnn', channels: [4], hidden: 8, init: 'torch', optimizer: cfg.solver.optimizer }, [8, 8, 1], 4, 1);
  const vae = buildGenerator(cfg.generator!, [20], 2);
  const wm = buildWganGp({ ...presets.wganGp('mlp'), hidden: [8, 8], latent: 4, criticSteps: 1 }, [20], 3);
  const wc = buildWganGp({ ...presets.wganGp('dcgan'), hidden: [2, 4], latent: 4, criticSteps: 1 }, [8, 8, 1], 3);
  const scholar = createScholar(vae, solver);
  const frozen = snapshotScholar(scholar);
  const st = createSolverTrainer(solver);
  const ct = createSolverTrainer(cnn);
  const vt = createGeneratorTrainer(vae);
  const wmt = createWganGpTrainer(wm);
  const wct = createWganGpTrainer(wc);
  const x = tf.randomUniform([8, 20], 0, 1, 'float32', 1);
  const xi = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 1);
  const b = solverBatch(x, 4, 1);
  const bi = solverBatch(xi, 4, 1);
  const w = tf.fill([8], 1 / 8) as Tensor1D;
  try {
    assertNoLeak('MLP solver step', () => st.step(b)?.dispose());
    assertNoLeak('MLP solver step without loss', () => assert.equal(st.step(b, false), null));
    assertNoLeak('CNN solver step', () => ct.step(bi)?.dispose());
    assertNoLeak('VAE step', (i) => tf.dispose(Object.values(vt.step(x, w, i))));
    assertNoLeak('VAE step without loss', (i) => tf.dispose(Object.values(vt.step(x, null, i, false))));
    assertNoLeak('WGAN-GP (mlp) critic step', (i) => {
      const l = wmt.criticStep(x, null, i);
      assert.ok(Object.values(l).every((t) => !t.isDisposed && Number.isFinite(t.dataSync()[0])), 'critic losses are readable');
      tf.dispose(Object.values(l));
    });
    assertNoLeak('WGAN-GP (mlp) generator step', (i) => tf.dispose(Object.values(wmt.generatorStep(8, i))));
    assertNoLeak('WGAN-GP (dcgan) full step', (i) => tf.dispose(Object.values(wct.step(xi, w, i))));
    assertNoLeak('replay sampling', (i) => {
      const s = frozen.sample(8, { seed: i, temperature: 2 });
      tf.dispose([s.x, s.y, s.probs!]);
    });
    assertNoLeak('predict', () => tf.dispose([solver.predict(x), frozen.solver.predict(x)]));
  } finally {
    disposeBatch(b);
    disposeBatch(bi);
    tf.dispose([x, xi, w]);
    [st, ct, vt, wmt, wct].forEach((t) => t.dispose());
    frozen.dispose();
    scholar.dispose();
    [cnn, wm, wc].forEach((m) => m.dispose());
  }
});

// ------------------------------------------------------------------------------------ training

test('trainSequence: every replay mode and scenario runs without leaks; same seed gives the same results', async () => {
  const cases: [string, 'class' | 'task' | 'domain', ExperimentConfig][] = [
    ['generative/class', 'class', tiny()],
    ['generative/task', 'task', tiny({ scenario: 'task' })],
    ['generative/domain + soft targets', 'domain', tiny({ scenario: 'domain', replay: { targets: 'soft' } })],
    ['noise/class', 'class', tiny({ replay: { mode: 'noise' }, generator: null })],
    ['exact/task', 'task', tiny({ scenario: 'task', replay: { mode: 'exact', ratio: 0.5 }, generator: null })],
    ['none/class + generator', 'class', tiny({ replay: { mode: 'none' } })],
    ['generative/wgan-gp', 'class', tiny({ iterations: 5, generator: { ...presets.wganGp('mlp'), hidden: [8, 8], latent: 4, criticSteps: 2 } })],
  ];
  for (const [name, scenario, cfg] of cases) {
    const seq = blobSequence({ numTasks: 3, perClass: 16, scenario, seed: 123 });
    try {
      const before = tf.memory().numTensors;
      const a = await trainSequence(seq, cfg, { progress: { everySeconds: 0, write: () => undefined }, curveEvery: 10 });
      a.scholar.dispose();
      const bad = a.losses.find((l) => Object.values(l.losses).some((v) => !Number.isFinite(v) || Math.abs(v) > 1e3));
      assert.equal(bad, undefined, `${name}: losses stay finite and small (a target hidden by the logit mask would give ~1e9)`);
      assert.equal(tf.memory().numTensors, before, `${name}: trainSequence leaked ${tf.memory().numTensors - before} tensors`);
      assert.equal(a.accuracy.length, 3, `${name}: one row per task`);
      assert.ok(a.accuracy.every((r) => r.length === 3 && r.every((v) => v >= 0 && v <= 1)));
      assert.equal(a.curves.length, 3 * (Math.floor(cfg.iterations / 10) + 1), `${name}: curve points`);
      const b = await trainSequence(seq, cfg, { progress: false });
      b.scholar.dispose();
      assert.deepEqual(b.accuracy, a.accuracy, `${name}: same seed, same accuracy matrix`);
    } finally {
      seq.dispose();
    }
  }
});

test('trainSequence: a different seed changes the run; progress and onTaskEnd are called', async () => {
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
});

test('checkpoints: an interrupted run resumes after its last finished task with identical results; mismatches fail clearly', async () => {
  const seq = blobSequence({ numTasks: 3, perClass: 16, seed: 123 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-engine-'));
  try {
    const cfg = tiny();
    const full = await trainSequence(seq, cfg, { progress: false });
    full.scholar.dispose();
    const ckdir = path.join(dir, 'run');
    const part = await trainSequence(seq, cfg, { progress: false, checkpointDir: ckdir, stopAfterTask: 0 });
    part.scholar.dispose();
    assert.equal(part.accuracy.length, 1);
    const resumed = await trainSequence(seq, cfg, { progress: false, checkpointDir: ckdir });
    assert.equal(resumed.resumedTasks, 1);
    assert.deepEqual(resumed.accuracy, full.accuracy, 'resumed run = uninterrupted run');
    resumed.scholar.dispose();
    await assert.rejects(trainSequence(seq, tiny({ seed: 5 }), { progress: false, checkpointDir: ckdir }), (e: Error) => e instanceof CheckpointError && /meta\.config/.test(e.message));

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
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'live', 'manifest.json'), 'utf8')) as { tensors: { file: string }[] };
    const victim = path.join(dir, 'live', manifest.tensors[0]!.file);
    const bytes = fs.readFileSync(victim);
    bytes[10] = (bytes[10] as number) ^ 0xff;
    fs.writeFileSync(victim, bytes);
    await assert.rejects(loadScholar(path.join(dir, 'live')), (e: Error) => e instanceof CheckpointError && /corrupt/.test(e.message));
  } finally {
    seq.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('end to end: generative replay beats no replay on two split-MNIST tasks (class-IL)', async () => {
  const mnist = await loadMnist();
  const full = splitMnist(mnist, { scenario: 'class', trainPerTask: 1000, testPerTask: 300 });
  const seq: TaskSequence = { ...full, tasks: full.tasks.slice(0, 2) };
  try {
    const base = configWith(presets.splitMnistGR(), { iterations: 150, batchSize: 32, solver: { hidden: [100] }, generator: { hidden: [100], latent: 10 }, replay: { batchSize: 32 } });
    const none = await trainSequence(seq, configWith(base, { replay: { mode: 'none' }, generator: null }), { progress: false });
    const gr = await trainSequence(seq, base, { progress: false });
    none.scholar.dispose();
    gr.scholar.dispose();
    const accNone = averageAccuracy(none.accuracy);
    const accGr = averageAccuracy(gr.accuracy);
    assert.ok(none.accuracy[1]![0]! < 0.2, `without replay task 1 is forgotten (class-IL): ${none.accuracy[1]![0]}`);
    assert.ok(accGr >= accNone + 0.2, `generative replay ${accGr.toFixed(3)} should beat no replay ${accNone.toFixed(3)} by 0.2`);
  } finally {
    full.dispose();
  }
});
