/**
 * Test fixtures shared by the engine and notebook-helper tests: a toy task sequence and tiny
 * configs.
 */
import { tf } from '../lib/tf';
import type { Tensor, Tensor1D } from '@tensorflow/tfjs-node';
import { createRng } from '../lib/rng';
import { configWith, presets, type ExperimentConfig } from '../lib/engine/config';
import type { Scenario, Task, TaskSequence } from '../lib/engine/types';

export interface BlobOptions {
  readonly numTasks?: number;
  readonly classesPerTask?: number;
  /** Training examples per class (test: half as many). */
  readonly perClass?: number;
  readonly scenario?: Scenario;
  /** Every task uses the same classes 0..classesPerTask-1 (e.g. a chain of identical tasks). */
  readonly repeatClasses?: boolean;
  readonly seed?: number;
}

/**
 * A toy sequence over 20-dim inputs in [0, 1]: each class is a Gaussian blob (sd 0.05) around a
 * seeded centre. Task t holds classes [k·t, k·t + k) (or 0..k-1 with `repeatClasses`); in the
 * domain scenario labels are the position within the task (k outputs).
 */
export function blobSequence(o: BlobOptions = {}): TaskSequence {
  const {
    numTasks = 1,
    classesPerTask: k = 2,
    perClass = 64,
    scenario = 'class',
    repeatClasses = false,
    seed = 11,
  } = o;
  const D = 20;
  const rng = createRng(seed);
  const numClasses = repeatClasses ? k : k * numTasks;
  const centres = Array.from({ length: numClasses }, () => rng.uniformArray(D, 0.1, 0.9));
  const make = (
    classes: readonly number[],
    n: number,
  ): { x: Tensor; y: Tensor1D; count: number } => {
    const xs = new Float32Array(classes.length * n * D);
    const ys = new Int32Array(classes.length * n);
    let i = 0;
    for (const c of classes) {
      for (let j = 0; j < n; j++, i++) {
        for (let d = 0; d < D; d++)
          xs[i * D + d] = Math.min(
            1,
            Math.max(0, ((centres[c] as Float32Array)[d] as number) + 0.05 * rng.normal()),
          );
        ys[i] = scenario === 'domain' ? c % k : c;
      }
    }
    return {
      x: tf.tensor2d(xs, [classes.length * n, D]),
      y: tf.tensor1d(ys, 'int32'),
      count: classes.length * n,
    };
  };
  const tasks: Task[] = Array.from({ length: numTasks }, (_, t) => {
    const classes = Array.from({ length: k }, (_, j) => (repeatClasses ? j : k * t + j));
    return {
      index: t,
      name: `blobs ${classes.join('/')}`,
      classes: scenario === 'domain' ? classes.map((_, j) => j) : classes,
      train: make(classes, perClass),
      test: make(classes, Math.max(1, Math.floor(perClass / 2))),
    };
  });
  return {
    name: 'blobs',
    scenario,
    inputShape: [D],
    numOutputs: scenario === 'domain' ? k : numClasses,
    tasks,
    dispose: () => tasks.forEach((t) => tf.dispose([t.train.x, t.train.y, t.test.x, t.test.y])),
  };
}

/**
 * The split-MNIST GR preset shrunk for tests: MLP [64], VAE [64] with latent 8, batch
 * 32 + 32 replayed.
 */
export function tinyConfig(
  iterations: number,
  patch: Parameters<typeof configWith>[1] = {},
): ExperimentConfig {
  const base = configWith(presets.splitMnistGR(), {
    iterations,
    batchSize: 32,
    solver: { hidden: [64] },
    generator: { hidden: [64], latent: 8 },
    replay: { batchSize: 32 },
  });
  return configWith(base, patch);
}

/** The values of a parameter set (anything with `readFlat()`), read once and freed. */
export async function flatValues(t: { readFlat(): Tensor }): Promise<Float32Array> {
  const v = t.readFlat();
  try {
    return (await v.data()) as Float32Array;
  } finally {
    v.dispose();
  }
}
