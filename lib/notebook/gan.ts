/**
 * GAN basics for notebook 01 (Shin et al. 2017, §2.2: the generator of a scholar is a GAN;
 * Goodfellow et al. 2014; Gulrajani et al. 2017), on MNIST and on the toy data of gan-toy.ts.
 *
 * - A *standard* GAN (the original minimax game or its non-saturating variant)
 *   with MLP generator and discriminator, built from the engine's parameter,
 *   dense-layer and Adam helpers: the engine itself only has WGAN-GP and VAE
 *   generators, and the notebook contrasts the original objective with WGAN-GP.
 * - {@link trainGan}: one training loop for any GAN with the engine's trainer
 *   shape (the standard GAN here, or the engine's WGAN-GP), recording losses
 *   every N iterations and samples from a fixed noise batch at chosen iterations.
 * - Sample quality on MNIST (which digit a classifier sees, how diverse the samples are)
 *   and the figures of notebook 01: the generator's gradient under both losses, loss curves, and
 *   which digit a solver sees in generated samples.
 */
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';
import {
  Adam,
  AdamConfig,
  InitKind,
  ParamSet,
  ParamSpec,
  createAdam,
  createParams,
  dense,
  denseSpecs,
} from '../engine/nn';
import { createBatchSampler, deriveSeed } from '../rng';
import { statelessNormal, statelessUniform } from '../engine/native';
import { createProgress } from '../engine/progress';
import type { Generator } from '../engine/generators';
import type { Classifier } from '../engine/types';
import type { PlotlyFigure, PlotlyTrace } from '../figures/types';

// ------------------------------------------------------------------------------ standard GAN

/**
 * A standard GAN (Goodfellow et al. 2014): G maps z ~ N(0, I) to x, D outputs
 * the probability that x is real. Value function
 *   V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))],  min_G max_D V.
 */
export interface StandardGanConfig {
  readonly kind: 'gan';
  /** Dimension of the noise z. */
  readonly latent: number;
  /** Hidden widths of G (ReLU). */
  readonly generatorHidden: readonly number[];
  /** Hidden widths of D (LeakyReLU 0.2). */
  readonly discriminatorHidden: readonly number[];
  /** G's output: 'linear' (data on R^d) or 'sigmoid' (images in [0, 1]). */
  readonly output: 'linear' | 'sigmoid';
  /**
   * G's loss: 'minimax' minimises E log(1 − D(G(z))) (the game as written; its
   * gradient vanishes when D confidently rejects fakes), 'non-saturating'
   * minimises −E log D(G(z)) (Goodfellow et al.'s practical choice).
   */
  readonly generatorLoss: 'minimax' | 'non-saturating';
  /** D updates per G update. */
  readonly discriminatorSteps: number;
  readonly init: InitKind;
  readonly generatorOptimizer: AdamConfig;
  readonly discriminatorOptimizer: AdamConfig;
}

/**
 * A complete frozen standard-GAN config: defaults (DCGAN's Adam 2e-4, β1 0.5) with `patch` over
 * them, validated.
 */
export function standardGanConfig(
  patch: Partial<Omit<StandardGanConfig, 'kind'>> = {},
): StandardGanConfig {
  const adam = { lr: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
  const c: StandardGanConfig = {
    kind: 'gan',
    latent: 8,
    generatorHidden: [64, 64],
    discriminatorHidden: [64, 64],
    output: 'linear',
    generatorLoss: 'non-saturating',
    discriminatorSteps: 1,
    init: 'glorot',
    generatorOptimizer: adam,
    discriminatorOptimizer: adam,
    ...patch,
  };
  const fail = (field: string, msg: string): never => {
    throw new RangeError(`standardGanConfig: ${field} ${msg}`);
  };
  const posInt = (v: number, f: string): void => {
    if (!Number.isInteger(v) || v <= 0) fail(f, `must be a positive integer, got ${v}`);
  };
  posInt(c.latent, 'latent');
  posInt(c.discriminatorSteps, 'discriminatorSteps');
  if (c.generatorHidden.length === 0) fail('generatorHidden', 'needs at least one hidden layer');
  if (c.discriminatorHidden.length === 0)
    fail('discriminatorHidden', 'needs at least one hidden layer');
  c.generatorHidden.forEach((w, i) => posInt(w, `generatorHidden[${i}]`));
  c.discriminatorHidden.forEach((w, i) => posInt(w, `discriminatorHidden[${i}]`));
  if (c.output !== 'linear' && c.output !== 'sigmoid')
    fail('output', `must be 'linear' or 'sigmoid', got ${JSON.stringify(c.output)}`);
  if (c.generatorLoss !== 'minimax' && c.generatorLoss !== 'non-saturating')
    fail(
      'generatorLoss',
      `must be 'minimax' or 'non-saturating', got ${JSON.stringify(c.generatorLoss)}`,
    );
  if (c.init !== 'glorot' && c.init !== 'torch')
    fail('init', `must be 'glorot' or 'torch', got ${JSON.stringify(c.init)}`);
  for (const [k, a] of [
    ['generatorOptimizer', c.generatorOptimizer],
    ['discriminatorOptimizer', c.discriminatorOptimizer],
  ] as const) {
    if (
      !(a.lr > 0) ||
      !(a.beta1 >= 0 && a.beta1 < 1) ||
      !(a.beta2 >= 0 && a.beta2 < 1) ||
      !(a.epsilon > 0)
    )
      fail(k, `is not a valid Adam config: ${JSON.stringify(a)}`);
  }
  return Object.freeze({
    ...c,
    generatorHidden: Object.freeze([...c.generatorHidden]),
    discriminatorHidden: Object.freeze([...c.discriminatorHidden]),
  });
}

/** A standard GAN's two networks. */
export interface StandardGan {
  readonly config: StandardGanConfig;
  /** Shape of one sample, e.g. [1], [2] or [28, 28, 1]. */
  readonly inputShape: readonly number[];
  /** {generator, discriminator} parameters. */
  readonly params: Readonly<{ generator: ParamSet; discriminator: ParamSet }>;
  /** n samples [n, ...inputShape], noise z from `seed`. */
  sample(n: number, seed: number): Tensor;
  /** D(x) ∈ (0, 1) [n] for x [n, ...inputShape]. */
  discriminate(x: Tensor): Tensor1D;
  /** D's logit l(x) [n] under weights `w` (differentiable; D = sigmoid(l)). */
  logits(w: readonly Tensor[], x: Tensor): Tensor1D;
  /** G(z) under weights `w` (differentiable), z [n, latent] → [n, ...inputShape]. */
  generate(w: readonly Tensor[], z: Tensor): Tensor;
  dispose(): void;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Builds G (latent → hidden… → d) and D (d → hidden… → 1), seeded. */
export function buildStandardGan(
  config: StandardGanConfig,
  inputShape: readonly number[],
  seed: number,
): StandardGan {
  const cfg = standardGanConfig(config);
  if (inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0))
    throw new RangeError(
      `buildStandardGan: inputShape must be positive integers, got [${inputShape.join(', ')}]`,
    );
  const d = sizeOf(inputShape);
  const gSizes = [cfg.latent, ...cfg.generatorHidden, d];
  const dSizes = [d, ...cfg.discriminatorHidden, 1];
  const gSpecs: ParamSpec[] = [];
  const dSpecs: ParamSpec[] = [];
  for (let i = 1; i < gSizes.length; i++)
    gSpecs.push(...denseSpecs(`g${i}`, gSizes[i - 1] as number, gSizes[i] as number, cfg.init));
  for (let i = 1; i < dSizes.length; i++)
    dSpecs.push(...denseSpecs(`d${i}`, dSizes[i - 1] as number, dSizes[i] as number, cfg.init));
  const gP = createParams(gSpecs, deriveSeed(seed, 'gan-generator'));
  const dP = createParams(dSpecs, deriveSeed(seed, 'gan-discriminator'));
  const nG = gSizes.length - 1;
  const nD = dSizes.length - 1;
  const shape = Object.freeze([...inputShape]);
  const generate = (w: readonly Tensor[], z: Tensor): Tensor => {
    let h = z;
    for (let l = 0; l < nG; l++)
      h = dense(h, w[2 * l] as Tensor, w[2 * l + 1] as Tensor, l === nG - 1 ? cfg.output : 'relu');
    return tf.reshape(h, [-1, ...shape]);
  };
  const logits = (w: readonly Tensor[], x: Tensor): Tensor1D => {
    let h: Tensor = tf.reshape(x, [-1, d]);
    for (let l = 0; l < nD; l++)
      h = dense(
        h,
        w[2 * l] as Tensor,
        w[2 * l + 1] as Tensor,
        l === nD - 1 ? 'linear' : 'leakyRelu',
      );
    return tf.reshape(h, [-1]) as Tensor1D;
  };
  return Object.freeze({
    config: cfg,
    inputShape: shape,
    params: Object.freeze({ generator: gP, discriminator: dP }),
    sample(n: number, s: number): Tensor {
      if (!Number.isInteger(n) || n <= 0)
        throw new RangeError(`StandardGan.sample: n must be a positive integer, got ${n}`);
      return tf.tidy(() => generate(gP.read(), statelessNormal([n, cfg.latent], s)));
    },
    discriminate(x: Tensor): Tensor1D {
      return tf.tidy(() => tf.sigmoid(logits(dP.read(), x)) as Tensor1D);
    },
    logits,
    generate,
    dispose(): void {
      gP.dispose();
      dP.dispose();
    },
  });
}

/** Losses of one standard-GAN step (kept scalars: dispose them). */
export type StandardGanLosses = Readonly<{ discriminator: Scalar; generator: Scalar }>;

/** Optimiser state and the alternating updates of a standard GAN. */
export interface StandardGanTrainer {
  readonly generator: StandardGan;
  readonly optimizers: Readonly<{ generator: Adam; discriminator: Adam }>;
  /**
   * One D update on real x [B, ...] (row weights [B] summing to 1, or null = uniform):
   * loss −V = −E w·log D(x) − E log(1 − D(G(z))).
   */
  discriminatorStep(x: Tensor, weights: Tensor1D | null, seed: number): Scalar;
  /**
   * One G update with n samples; returns G's loss (see {@link StandardGanConfig.generatorLoss}).
   */
  generatorStep(n: number, seed: number): Scalar;
  /** `discriminatorSteps` D updates on x, then one G update with B samples. */
  step(
    x: Tensor,
    weights: Tensor1D | null,
    seed: number,
    needLoss?: boolean,
  ): Readonly<Record<string, Scalar>>;
  dispose(): void;
}

export function createStandardGanTrainer(gan: StandardGan): StandardGanTrainer {
  const cfg = gan.config;
  const gP = gan.params.generator;
  const dP = gan.params.discriminator;
  const optG = createAdam(gP, cfg.generatorOptimizer);
  const optD = createAdam(dP, cfg.discriminatorOptimizer);
  const want = gan.inputShape.join(',');
  const d = sizeOf(gan.inputShape);

  const discriminatorStep = (x: Tensor, weights: Tensor1D | null, seed: number): Scalar => {
    const ok = x.shape.slice(1).join(',') === want || (x.rank === 2 && x.shape[1] === d);
    if (!ok)
      throw new Error(
        `StandardGan discriminator step: batch shape [${x.shape.join(', ')}] does not match the ` +
          `model's input shape [${want}]`,
      );
    const b = x.shape[0];
    if (weights !== null && weights.shape[0] !== b)
      throw new Error(
        `StandardGan discriminator step: ${b} inputs but ${weights.shape[0]} weights`,
      );
    const out = tf.tidy(() => {
      const fake = gan.generate(gP.read(), statelessNormal([b, cfg.latent], deriveSeed(seed, 'z')));
      const { value, grads } = tf.valueAndGrads((...dw: Tensor[]) => {
        // −log D(x) = softplus(−l), −log(1 − D(x)) = softplus(l)
        const real = tf.softplus(tf.neg(gan.logits(dw, x)));
        const realTerm = weights === null ? tf.mean(real) : tf.sum(tf.mul(real, weights));
        return tf.add(realTerm, tf.mean(tf.softplus(gan.logits(dw, fake)))) as Scalar;
      })(dP.read());
      return [value, ...grads];
    });
    const grads = out.slice(1);
    optD.apply(grads);
    tf.dispose(grads);
    return out[0] as Scalar;
  };

  const generatorStep = (n: number, seed: number): Scalar => {
    const out = tf.tidy(() => {
      const z = statelessNormal([n, cfg.latent], seed);
      const dw = dP.read();
      const { value, grads } = tf.valueAndGrads((...gw: Tensor[]) => {
        const l = gan.logits(dw, gan.generate(gw, z));
        // non-saturating: −log D(G(z)) = softplus(−l); minimax: log(1 − D(G(z))) = −softplus(l)
        return (
          cfg.generatorLoss === 'non-saturating'
            ? tf.mean(tf.softplus(tf.neg(l)))
            : tf.neg(tf.mean(tf.softplus(l)))
        ) as Scalar;
      })(gP.read());
      return [value, ...grads];
    });
    const grads = out.slice(1);
    optG.apply(grads);
    tf.dispose(grads);
    return out[0] as Scalar;
  };

  return {
    generator: gan,
    optimizers: Object.freeze({ generator: optG, discriminator: optD }),
    discriminatorStep,
    generatorStep,
    step(
      x: Tensor,
      weights: Tensor1D | null,
      seed: number,
      needLoss = true,
    ): Readonly<Record<string, Scalar>> {
      let dLoss: Scalar | null = null;
      for (let i = 0; i < cfg.discriminatorSteps; i++) {
        dLoss?.dispose();
        dLoss = discriminatorStep(x, weights, deriveSeed(seed, 'discriminator', i));
      }
      const gLoss = generatorStep(x.shape[0], deriveSeed(seed, 'generator'));
      if (!needLoss) {
        tf.dispose([dLoss as Scalar, gLoss]);
        return {};
      }
      return { discriminator: dLoss as Scalar, generator: gLoss };
    },
    dispose(): void {
      optG.dispose();
      optD.dispose();
    },
  };
}

// ------------------------------------------------------------------------------ training loop

/**
 * What {@link trainGan} needs of a GAN: the engine's GeneratorTrainer
 * (WGAN-GP, VAE) and {@link StandardGanTrainer} both fit.
 */
export interface TrainableGan {
  readonly generator: { sample(n: number, seed: number): Tensor };
  step(
    x: Tensor,
    weights: Tensor1D | null,
    seed: number,
    needLoss?: boolean,
  ): Readonly<Record<string, Scalar>>;
}

/**
 * Real batches: rows of a data tensor [N, ...], or a sampler (batchSize, seed) → [batchSize, ...].
 */
export type GanData = Tensor | ((batchSize: number, seed: number) => Tensor);

export interface GanTrainingOptions {
  readonly iterations: number;
  readonly batchSize: number;
  /** Drives batch order (or the data sampler) and every step's noise. */
  readonly seed: number;
  /** Read the losses every N iterations (and at the last one). */
  readonly lossEvery: number;
  /**
   * Iterations (0..iterations) after which to draw samples from the fixed noise batch; 0 = before
   * training.
   */
  readonly snapshotAt?: readonly number[];
  /** Samples per snapshot (default 64). */
  readonly snapshotCount?: number;
  /** Seed of the fixed noise batch (default derived from `seed`): the same z at every snapshot. */
  readonly snapshotSeed?: number;
  /**
   * Called with each snapshot as it is taken (e.g. to record D(x) too); its time is not counted as
   * training.
   */
  readonly onSnapshot?: (s: GanSnapshot) => void | Promise<void>;
  /**
   * Progress lines (engine reporter), at most one per `everySeconds` when losses are read;
   * default off.
   */
  readonly progress?:
    | false
    | {
        readonly label?: string;
        readonly everySeconds?: number;
        readonly write?: (line: string) => void;
      };
}

export interface GanSnapshot {
  readonly iteration: number;
  /**
   * Samples [snapshotCount, ...] from the fixed noise batch (owned by the run: disposed by
   * GanRun.dispose).
   */
  readonly samples: Tensor;
}

export interface GanLossPoint {
  readonly iteration: number;
  readonly losses: Readonly<Record<string, number>>;
}

export interface GanRun {
  readonly losses: readonly GanLossPoint[];
  readonly snapshots: readonly GanSnapshot[];
  /** Seconds spent in training steps (snapshots and callbacks excluded). */
  readonly trainSeconds: number;
  /** trainSeconds / iterations × 1000. */
  readonly msPerIteration: number;
  /** Frees the snapshot tensors. */
  dispose(): void;
}

/**
 * `count` snapshot iterations from 0 to `iterations` (both included, no
 * duplicates): evenly spaced ('linear'), or denser early on ('geometric',
 * roughly doubling; GANs change fastest at the start).
 */
export function snapshotSchedule(
  iterations: number,
  count: number,
  spacing: 'linear' | 'geometric' = 'linear',
): number[] {
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new RangeError(
      `snapshotSchedule: iterations must be a positive integer, got ${iterations}`,
    );
  if (!Number.isInteger(count) || count < 2)
    throw new RangeError(`snapshotSchedule: count must be an integer >= 2, got ${count}`);
  const k = Math.min(count, iterations + 1);
  const at = new Set<number>([0, iterations]);
  for (let i = 1; i < k - 1; i++) {
    const f = i / (k - 1);
    at.add(
      spacing === 'linear'
        ? Math.round(f * iterations)
        : Math.round(Math.pow(iterations + 1, f) - 1),
    );
  }
  // geometric rounding can merge early points: fill up with the largest gaps' midpoints
  while (at.size < k) {
    const s = [...at].sort((a, b) => a - b);
    let best = 0;
    for (let i = 1; i < s.length - 1; i++)
      if ((s[i + 1] as number) - (s[i] as number) > (s[best + 1] as number) - (s[best] as number))
        best = i;
    at.add(Math.floor(((s[best] as number) + (s[best + 1] as number)) / 2));
  }
  return [...at].sort((a, b) => a - b);
}

/**
 * Trains `gan` for `iterations` steps on real batches from `data`, reading
 * losses every `lossEvery` iterations (the only device reads) and keeping
 * samples of a fixed noise batch at `snapshotAt` iterations.
 */
export async function trainGan(
  gan: TrainableGan,
  data: GanData,
  opts: GanTrainingOptions,
): Promise<GanRun> {
  const { iterations, batchSize, seed, lossEvery } = opts;
  for (const [k, v] of [
    ['iterations', iterations],
    ['batchSize', batchSize],
    ['lossEvery', lossEvery],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`trainGan: ${k} must be a positive integer, got ${v}`);
  }
  const snapAt = new Set(opts.snapshotAt ?? []);
  for (const s of snapAt)
    if (!Number.isInteger(s) || s < 0 || s > iterations)
      throw new RangeError(`trainGan: snapshotAt ${s} is outside 0..${iterations}`);
  const count = opts.snapshotCount ?? 64;
  if (!Number.isInteger(count) || count <= 0)
    throw new RangeError(`trainGan: snapshotCount must be a positive integer, got ${count}`);
  const snapSeed = opts.snapshotSeed ?? deriveSeed(seed, 'snapshot-noise');
  let nextBatch: (it: number) => Tensor;
  if (typeof data === 'function') {
    nextBatch = (it) => data(batchSize, deriveSeed(seed, 'data', it));
  } else {
    const n = data.shape[0];
    const sampler = createBatchSampler(n, batchSize, deriveSeed(seed, 'batches'));
    nextBatch = () => tf.tidy(() => tf.gather(data, tf.tensor1d(sampler.next(), 'int32')));
  }
  const progress =
    opts.progress === undefined || opts.progress === false
      ? null
      : createProgress({ total: iterations, ...opts.progress });
  const losses: GanLossPoint[] = [];
  const snapshots: GanSnapshot[] = [];
  let trainMs = 0;
  const snap = async (it: number): Promise<void> => {
    const s: GanSnapshot = Object.freeze({
      iteration: it,
      samples: gan.generator.sample(count, snapSeed),
    });
    snapshots.push(s);
    if (opts.onSnapshot !== undefined) await opts.onSnapshot(s);
  };
  try {
    if (snapAt.has(0)) await snap(0);
    for (let it = 1; it <= iterations; it++) {
      const read = it % lossEvery === 0 || it === iterations;
      const t0 = performance.now();
      const x = nextBatch(it);
      let out: Readonly<Record<string, Scalar>>;
      try {
        out = gan.step(x, null, deriveSeed(seed, 'step', it), read);
      } finally {
        x.dispose();
      }
      if (read) {
        const values: Record<string, number> = {};
        for (const [k, v] of Object.entries(out))
          values[k] = ((await v.data()) as Float32Array)[0] as number;
        losses.push(Object.freeze({ iteration: it, losses: Object.freeze(values) }));
        if (progress !== null && progress.due(it)) progress.report(it, values);
      }
      tf.dispose(Object.values(out));
      trainMs += performance.now() - t0;
      if (snapAt.has(it)) await snap(it);
    }
  } catch (err) {
    tf.dispose(snapshots.map((s) => s.samples));
    throw err;
  }
  return Object.freeze({
    losses: Object.freeze(losses),
    snapshots: Object.freeze(snapshots),
    trainSeconds: trainMs / 1000,
    msPerIteration: trainMs / iterations,
    dispose(): void {
      tf.dispose(snapshots.map((s) => s.samples));
    },
  });
}

// --------------------------------------------------------------------------- WGAN-GP teaching

/**
 * The generated batch and interpolation weights ε that the engine's WGAN-GP
 * critic step (generators.ts, `criticStep(x, weights, seed)`) draws for `seed`:
 * fake = G(z) [b, ...inputShape], ε ~ U(0, 1) [b, 1, …]. Lets a notebook
 * recompute the gradient penalty by hand and compare it with the engine's.
 * Call before that critic step (it updates the critic, not G).
 */
export function wganGpCriticNoise(
  gen: Generator,
  batchSize: number,
  seed: number,
): { fake: Tensor; eps: Tensor } {
  if (gen.config.kind !== 'wgan-gp')
    throw new Error(`wganGpCriticNoise: generator is a '${gen.config.kind}', not 'wgan-gp'`);
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new RangeError(
      `wganGpCriticNoise: batchSize must be a positive integer, got ${batchSize}`,
    );
  return {
    fake: gen.sample(batchSize, deriveSeed(seed, 'z')),
    eps: statelessUniform([batchSize, ...gen.inputShape.map(() => 1)], deriveSeed(seed, 'eps')),
  };
}

// ------------------------------------------------------------------------------ sample quality

/** What a classifier makes of a batch of (generated) images. */
export interface SampleClasses {
  /** Number of samples per predicted class. */
  readonly counts: readonly number[];
  /** Mean of the classifier's top softmax probability. */
  readonly meanConfidence: number;
  /** Share of samples with top probability ≥ `threshold`. */
  readonly confidentShare: number;
  readonly threshold: number;
}

/** Predicted-class histogram and confidence of `classifier` on x [n, ...]. */
export async function classifySamples(
  classifier: Classifier,
  x: Tensor,
  threshold = 0.9,
): Promise<SampleClasses> {
  const probs = tf.tidy(() => tf.softmax(classifier.predict(x)));
  try {
    const [n, k] = probs.shape;
    const p = (await probs.data()) as Float32Array;
    const counts = new Array<number>(k).fill(0);
    let conf = 0;
    let confident = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++)
        if ((p[i * k + j] as number) > (p[i * k + best] as number)) best = j;
      const top = p[i * k + best] as number;
      counts[best] = (counts[best] as number) + 1;
      conf += top;
      if (top >= threshold) confident++;
    }
    return Object.freeze({
      counts: Object.freeze(counts),
      meanConfidence: conf / n,
      confidentShare: confident / n,
      threshold,
    });
  } finally {
    probs.dispose();
  }
}

/**
 * Mean Euclidean distance between distinct rows of x [n, ...] (flattened):
 * a diversity measure. Collapsed samples (every z giving the same x) give ≈ 0.
 */
export async function meanPairwiseDistance(x: Tensor): Promise<number> {
  const n = x.shape[0];
  if (!(n >= 2)) throw new RangeError(`meanPairwiseDistance: need at least 2 rows, got ${n}`);
  const total = tf.tidy(() => {
    const f = tf.reshape(x, [n, -1]) as Tensor2D;
    const sq = tf.sum(tf.square(f), 1);
    // ‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b, clipped at 0 against rounding
    const d2 = tf.relu(
      tf.sub(
        tf.add(tf.reshape(sq, [n, 1]), tf.reshape(sq, [1, n])),
        tf.mul(tf.matMul(f, f, false, true), 2),
      ),
    );
    return tf.sum(tf.mul(tf.sqrt(d2), tf.sub(1, tf.eye(n)))); // diagonal dropped (rounding)
  });
  try {
    return (((await total.data()) as Float32Array)[0] as number) / (n * (n - 1));
  } finally {
    total.dispose();
  }
}

// ---------------------------------------------------------------------------------- figures

/** One scatter trace per loss name: loss against iteration. */
export function lossTraces(
  losses: readonly GanLossPoint[],
  opts: { readonly names?: readonly string[]; readonly prefix?: string } = {},
): PlotlyTrace[] {
  const names = opts.names ?? [...new Set(losses.flatMap((p) => Object.keys(p.losses)))];
  return names.map((name) => ({
    type: 'scatter',
    mode: 'lines',
    name: `${opts.prefix ?? ''}${name}`,
    x: losses.map((p) => p.iteration),
    y: losses.map((p) => p.losses[name] ?? null),
  }));
}

/**
 * Notebook 01 §1: how large the generator's gradient with respect to D's logit is, against
 * D(G(z)), for the minimax loss (size D) and the non-saturating loss (size 1 − D).
 */
export function generatorGradientFigure(
  d: readonly number[],
  size: { readonly minimax: readonly number[]; readonly nonSaturating: readonly number[] },
): PlotlyFigure {
  for (const k of ['minimax', 'nonSaturating'] as const)
    if (size[k].length !== d.length)
      throw new RangeError(
        `generatorGradientFigure: ${k} has ${size[k].length} values for ${d.length} values of D`,
      );
  const line = (name: string, y: readonly number[]): PlotlyTrace => ({
    type: 'scatter',
    mode: 'lines',
    name,
    x: d,
    y,
  });
  return {
    data: [
      line('minimax: log(1 − D(G(z)))  → gradient size D', size.minimax),
      line('non-saturating: −log D(G(z))  → gradient size 1 − D', size.nonSaturating),
    ],
    layout: {
      title: { text: "Size of the generator's gradient w.r.t. D's logit" },
      xaxis: { title: { text: 'D(G(z)): how real D finds the fake' } },
      yaxis: { title: { text: '|∂ loss / ∂ logit|' } },
      width: 720,
      height: 380,
      legend: { x: 0.02, y: -0.3, orientation: 'h' },
    },
  };
}

/**
 * A standard GAN's losses against iteration (one line per loss) with the discriminator's loss at
 * the equilibrium, −V = log 4 (D = ½ everywhere), dashed over the recorded iterations and named
 * `equilibriumName`.
 */
export function ganLossFigure(
  losses: readonly GanLossPoint[],
  title: string,
  equilibriumName: string,
): PlotlyFigure {
  const last = losses[losses.length - 1];
  if (last === undefined) throw new RangeError('ganLossFigure: no losses recorded');
  const log4: PlotlyTrace = {
    type: 'scatter',
    mode: 'lines',
    name: equilibriumName,
    x: [0, last.iteration],
    y: [Math.log(4), Math.log(4)],
    line: { dash: 'dash', color: 'grey' },
  };
  return {
    data: [...lossTraces(losses), log4],
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'iteration' } },
      yaxis: { title: { text: 'loss' } },
      width: 720,
      height: 380,
    },
  };
}

/**
 * WGAN-GP's losses on MNIST: critic (penalty included), generator and gp, and the Wasserstein
 * estimate −(L_critic − λ·gp) given per recorded iteration in `wassersteinEstimate`.
 */
export function wganLossFigure(
  losses: readonly GanLossPoint[],
  wassersteinEstimate: readonly number[],
): PlotlyFigure {
  if (wassersteinEstimate.length !== losses.length)
    throw new RangeError(
      `wganLossFigure: ${wassersteinEstimate.length} estimates for ${losses.length} loss points`,
    );
  const estimate = losses.map((p, i) => ({
    iteration: p.iteration,
    losses: { 'Wasserstein estimate −(critic − λ·gp)': wassersteinEstimate[i] as number },
  }));
  return {
    data: [
      ...lossTraces(losses, { names: ['critic', 'generator', 'gp'] }),
      ...lossTraces(estimate),
    ],
    layout: {
      title: { text: 'WGAN-GP on MNIST: losses' },
      xaxis: { title: { text: 'iteration (generator steps)' } },
      yaxis: { title: { text: 'value' } },
      width: 720,
      height: 400,
    },
  };
}

/**
 * Notebook 01 §5: for each named source (generators, real digits), the share of its samples that
 * the solver puts in each class, as grouped bars.
 */
export function sampleClassesFigure(
  classes: Readonly<Record<string, SampleClasses>>,
): PlotlyFigure {
  return {
    data: Object.entries(classes).map(([name, j]) => {
      const total = j.counts.reduce((a, b) => a + b, 0);
      const labels = j.counts.map((_, k) => String(k));
      return { type: 'bar', name, x: labels, y: j.counts.map((c) => c / total) };
    }),
    layout: {
      title: { text: 'Which digit the solver sees in each sample' },
      barmode: 'group',
      xaxis: { title: { text: 'digit (solver label)' } },
      yaxis: { title: { text: 'share of samples' } },
      width: 760,
      height: 400,
    },
  };
}
