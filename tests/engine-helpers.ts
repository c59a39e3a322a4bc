/** Helpers shared by the engine's unit tests (solvers, generators, nn, scholar, replay, train). */
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';
import {
  configWith,
  createRng,
  presets,
  type ExperimentConfig,
  type ParamSet,
  type SolverBatch,
} from '../lib/engine';

/** A small config: MLP 64 hidden, VAE [64] latent 8, batch 16, 30 iterations. */
export function tiny(patch: Parameters<typeof configWith>[1] = {}): ExperimentConfig {
  const base = configWith(presets.splitMnistGR(), {
    iterations: 30,
    batchSize: 16,
    solver: { hidden: [64] },
    generator: { hidden: [64], latent: 8 },
    replay: { batchSize: 16 },
  });
  return configWith(base, patch);
}

/** A tensor's values, read once. */
export async function values(t: Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/** All parameters of a ParamSet, flattened, as numbers. */
export async function paramValues(p: ParamSet): Promise<Float32Array> {
  const t = p.readFlat();
  try {
    return await values(t);
  } finally {
    t.dispose();
  }
}

/** Largest |a_i − b_i|. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Runs `step` 20 times (after one warm-up) and asserts the tensor count does not grow. */
export function assertNoLeak(name: string, step: (i: number) => void): void {
  step(0);
  const before = tf.memory().numTensors;
  for (let i = 1; i <= 20; i++) step(i);
  assert.equal(
    tf.memory().numTensors,
    before,
    `${name} leaks ${tf.memory().numTensors - before} tensors over 20 iterations`,
  );
}

/** A uniform-weight solver batch on x with seeded labels (no mask, no temperature). */
export function solverBatch(x: Tensor, numOutputs: number, seed: number): SolverBatch {
  const n = x.shape[0];
  const y = createRng(seed)
    .permutation(n)
    .map((v) => v % numOutputs);
  return {
    x,
    targets: tf.oneHot(tf.tensor1d(y, 'int32'), numOutputs).toFloat() as Tensor2D,
    weights: tf.fill([n], 1 / n) as Tensor1D,
    mask: null,
    invTemperature: null,
  };
}

/** Frees what {@link solverBatch} made (not x). */
export function disposeSolverBatch(b: SolverBatch): void {
  tf.dispose([b.targets, b.weights]);
}
