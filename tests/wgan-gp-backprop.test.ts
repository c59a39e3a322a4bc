/**
 * The hand-written WGAN-GP passes (generators.ts: criticBackprop with the
 * gradient penalty's double backward, generatorBackprop) against tf.js
 * autodiff, on random weights and inputs, for the MLP and the DCGAN-style
 * nets; no tensor leaks per step; bit-for-bit determinism for fixed seeds.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs-node';
import {
  ParamSet,
  WganGpConfig,
  buildWganGp,
  createWganGpTrainer,
  dense,
  presets,
} from '../lib/engine';
import { statelessNormal } from '../lib/engine/native';

async function values(t: Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Random parameters N(0, sd²) (biases too, so every term of the passes is exercised). */
function randomize(p: ParamSet, sd: number, seed: number): void {
  const flat = tf.randomNormal([p.size], 0, sd, 'float32', seed);
  p.assignFlat(flat);
  flat.dispose();
}

/**
 * |manual − autodiff| ≤ 1e-5 · (the reference's largest magnitude) + 1e-7, tensor by tensor;
 * returns each tensor's largest difference relative to that magnitude.
 */
async function assertClose(what: string, manual: Tensor[], auto: Tensor[]): Promise<number[]> {
  assert.equal(manual.length, auto.length, `${what}: number of tensors`);
  const rel: number[] = [];
  for (let i = 0; i < manual.length; i++) {
    assert.deepEqual(manual[i]!.shape, auto[i]!.shape, `${what} ${i}: shape`);
    const a = await values(auto[i]!);
    const d = maxAbsDiff(await values(manual[i]!), a);
    const scale = maxAbs(a);
    assert.ok(d <= 1e-5 * scale + 1e-7, `${what} ${i} differs by ${d} (scale ${scale})`);
    rel.push(d / Math.max(scale, 1e-30));
  }
  return rel;
}

const cases: { name: string; config: WganGpConfig; shape: number[]; sd: number }[] = [
  {
    name: 'mlp',
    config: { ...presets.wganGp('mlp'), hidden: [12, 16], latent: 5 },
    shape: [20],
    sd: 0.4,
  },
  {
    name: 'mlp, image input',
    config: { ...presets.wganGp('mlp'), hidden: [8, 6], latent: 3 },
    shape: [4, 5, 1],
    sd: 0.4,
  },
  {
    name: 'dcgan',
    config: { ...presets.wganGp('dcgan'), hidden: [3, 4], latent: 5 },
    shape: [8, 8, 3],
    sd: 0.3,
  },
];

for (const c of cases) {
  const title = `WGAN-GP (${c.name}): hand-written critic and generator gradients == autodiff`;
  test(`${title} to 1e-5`, async (ctx) => {
    const g = buildWganGp(c.config, c.shape, 1);
    const g0 = buildWganGp({ ...c.config, gpWeight: 0 }, c.shape, 1);
    for (const gen of [g, g0]) {
      randomize(gen.params.critic!, c.sd, 11);
      randomize(gen.params.generator!, c.sd, 12);
    }
    const t = createWganGpTrainer(g);
    const t0 = createWganGpTrainer(g0);
    const b = 6;
    const x = tf.randomUniform([b, ...c.shape], 0, 1, 'float32', 3);
    const w = tf.tensor1d([0.3, 0.1, 0.2, 0.1, 0.25, 0.05]);
    try {
      for (const weights of [w, null]) {
        const m = t.criticGradients(x, weights, 5, 'manual');
        const a = t.criticGradients(x, weights, 5, 'autodiff');
        const gpValue = (await values(a.gp))[0]!;
        assert.ok(gpValue > 1e-3, `the penalty is not trivial (${gpValue})`);
        await assertClose('critic loss, penalty', [m.critic, m.gp], [a.critic, a.gp]);
        const rel = await assertClose('critic gradient', m.grads, a.grads);
        // The test can fail: the penalty's share of the weight gradients is far above tolerance.
        const m0 = t0.criticGradients(x, weights, 5, 'manual');
        let share = 0;
        let worst = 0;
        for (let i = 0; i < m.grads.length; i += 2) {
          worst = Math.max(worst, rel[i]!);
          const ref = await values(a.grads[i]!);
          share = Math.max(share, maxAbsDiff(await values(m0.grads[i]!), ref) / maxAbs(ref));
        }
        assert.ok(share > 1e-2, `the penalty changes the weight gradients (by ${share} relative)`);
        assert.ok(
          worst < share / 100,
          `agreement ${worst} is much finer than the penalty's share ${share}`,
        );
        ctx.diagnostic(
          `weights ${weights === null ? 'uniform' : 'given'}: weight gradients agree to ` +
            `${worst.toExponential(1)} relative; the penalty's share ${share.toFixed(2)}`,
        );
        tf.dispose([
          m.critic,
          m.gp,
          ...m.grads,
          a.critic,
          a.gp,
          ...a.grads,
          m0.critic,
          m0.gp,
          ...m0.grads,
        ]);
      }
      const mg = t.generatorGradients(7, 9, 'manual');
      const ag = t.generatorGradients(7, 9, 'autodiff');
      await assertClose('generator loss', [mg.generator], [ag.generator]);
      await assertClose('generator gradient', mg.grads, ag.grads);
      tf.dispose([mg.generator, ...mg.grads, ag.generator, ...ag.grads]);
    } finally {
      tf.dispose([x, w]);
      t.dispose();
      t0.dispose();
      g.dispose();
      g0.dispose();
    }
  });
}

test('WGAN-GP steps leak no tensors (critic, generator, full step; weights changing)', () => {
  const wm = buildWganGp(
    { ...presets.wganGp('mlp'), hidden: [8, 8], latent: 4, criticSteps: 2 },
    [20],
    3,
  );
  const wc = buildWganGp(
    { ...presets.wganGp('dcgan'), hidden: [2, 4], latent: 4, criticSteps: 2 },
    [8, 8, 1],
    3,
  );
  const tm = createWganGpTrainer(wm);
  const tc = createWganGpTrainer(wc);
  const x = tf.randomUniform([8, 20], 0, 1, 'float32', 1);
  const xi = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 1);
  const xflat = tf.reshape(xi, [8, 64]);
  const ws = [
    tf.fill([8], 1 / 8) as Tensor1D,
    tf.tensor1d([0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2]),
  ];
  const noLeak = (name: string, step: (i: number) => void): void => {
    step(0);
    const before = tf.memory().numTensors;
    for (let i = 1; i <= 10; i++) step(i);
    assert.equal(
      tf.memory().numTensors,
      before,
      `${name} leaks ${tf.memory().numTensors - before} tensors over 10 steps`,
    );
  };
  try {
    for (const [name, t, xs] of [
      ['mlp', tm, x],
      ['dcgan', tc, xi],
      ['dcgan, flat input', tc, xflat],
    ] as const) {
      noLeak(`${name} critic step`, (i) =>
        tf.dispose(Object.values(t.criticStep(xs, ws[i % 2]!, i))),
      );
      noLeak(`${name} critic step, uniform weights`, (i) =>
        tf.dispose(Object.values(t.criticStep(xs, null, i))),
      );
      noLeak(`${name} generator step`, (i) =>
        tf.dispose(Object.values(t.generatorStep(8 - (i % 2), i))),
      );
      noLeak(`${name} full step`, (i) => {
        const l = t.step(xs, i % 3 === 0 ? null : ws[i % 2]!, i);
        assert.deepEqual(Object.keys(l).sort(), ['critic', 'generator', 'gp']);
        assert.ok(
          Object.values(l).every((s) => Number.isFinite(s.dataSync()[0])),
          'losses are finite',
        );
        tf.dispose(Object.values(l));
      });
    }
  } finally {
    tf.dispose([x, xi, xflat, ...ws]);
    tm.dispose();
    tc.dispose();
    wm.dispose();
    wc.dispose();
  }
});

test('WGAN-GP training is deterministic: same seeds, same parameters bit for bit', async () => {
  const cfg = { ...presets.wganGp('mlp'), hidden: [8, 8], latent: 4, criticSteps: 2 };
  const x = tf.randomUniform([8, 20], 0, 1, 'float32', 1);
  const run = async (): Promise<Float32Array[]> => {
    const g = buildWganGp(cfg, [20], 3);
    const t = createWganGpTrainer(g);
    for (let i = 0; i < 3; i++) tf.dispose(Object.values(t.step(x, null, i)));
    const out = [g.params.critic!, g.params.generator!].map((p) => p.readFlat());
    const v = await Promise.all(out.map(values));
    tf.dispose(out);
    t.dispose();
    g.dispose();
    return v;
  };
  try {
    const [a, b] = [await run(), await run()];
    for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i]);
  } finally {
    x.dispose();
  }
});

test('WGAN-GP sample() (native ops) equals the generator written with tf.js ops', async () => {
  const mlp = buildWganGp({ ...presets.wganGp('mlp'), hidden: [8, 6], latent: 4 }, [20], 3);
  const conv = buildWganGp({ ...presets.wganGp('dcgan'), hidden: [2, 4], latent: 4 }, [8, 8, 3], 3);
  for (const g of [mlp, conv]) randomize(g.params.generator!, 0.3, 4);
  const byTf = (g: typeof mlp): Tensor =>
    tf.tidy(() => {
      const w = g.params.generator!.read();
      const z = statelessNormal([5, 4], 7);
      if (g === mlp) {
        const h = dense(dense(z, w[0]!, w[1]!, 'relu'), w[2]!, w[3]!, 'relu');
        return dense(h, w[4]!, w[5]!, 'sigmoid');
      }
      const h0 = tf.reshape(dense(z, w[0]!, w[1]!, 'relu'), [5, 2, 2, 4]) as Tensor4D;
      const up1 = tf.conv2dTranspose(h0, w[2] as Tensor4D, [5, 4, 4, 2], 2, 'same');
      const h1 = tf.relu(tf.add(up1, w[3]!)) as Tensor4D;
      const up2 = tf.conv2dTranspose(h1, w[4] as Tensor4D, [5, 8, 8, 3], 2, 'same');
      return tf.sigmoid(tf.add(up2, w[5]!));
    });
  try {
    for (const g of [mlp, conv]) {
      const [fast, ref] = [g.sample(5, 7), byTf(g)];
      assert.deepEqual(fast.shape, ref.shape);
      const d = maxAbsDiff(await values(fast), await values(ref));
      assert.ok(d <= 1e-6, `${g === mlp ? 'mlp' : 'dcgan'} samples differ by ${d}`);
      tf.dispose([fast, ref]);
    }
  } finally {
    mlp.dispose();
    conv.dispose();
  }
});
