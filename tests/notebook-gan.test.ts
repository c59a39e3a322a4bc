/**
 * Tests of lib/notebook/gan.ts: toy mixtures and their densities, the KDE,
 * mode coverage, the standard GAN (losses against a direct computation, which
 * network each update changes, no leaks, it learns a 1-D Gaussian), the
 * training loop (losses, fixed-noise snapshots, determinism), the WGAN-GP
 * noise reproduction (a hand-computed gradient penalty equals the engine's),
 * sample classification and the animated figure.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';
import {
  animatedFigure,
  gaussianMixture,
  kde1d,
  linspace,
  mixtureDensity,
  modeCoverage,
  ringOfGaussians,
  sampleMixture,
} from '../lib/notebook/gan-toy';
import {
  buildStandardGan,
  classifySamples,
  createStandardGanTrainer,
  lossTraces,
  meanPairwiseDistance,
  snapshotSchedule,
  standardGanConfig,
  trainGan,
  wganGpCriticNoise,
} from '../lib/notebook/gan';
import { buildWganGp, createWganGpTrainer, dense, deriveSeed, presets } from '../lib/engine';
import { figureBundle, PLOTLY_MIME } from '../lib/figures';

const close = (a: number, b: number, tol: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);
const flat = async (t: Tensor): Promise<number[]> => Array.from((await t.data()) as Float32Array);

test('gaussianMixture validates and normalises weights', () => {
  const m = gaussianMixture([
    { weight: 1, mean: [0], std: 1 },
    { weight: 3, mean: [2], std: 0.5 },
  ]);
  assert.deepEqual(
    m.components.map((c) => c.weight),
    [0.25, 0.75],
  );
  assert.equal(m.dim, 1);
  assert.throws(() => gaussianMixture([]), /non-empty/);
  assert.throws(
    () => gaussianMixture([{ weight: 1, mean: [0], std: 0 }]),
    /std must be a positive/,
  );
  assert.throws(
    () =>
      gaussianMixture([
        { weight: 1, mean: [0], std: 1 },
        { weight: 1, mean: [0, 1], std: 1 },
      ]),
    /components\[1\]\.mean has 2/,
  );
});

test('sampleMixture: deterministic per seed, right moments, density integrates to 1', async () => {
  const m = gaussianMixture([
    { weight: 0.3, mean: [-2], std: 0.5 },
    { weight: 0.7, mean: [1], std: 0.25 },
  ]);
  const a = sampleMixture(m, 20000, 7);
  const b = sampleMixture(m, 20000, 7);
  const c = sampleMixture(m, 20000, 8);
  const [va, vb, vc] = await Promise.all([flat(a), flat(b), flat(c)]);
  tf.dispose([a, b, c]);
  assert.deepEqual(va, vb);
  assert.notDeepEqual(va, vc);
  const mean = va.reduce((s, v) => s + v, 0) / va.length;
  close(mean, 0.3 * -2 + 0.7 * 1, 0.03, 'sample mean');
  const share = va.filter((v) => v < -0.5).length / va.length;
  close(share, 0.3, 0.015, 'share of the left component');
  const xs = linspace(-6, 6, 2001);
  const p = mixtureDensity(m, xs);
  close(p.reduce((s, v) => s + v, 0) * (12 / 2000), 1, 1e-3, 'integral of the density');
  close(
    mixtureDensity(m, [1])[0] as number,
    0.7 / (Math.sqrt(2 * Math.PI) * 0.25) + (0.3 * Math.exp(-18)) / (Math.sqrt(2 * Math.PI) * 0.5),
    1e-9,
    'density at a mean',
  );
});

test('kde1d approximates a known density and integrates to 1', async () => {
  const m = gaussianMixture([{ weight: 1, mean: [0], std: 1 }]);
  const s = sampleMixture(m, 4000, 3);
  const v = await flat(s);
  s.dispose();
  const xs = linspace(-5, 5, 201);
  const est = kde1d(v, xs);
  const truth = mixtureDensity(m, xs);
  close(est.reduce((a, b) => a + b, 0) * 0.05, 1, 0.01, 'KDE integral');
  const maxErr = Math.max(...est.map((e, i) => Math.abs(e - (truth[i] as number))));
  assert.ok(maxErr < 0.03, `KDE max error ${maxErr}`);
  assert.throws(() => kde1d([], xs), /empty/);
});

test('modeCoverage: a ring sample covers every mode; a collapsed sample covers one', async () => {
  const ring = ringOfGaussians(8);
  const s = sampleMixture(ring, 2000, 1);
  const v = await flat(s);
  s.dispose();
  const full = modeCoverage(ring, v);
  assert.equal(full.covered, 8);
  assert.ok(full.highQuality > 0.98, `high quality ${full.highQuality}`);
  const m0 = ring.components[0]?.mean as readonly number[];
  const collapsed = Array.from({ length: 400 }, (_, i) => [
    (m0[0] as number) + (i % 2 ? 0.01 : -0.01),
    m0[1] as number,
  ]).flat();
  const one = modeCoverage(ring, collapsed);
  assert.equal(one.covered, 1);
  assert.equal(one.perMode[0], 400);
  const far = modeCoverage(ring, [0.5, 0.5, 0.5, 0.5]); // the centre is far from every mode
  assert.equal(far.highQuality, 0);
  assert.equal(far.covered, 0);
});

test('standardGanConfig rejects bad settings with the field name', () => {
  assert.throws(() => standardGanConfig({ latent: 0 }), /latent must be a positive integer/);
  assert.throws(
    () => standardGanConfig({ generatorLoss: 'wasserstein' as never }),
    /generatorLoss/,
  );
  assert.throws(() => standardGanConfig({ discriminatorHidden: [] }), /discriminatorHidden needs/);
  assert.equal(standardGanConfig().generatorLoss, 'non-saturating');
});

test('standard GAN: D loss is −V, each update changes only its own network, no leaks', async () => {
  const gan = buildStandardGan(
    standardGanConfig({ latent: 3, generatorHidden: [8], discriminatorHidden: [8] }),
    [2],
    5,
  );
  const trainer = createStandardGanTrainer(gan);
  const x = tf.tensor2d([
    [0.1, 0.2],
    [0.5, -0.3],
    [1.2, 0.7],
    [-0.4, 0.9],
  ]);
  const seed = 11;
  // Expected D loss before the update, from D's probabilities directly:
  // −mean log D(x) − mean log(1 − D(G(z))).
  const fake = gan.sample(4, deriveSeed(seed, 'z'));
  const dReal = await flat(gan.discriminate(x));
  const dFake = await flat(gan.discriminate(fake));
  const expected =
    -dReal.reduce((s, d) => s + Math.log(d), 0) / 4 -
    dFake.reduce((s, d) => s + Math.log(1 - d), 0) / 4;
  const g0 = await flat(gan.params.generator.readFlat());
  const d0 = await flat(gan.params.discriminator.readFlat());
  const loss = trainer.discriminatorStep(x, null, seed);
  close((await loss.data())[0] as number, expected, 1e-5, 'discriminator loss');
  loss.dispose();
  assert.deepEqual(await flat(gan.params.generator.readFlat()), g0, 'D step leaves G alone');
  const d1 = await flat(gan.params.discriminator.readFlat());
  assert.notDeepEqual(d1, d0, 'D step changes D');
  // Generator step (non-saturating): loss −mean log D(G(z)) with z from the seed; changes G only.
  const gs = 12;
  const dG = await flat(gan.discriminate(gan.sample(4, gs)));
  const gLoss = trainer.generatorStep(4, gs);
  close(
    (await gLoss.data())[0] as number,
    -dG.reduce((s, d) => s + Math.log(d), 0) / 4,
    1e-5,
    'generator loss',
  );
  gLoss.dispose();
  assert.deepEqual(await flat(gan.params.discriminator.readFlat()), d1, 'G step leaves D alone');
  assert.notDeepEqual(await flat(gan.params.generator.readFlat()), g0, 'G step changes G');
  fake.dispose();
  // Leaks: repeated full steps keep the tensor count constant.
  tf.dispose(Object.values(trainer.step(x, null, 1)));
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) tf.dispose(Object.values(trainer.step(x, null, 2 + i, i % 2 === 0)));
  assert.equal(tf.memory().numTensors, n0);
  trainer.dispose();
  gan.dispose();
  x.dispose();
});

test('standard GAN: the minimax generator loss is mean log(1 − D(G(z)))', async () => {
  const gan = buildStandardGan(
    standardGanConfig({
      latent: 2,
      generatorHidden: [4],
      discriminatorHidden: [4],
      generatorLoss: 'minimax',
    }),
    [1],
    2,
  );
  const trainer = createStandardGanTrainer(gan);
  const dG = await flat(gan.discriminate(gan.sample(6, 9)));
  const gLoss = trainer.generatorStep(6, 9);
  close(
    (await gLoss.data())[0] as number,
    dG.reduce((s, d) => s + Math.log(1 - d), 0) / 6,
    1e-5,
    'minimax generator loss',
  );
  gLoss.dispose();
  trainer.dispose();
  gan.dispose();
});

test(
  'trainGan: a standard GAN learns a 1-D Gaussian; ' + 'losses, fixed-noise snapshots, determinism',
  async () => {
    const target = gaussianMixture([{ weight: 1, mean: [3], std: 0.5 }]);
    const run = async (): Promise<{
      losses: string;
      first: number[];
      lastMean: number;
      count: number;
      snaps: number[];
    }> => {
      const gan = buildStandardGan(
        standardGanConfig({
          latent: 4,
          generatorHidden: [16],
          discriminatorHidden: [16],
          generatorOptimizer: { lr: 2e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 },
          discriminatorOptimizer: { lr: 2e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 },
        }),
        [1],
        1,
      );
      const trainer = createStandardGanTrainer(gan);
      const before = gan.sample(16, 77);
      const first = await flat(before);
      before.dispose();
      const n0 = tf.memory().numTensors;
      const r = await trainGan(trainer, (n, s) => sampleMixture(target, n, s), {
        iterations: 400,
        batchSize: 64,
        seed: 4,
        lossEvery: 50,
        snapshotAt: [0, 200, 400],
        snapshotCount: 16,
        snapshotSeed: 77,
      });
      const snapFirst = await flat(r.snapshots[0]?.samples as Tensor);
      assert.deepEqual(
        snapFirst,
        first,
        'the snapshot at 0 is sample(count, snapshotSeed) before training',
      );
      const big = gan.sample(2000, 5);
      const v = await flat(big);
      big.dispose();
      const out = {
        losses: JSON.stringify(r.losses),
        first,
        lastMean: v.reduce((s, x) => s + x, 0) / v.length,
        count: tf.memory().numTensors - n0,
        snaps: r.snapshots.map((s) => s.iteration),
      };
      assert.equal(r.losses.length, 8);
      assert.deepEqual(
        r.losses.map((p) => p.iteration),
        [50, 100, 150, 200, 250, 300, 350, 400],
      );
      assert.deepEqual(Object.keys(r.losses[0]?.losses ?? {}).sort(), [
        'discriminator',
        'generator',
      ]);
      assert.ok(r.msPerIteration > 0);
      r.dispose();
      out.count = tf.memory().numTensors - n0;
      trainer.dispose();
      gan.dispose();
      return out;
    };
    const a = await run();
    const b = await run();
    assert.equal(a.losses, b.losses, 'same seed, same losses');
    assert.deepEqual(a.snaps, [0, 200, 400]);
    assert.equal(a.count, 0, 'no tensors left after dispose');
    const startMean = a.first.reduce((s, x) => s + x, 0) / a.first.length;
    assert.ok(
      Math.abs(startMean - 3) > 1.5,
      `the untrained generator is far from the data (mean ${startMean})`,
    );
    assert.ok(
      Math.abs(a.lastMean - 3) < 0.4,
      `after training the generator mean is ${a.lastMean}, want about 3`,
    );
  },
);

test('trainGan checks its options', async () => {
  const gan = buildStandardGan(
    standardGanConfig({ latent: 2, generatorHidden: [4], discriminatorHidden: [4] }),
    [1],
    0,
  );
  const trainer = createStandardGanTrainer(gan);
  const data = tf.zeros([10, 1]);
  await assert.rejects(
    trainGan(trainer, data, { iterations: 0, batchSize: 4, seed: 0, lossEvery: 1 }),
    /iterations must be a positive integer/,
  );
  await assert.rejects(
    trainGan(trainer, data, {
      iterations: 3,
      batchSize: 4,
      seed: 0,
      lossEvery: 1,
      snapshotAt: [4],
    }),
    /snapshotAt 4 is outside 0..3/,
  );
  const r = await trainGan(trainer, data, { iterations: 3, batchSize: 4, seed: 0, lossEvery: 2 });
  assert.deepEqual(
    r.losses.map((p) => p.iteration),
    [2, 3],
    'every lossEvery and the last',
  );
  r.dispose();
  data.dispose();
  trainer.dispose();
  gan.dispose();
});

test('wganGpCriticNoise: the gradient penalty by hand equals the engine critic step', async () => {
  const cfg = { ...presets.wganGp('mlp'), latent: 3, hidden: [8, 6] };
  const gen = buildWganGp(cfg, [4], 3);
  const trainer = createWganGpTrainer(gen);
  const x = tf.tensor2d([
    [0.1, 0.9, 0.3, 0.5],
    [0.7, 0.2, 0.8, 0.4],
    [0.3, 0.3, 0.6, 0.1],
  ]);
  const seed = 21;
  const critic = (w: readonly Tensor[], v: Tensor): Tensor1D => {
    let h = v;
    const layers = w.length / 2;
    for (let l = 0; l < layers; l++)
      h = dense(
        h,
        w[2 * l] as Tensor,
        w[2 * l + 1] as Tensor,
        l === layers - 1 ? 'linear' : 'leakyRelu',
      );
    return h.reshape([-1]) as Tensor1D;
  };
  const byHand = tf.tidy(() => {
    const { fake, eps } = wganGpCriticNoise(gen, 3, seed);
    const w = (gen.params.critic as { read(): Tensor[] }).read();
    const xhat = fake.add(eps.mul(x.sub(fake)));
    const g = tf.grad((v: Tensor) => critic(w, v).sum())(xhat) as Tensor2D;
    const gp = g.square().sum(1).sqrt().sub(1).square().mean();
    const wdist = critic(w, fake).mean().sub(critic(w, x).mean());
    return tf.stack([gp, wdist.add(gp.mul(cfg.gpWeight))]);
  });
  const [gp, loss] = await flat(byHand);
  byHand.dispose();
  const lib = trainer.criticStep(x, null, seed);
  close((await lib.gp?.data())?.[0] as number, gp as number, 1e-5, 'gradient penalty');
  close((await lib.critic?.data())?.[0] as number, loss as number, 1e-5, 'critic loss');
  assert.ok((gp as number) > 0);
  tf.dispose(Object.values(lib));
  // Every loss a full WGAN-GP step returns is readable, and disposing them leaks nothing.
  tf.dispose(Object.values(trainer.step(x, null, 1)));
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const losses = trainer.step(x, null, 2 + i);
    assert.deepEqual(Object.keys(losses).sort(), ['critic', 'generator', 'gp']);
    for (const v of Object.values(losses))
      assert.ok(Number.isFinite(((await v.data()) as Float32Array)[0]));
    tf.dispose(Object.values(losses));
  }
  assert.equal(tf.memory().numTensors, n0);
  assert.throws(() => wganGpCriticNoise(gen, 0, 1), /batchSize/);
  trainer.dispose();
  gen.dispose();
  x.dispose();
});

test('classifySamples: class histogram, mean confidence, confident share', async () => {
  const logits = tf.tensor2d([
    [5, 0, 0],
    [0, 5, 0],
    [0, 5, 0],
    [0, 0, 0],
  ]);
  const r = await classifySamples(
    { predict: () => logits.clone() as Tensor2D },
    tf.zeros([4, 1]),
    0.9,
  );
  const top = Math.exp(5) / (Math.exp(5) + 2);
  assert.deepEqual(r.counts, [2, 2, 0], 'ties go to the first class');
  close(r.meanConfidence, (3 * top + 1 / 3) / 4, 1e-6, 'mean confidence');
  assert.equal(r.confidentShare, 0.75);
  logits.dispose();
});

test('lossTraces and animatedFigure (frames survive into the Plotly MIME bundle)', () => {
  const tr = lossTraces([
    { iteration: 1, losses: { a: 1, b: 2 } },
    { iteration: 2, losses: { a: 0.5 } },
  ]);
  assert.equal(tr.length, 2);
  assert.deepEqual(tr[1]?.y, [2, null]);
  const frames = [0, 1, 2].map((i) => ({
    name: `it ${i}`,
    data: [{ type: 'scatter', x: [i], y: [i] }],
  }));
  const fig = animatedFigure(frames, { title: { text: 't' }, xaxis: { range: [0, 2] } });
  assert.deepEqual(fig.data, frames[2]?.data, 'static data is the last frame');
  assert.equal(fig.frames?.length, 3);
  const sliders = fig.layout?.sliders as { active: number; steps: unknown[] }[];
  assert.equal(sliders[0]?.active, 2);
  assert.equal(sliders[0]?.steps.length, 3);
  const bundle = figureBundle(fig, null);
  assert.equal((bundle.data[PLOTLY_MIME] as { frames: unknown[] }).frames.length, 3);
  assert.throws(
    () => animatedFigure([frames[0] as never, { name: 'x', data: [] }], {}),
    /frame 1 \(x\) has 0 traces/,
  );
});

test('snapshotSchedule: endpoints, count, no duplicates, geometric is denser early', () => {
  assert.deepEqual(snapshotSchedule(100, 5), [0, 25, 50, 75, 100]);
  const g = snapshotSchedule(2000, 12, 'geometric');
  assert.equal(g.length, 12);
  assert.equal(g[0], 0);
  assert.equal(g[11], 2000);
  assert.equal(new Set(g).size, 12);
  assert.ok((g[2] as number) < 2000 / 11, `early points are dense: ${g.join(',')}`);
  assert.deepEqual(snapshotSchedule(3, 10), [0, 1, 2, 3], 'at most iterations + 1 points');
  assert.throws(() => snapshotSchedule(10, 1), /count must be an integer >= 2/);
});

test('meanPairwiseDistance: 0 for identical rows, exact for a small case', async () => {
  const same = tf.ones([5, 3]);
  close(await meanPairwiseDistance(same), 0, 1e-3, 'identical rows');
  const x = tf.tensor2d([
    [0, 0],
    [3, 4],
    [6, 8],
  ]); // distances 5, 10, 5
  close(await meanPairwiseDistance(x), 20 / 3, 1e-4, 'three points');
  await assert.rejects(meanPairwiseDistance(tf.zeros([1, 2])), /at least 2 rows/);
  tf.dispose([same, x]);
});
