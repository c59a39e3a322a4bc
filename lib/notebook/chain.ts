/**
 * Notebook 04 (Shin et al. 2017, §3.2 and Table 1): a chain of scholars. Scholar 1 learns MNIST
 * from real data; scholar k (k ≥ 2) is trained from scratch ONLY on the generative replay of
 * scholar k−1: its solver on x' ~ G_{k−1} labelled y' = argmax S_{k−1}(x'), its generator on the
 * same x'. No real data reaches scholar k. Also: measures of how real-like a generation's samples
 * are (a judge classifier's confidence and class shares, and a Fréchet distance between judge
 * logits of samples and of real images).
 */
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor1D } from '@tensorflow/tfjs-node';
import type { Classifier, TaskSequence } from '../engine/types';
import type { ExperimentConfig } from '../engine/config';
import { validateConfig } from '../engine/config';
import { buildSolver, createSolverTrainer } from '../engine/solvers';
import { buildGenerator, createGeneratorTrainer } from '../engine/generators';
import { Scholar, createScholar, snapshotScholar } from '../engine/scholar';
import { deriveSeed } from '../rng';
import { createProgress } from '../engine/progress';
import { trainSequence } from '../engine/train';
import { disposeLosses, readLosses, type IterationLosses } from '../engine/replay';
import { studentBatch } from './scholar';
import { classifySamples } from './gan';

export interface ReplayTrainingOptions {
  /** Position in the chain (2, 3, ...): part of every seed, so generations differ. */
  readonly generation: number;
  /** Progress lines (default: every 10 s to console.log); false = silent. */
  readonly progress?:
    false | { readonly everySeconds?: number; readonly write?: (line: string) => void };
}

export interface ReplayTrainingResult {
  /** The new scholar (live, trainable; the caller disposes it). */
  readonly scholar: Scholar;
  /** Seconds of training. */
  readonly seconds: number;
}

/**
 * Trains a fresh scholar ⟨G_k, S_k⟩ (models built from `config.solver`, `config.generator`) on the
 * replay of `teacher` only: `config.iterations` steps, each drawing `config.batchSize` inputs
 * x' ~ G_teacher labelled by S_teacher (hard labels, as in Shin et al.), one solver step on
 * (x', y') and one generator step on x'. The teacher is not changed (pass a frozen snapshot).
 * Seeds derive from `config.seed` and `opts.generation`.
 */
export async function trainScholarFromReplay(
  teacher: Scholar,
  config: ExperimentConfig,
  opts: ReplayTrainingOptions,
): Promise<ReplayTrainingResult> {
  const g = opts.generation;
  if (!Number.isInteger(g) || g < 2)
    throw new RangeError(
      `trainScholarFromReplay: generation must be an integer >= 2 (generation 1 learns from real data), got ${String(g)}`,
    );
  if (teacher.generator === null)
    throw new Error(
      'trainScholarFromReplay: the teacher scholar has no generator, so it cannot replay',
    );
  if (config.generator === null)
    throw new Error(
      'trainScholarFromReplay: config.generator is null; the new scholar needs a generator to pass knowledge on',
    );
  const { inputShape, numOutputs } = teacher.solver;
  const B = config.batchSize;
  const t0 = performance.now();
  const solver = buildSolver(
    config.solver,
    inputShape,
    numOutputs,
    deriveSeed(config.seed, 'chain-solver', g),
  );
  const generator = buildGenerator(
    config.generator,
    inputShape,
    deriveSeed(config.seed, 'chain-generator', g),
  );
  const scholar = createScholar(generator, solver);
  const solverT = createSolverTrainer(solver);
  const genT = createGeneratorTrainer(generator);
  const weights = tf.fill([B], 1 / B) as Tensor1D;
  const progress =
    opts.progress === false
      ? null
      : createProgress({
          total: config.iterations,
          label: `scholar ${g} (replay of scholar ${g - 1})`,
          ...(opts.progress ?? {}),
        });
  let ok = false;
  try {
    for (let it = 1; it <= config.iterations; it++) {
      const due = progress !== null && progress.due(it);
      const { x, targets } = studentBatch(
        teacher,
        'generator',
        B,
        deriveSeed(config.seed, 'chain-replay', g, it),
      );
      let losses: IterationLosses = { solver: null, generator: {} };
      try {
        const solverLoss = solverT.step(
          { x, targets, weights, mask: null, invTemperature: null },
          due,
        );
        losses = {
          solver: solverLoss,
          generator: genT.step(
            x,
            null,
            deriveSeed(config.seed, 'chain-generator-step', g, it),
            due,
          ),
        };
      } finally {
        tf.dispose([x, targets]);
      }
      if (progress !== null && due && losses.solver !== null)
        progress.report(it, await readLosses(losses));
      else disposeLosses(losses);
    }
    ok = true;
    return { scholar, seconds: (performance.now() - t0) / 1000 };
  } finally {
    weights.dispose();
    solverT.dispose();
    genT.dispose();
    if (!ok) scholar.dispose();
  }
}

/** One scholar of the chain, frozen. */
export interface ChainGeneration {
  /** 1-based: scholar 1 learned from real data, scholar k from scholar k−1's replay. */
  readonly generation: number;
  readonly source: 'real data' | 'generative replay';
  /** Frozen snapshot (dispose with {@link disposeChain}). */
  readonly scholar: Scholar;
  /** Seconds of training. */
  readonly seconds: number;
}

export interface ChainOptions {
  /** Number of scholars (≥ 1). */
  readonly generations: number;
  readonly progress?: ReplayTrainingOptions['progress'];
  /** Called after each scholar is trained (e.g. to print its accuracy). */
  readonly onGeneration?: (g: ChainGeneration) => void | Promise<void>;
}

/**
 * The chain of Shin et al. §3.2: scholar 1 trained on the single task of `sequence` (real data,
 * with the engine's trainSequence), then scholars 2..generations each from the previous one's
 * replay ({@link trainScholarFromReplay}). Every scholar uses `config` (iterations, batch size,
 * models). Returns frozen snapshots in order; the caller disposes them ({@link disposeChain}).
 */
export async function runScholarChain(
  sequence: TaskSequence,
  config: ExperimentConfig,
  opts: ChainOptions,
): Promise<ChainGeneration[]> {
  if (!Number.isInteger(opts.generations) || opts.generations < 1)
    throw new RangeError(
      `runScholarChain: generations must be a positive integer, got ${String(opts.generations)}`,
    );
  if (sequence.tasks.length !== 1)
    throw new RangeError(
      `runScholarChain: the sequence must hold exactly one task (all of MNIST, e.g. splitMnist with classesPerTask 10); it has ${sequence.tasks.length}`,
    );
  if (config.generator === null)
    throw new Error('runScholarChain: config.generator is null; every scholar needs a generator');
  validateConfig(config, sequence);
  const chain: ChainGeneration[] = [];
  let ok = false;
  try {
    const first = await trainSequence(sequence, config, { progress: opts.progress ?? {} });
    chain.push({
      generation: 1,
      source: 'real data',
      scholar: snapshotScholar(first.scholar),
      seconds: first.totalSeconds,
    });
    first.scholar.dispose();
    await opts.onGeneration?.(chain[0] as ChainGeneration);
    for (let g = 2; g <= opts.generations; g++) {
      const teacher = (chain[g - 2] as ChainGeneration).scholar;
      const r = await trainScholarFromReplay(teacher, config, {
        generation: g,
        progress: opts.progress ?? {},
      });
      chain.push({
        generation: g,
        source: 'generative replay',
        scholar: snapshotScholar(r.scholar),
        seconds: r.seconds,
      });
      r.scholar.dispose();
      await opts.onGeneration?.(chain[g - 1] as ChainGeneration);
    }
    ok = true;
    return chain;
  } finally {
    if (!ok) disposeChain(chain);
  }
}

/** Frees every scholar of a chain. */
export function disposeChain(chain: readonly ChainGeneration[]): void {
  for (const g of chain) g.scholar.dispose();
}

// ------------------------------------------------------------------------------ sample quality

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations.
 * Returns eigenvalues and eigenvectors (columns of `vectors`, row-major n×n). For small n (≤ ~100).
 */
export function symmetricEigen(
  a: ArrayLike<number>,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n)
    throw new RangeError(`symmetricEigen: need an n×n matrix (n = ${n}), got ${a.length} values`);
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) off += (A[p * n + q] as number) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = ((A[q * n + q] as number) - (A[p * n + p] as number)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p] as number;
          const akq = A[k * n + q] as number;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k] as number;
          const aqk = A[q * n + k] as number;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p] as number;
          const vkq = V[k * n + q] as number;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i] as number;
  return { values, vectors: V };
}

/** Mean [d] and covariance [d×d] (unbiased) of n rows of d features (row-major). */
function meanCov(
  x: ArrayLike<number>,
  n: number,
  d: number,
): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (x[i * d + j] as number) / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const a = (x[i * d + j] as number) - (mean[j] as number);
      for (let k = j; k < d; k++)
        cov[j * d + k] =
          (cov[j * d + k] as number) + a * ((x[i * d + k] as number) - (mean[k] as number));
    }
  }
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = (cov[j * d + k] as number) / Math.max(1, n - 1);
      cov[j * d + k] = v;
      cov[k * d + j] = v;
    }
  }
  return { mean, cov };
}

/** Symmetric PSD square root via the eigen-decomposition (negative eigenvalues clipped to 0). */
function sqrtPsd(m: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(0, values[k] as number));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = (vectors[i * d + k] as number) * s;
      for (let j = 0; j < d; j++)
        out[i * d + j] = (out[i * d + j] as number) + vik * (vectors[j * d + k] as number);
    }
  }
  return out;
}

function matmulSq(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < d; j++)
        out[i * d + j] = (out[i * d + j] as number) + aik * (b[k * d + j] as number);
    }
  return out;
}

/**
 * Fréchet distance between Gaussians fitted to two sets of d-dimensional features
 * (rows of `a` [na×d] and `b` [nb×d], row-major), as in FID (Heusel et al. 2017):
 * ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa^{1/2} Σb Σa^{1/2})^{1/2}). 0 for identical sets.
 */
export function frechetDistance(
  a: ArrayLike<number>,
  na: number,
  b: ArrayLike<number>,
  nb: number,
  d: number,
): number {
  if (!Number.isInteger(d) || d < 1)
    throw new RangeError(`frechetDistance: d must be a positive integer, got ${d}`);
  if (a.length !== na * d || b.length !== nb * d)
    throw new RangeError(
      `frechetDistance: expected ${na}×${d} and ${nb}×${d} values, got ${a.length} and ${b.length}`,
    );
  if (na < 2 || nb < 2) throw new RangeError('frechetDistance: need at least 2 rows in each set');
  const A = meanCov(a, na, d);
  const B = meanCov(b, nb, d);
  let dist = 0;
  for (let j = 0; j < d; j++) dist += ((A.mean[j] as number) - (B.mean[j] as number)) ** 2;
  let tr = 0;
  for (let j = 0; j < d; j++) tr += (A.cov[j * d + j] as number) + (B.cov[j * d + j] as number);
  const sa = sqrtPsd(A.cov, d);
  const m = matmulSq(matmulSq(sa, B.cov, d), sa, d);
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      const v = ((m[i * d + j] as number) + (m[j * d + i] as number)) / 2;
      m[i * d + j] = v;
      m[j * d + i] = v;
    }
  const { values } = symmetricEigen(m, d);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(0, v));
  return Math.max(0, dist + tr - 2 * trSqrt);
}

/** How a judge classifier sees a generation's samples. */
export interface SampleQuality {
  /** Mean top softmax probability of the judge on the samples (1 = every sample looks like a clear digit to it). */
  readonly judgeConfidence: number;
  /** Share of samples per class by the judge's argmax (sums to 1). */
  readonly classShares: readonly number[];
  /** Entropy of classShares divided by log(#classes): 1 = all classes equally often, 0 = one class only. */
  readonly classBalance: number;
  /** Fréchet distance between judge logits of the samples and of the real images (0 = same Gaussian statistics). */
  readonly frechetLogits: number;
}

/** Judge logits [n, C] read from the device. */
async function logitsOf(
  judge: Classifier,
  x: Tensor,
): Promise<{ data: Float32Array; n: number; d: number }> {
  const z = judge.predict(x);
  try {
    const [n, d] = z.shape;
    return { data: (await z.data()) as Float32Array, n, d };
  } finally {
    z.dispose();
  }
}

/**
 * Sample quality of generated inputs `samples` [n, ...] as seen by a fixed `judge` (e.g. scholar 1's
 * solver, trained on real data), against real inputs `real` [m, ...]. Reads the device a few times;
 * disposes nothing it was given.
 */
export async function sampleQuality(
  judge: Classifier,
  samples: Tensor,
  real: Tensor,
): Promise<SampleQuality> {
  const cls = await classifySamples(judge, samples);
  const n = samples.shape[0];
  const shares = cls.counts.map((c) => c / n);
  const C = shares.length;
  const entropy = -shares.reduce((s, p) => (p > 0 ? s + p * Math.log(p) : s), 0);
  const a = await logitsOf(judge, samples);
  const b = await logitsOf(judge, real);
  return Object.freeze({
    judgeConfidence: cls.meanConfidence,
    classShares: Object.freeze(shares),
    classBalance: C > 1 ? entropy / Math.log(C) : 1,
    frechetLogits: frechetDistance(a.data, a.n, b.data, b.n, a.d),
  });
}

/** Share of inputs x [n, ...] on which two classifiers give the same argmax. */
export async function labelAgreement(a: Classifier, b: Classifier, x: Tensor): Promise<number> {
  const same = tf.tidy(
    () =>
      tf.mean(
        tf.cast(tf.equal(tf.argMax(a.predict(x), 1), tf.argMax(b.predict(x), 1)), 'float32'),
      ) as Scalar,
  );
  try {
    return ((await same.data()) as Float32Array)[0] as number;
  } finally {
    same.dispose();
  }
}

/** n samples x' [n, ...inputShape] of a scholar's generator (kept; the caller disposes). */
export function generatorSamples(scholar: Scholar, n: number, seed: number): Tensor {
  if (scholar.generator === null) throw new Error('generatorSamples: the scholar has no generator');
  return scholar.generator.sample(n, seed);
}
