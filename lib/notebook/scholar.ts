/**
 * Notebook 02 (the scholar, Shin et al. 2017 §3 and §3.2): a fresh solver
 * trained ONLY on what a trained scholar H = ⟨G, S⟩ replays.
 *
 * §3.2 ("Preliminary experiment") shows that a scholar alone suffices to train
 * an empty network: x' ~ G, y' = S(x'), and a new solver fitted to (x', y')
 * reaches nearly the accuracy of S on the real test set. The paper's control
 * (§4.1, "Noise") replaces G by uniform noise labelled by the same S.
 *
 * Figure of the notebook: the replayed samples' labels beside the real digit shares
 * (labelSharesFigure).
 */
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import type { SolverConfig } from '../engine/config';
import type { Scholar } from '../engine/scholar';
import { logitMask } from '../engine/masks';
import { labelWithSolver } from '../engine/replay';
import type { Solver } from '../engine/solvers';
import { buildSolver, createSolverTrainer } from '../engine/solvers';
import { deriveSeed } from '../rng';
import { statelessUniform } from '../engine/native';
import { showImageGrid, type ImageGridOptions } from '../figures/grid';
import type { DisplaySink, PlotlyFigure } from '../figures/types';

/** Where the student's inputs come from. */
export type StudentInputs =
  /** x' ~ G of the teacher scholar (generative replay, §3.2). */
  | 'generator'
  /** x' ~ U[0, 1]^d, the paper's "Noise" control (§4.1): the teacher's solver still labels them. */
  | 'noise';

/** A complete, immutable description of one student run. */
export interface StudentConfig {
  /** The student's architecture and optimiser (e.g. the teacher's own `config.solver`). */
  readonly solver: SolverConfig;
  readonly inputs: StudentInputs;
  /** Solver steps. */
  readonly iterations: number;
  /** Replayed examples per step. */
  readonly batchSize: number;
  /** Drives the student's initial weights and every replayed batch. */
  readonly seed: number;
  /** Output units the teacher's labels may use (default: all). */
  readonly activeUnits?: readonly number[];
}

export interface StudentResult {
  /** The trained student (live; the caller disposes it). */
  readonly solver: Solver;
  /** Training loss read every `lossEvery` iterations. */
  readonly losses: readonly { readonly iteration: number; readonly loss: number }[];
  /** Wall-clock seconds of training. */
  readonly seconds: number;
}

function checkPositiveInt(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new RangeError(
      `trainStudentSolver: ${name} must be a positive integer, got ${String(v)}`,
    );
}

/**
 * One replayed batch for the student: inputs x' [B, ...inputShape] (x' ~ G of the teacher, or
 * uniform noise) and the teacher solver's hard labels y' = argmax S(x') as one-hot targets
 * [B, numOutputs] (the engine's {@link labelWithSolver}, as in training).
 */
export function studentBatch(
  teacher: Scholar,
  inputs: StudentInputs,
  n: number,
  seed: number,
  activeUnits?: readonly number[],
): { x: Tensor; targets: Tensor2D } {
  const G = teacher.generator;
  if (inputs === 'generator' && G === null)
    throw new Error("studentBatch: this scholar has no generator; use inputs: 'noise'");
  return tf.tidy(() => {
    const x =
      inputs === 'generator' && G !== null
        ? G.sample(n, seed)
        : statelessUniform([n, ...teacher.solver.inputShape], seed);
    return {
      x,
      targets: labelWithSolver(
        teacher.solver,
        x,
        logitMask(teacher.solver.numOutputs, activeUnits),
        null,
      ),
    };
  });
}

/**
 * Trains a freshly initialised solver on replay from `teacher` only (no real
 * data): each step draws `batchSize` inputs (from G, or uniform noise), labels
 * them with the teacher's solver and takes one Adam step on the mean
 * cross-entropy (the library's SolverTrainer, weights 1/B). The teacher is not
 * changed. Losses are read every `lossEvery` steps (default 100).
 */
export async function trainStudentSolver(
  teacher: Scholar,
  config: StudentConfig,
  opts: { readonly lossEvery?: number } = {},
): Promise<StudentResult> {
  checkPositiveInt('iterations', config.iterations);
  checkPositiveInt('batchSize', config.batchSize);
  if (!Number.isInteger(config.seed) || config.seed < 0)
    throw new RangeError(
      `trainStudentSolver: seed must be an integer >= 0, got ${String(config.seed)}`,
    );
  if (config.inputs !== 'generator' && config.inputs !== 'noise')
    throw new RangeError(
      `trainStudentSolver: inputs must be 'generator' or 'noise', got ${String(config.inputs)}`,
    );
  if (config.inputs === 'generator' && teacher.generator === null)
    throw new Error(
      'trainStudentSolver: the teacher has no generator; use inputs: ' +
        "'noise' or a scholar with a generator",
    );
  const lossEvery = opts.lossEvery ?? 100;
  checkPositiveInt('lossEvery', lossEvery);

  const t0 = performance.now();
  const solver = buildSolver(
    config.solver,
    teacher.solver.inputShape,
    teacher.solver.numOutputs,
    deriveSeed(config.seed, 'student-solver'),
  );
  const trainer = createSolverTrainer(solver);
  const weights = tf.fill([config.batchSize], 1 / config.batchSize) as Tensor1D;
  const losses: { iteration: number; loss: number }[] = [];
  let ok = false;
  try {
    for (let it = 1; it <= config.iterations; it++) {
      const { x, targets } = studentBatch(
        teacher,
        config.inputs,
        config.batchSize,
        deriveSeed(config.seed, 'student-replay', it),
        config.activeUnits,
      );
      const due = it % lossEvery === 0 || it === config.iterations;
      let loss: Scalar | null = null;
      try {
        loss = trainer.step({ x, targets, weights, mask: null, invTemperature: null }, due);
      } finally {
        tf.dispose([x, targets]);
      }
      if (loss !== null) {
        losses.push({ iteration: it, loss: ((await loss.data()) as Float32Array)[0] as number });
        loss.dispose();
      }
    }
    ok = true;
    return { solver, losses, seconds: (performance.now() - t0) / 1000 };
  } finally {
    weights.dispose();
    trainer.dispose();
    if (!ok) solver.dispose();
  }
}

/**
 * How often each output unit occurs among labels [n] (int32): counts per
 * unit, length `numOutputs`. Reads the device once.
 */
export async function labelCounts(labels: Tensor1D, numOutputs: number): Promise<number[]> {
  checkPositiveInt('numOutputs', numOutputs);
  const counts = tf.tidy(() =>
    tf.sum(tf.oneHot(tf.cast(labels, 'int32') as Tensor1D, numOutputs), 0),
  );
  try {
    return Array.from(await counts.data());
  } finally {
    counts.dispose();
  }
}

/**
 * Shows inputs x [n, ...] (e.g. a scholar's samples x' or real examples) as an
 * image grid with one label per image printed below it (e.g. the solver's
 * y' = S(x')). Flat inputs are reshaped to `imageShape` (default [28, 28, 1]).
 * Nothing is disposed: x and labels stay the caller's.
 */
export async function showLabelledImages(
  x: Tensor,
  labels: Tensor1D | readonly (string | number)[],
  opts: Omit<ImageGridOptions, 'labels'> & {
    readonly imageShape?: readonly [number, number, number];
    readonly title?: string;
    readonly display?: DisplaySink;
  } = {},
): Promise<void> {
  const shape = opts.imageShape ?? [28, 28, 1];
  const n = x.shape[0];
  if (x.size !== n * shape[0] * shape[1] * shape[2]) {
    throw new RangeError(
      `showLabelledImages: x has shape [${x.shape.join(', ')}], which is not n images of ` +
        `${shape.join('x')}; pass imageShape`,
    );
  }
  const names = Array.isArray(labels)
    ? (labels as readonly (string | number)[])
    : Array.from(await (labels as Tensor1D).data());
  const images = tf.reshape(x, [n, ...shape]) as Tensor4D;
  try {
    const { imageShape: _s, ...grid } = opts;
    await showImageGrid(images, { ...grid, labels: names });
  } finally {
    images.dispose();
  }
}

/**
 * Notebook 02's bar chart: the share of each label among replayed samples (the solver's labels
 * y' = S(x'), x' ~ G) beside its share in the real test set. Counts per output unit (as
 * {@link labelCounts} returns them) are normalised to shares; unit d is labelled "d".
 */
export function labelSharesFigure(
  replayCounts: readonly number[],
  realCounts: readonly number[],
): PlotlyFigure {
  if (replayCounts.length === 0 || replayCounts.length !== realCounts.length)
    throw new RangeError(
      'labelSharesFigure: need two count vectors of the same non-zero length, ' +
        `got ${replayCounts.length} and ${realCounts.length}`,
    );
  const share = (c: readonly number[]): number[] => {
    const total = c.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new RangeError('labelSharesFigure: a count vector sums to 0');
    return c.map((v) => v / total);
  };
  const labels = replayCounts.map((_, d) => String(d));
  return {
    data: [
      { type: 'bar', name: "replay: S(x'), x' ~ G", x: labels, y: share(replayCounts) },
      { type: 'bar', name: 'real test set', x: labels, y: share(realCounts) },
    ],
    layout: {
      title: { text: 'Labels of the replayed samples vs. the real digit shares' },
      barmode: 'group',
      xaxis: { title: { text: 'digit (solver label)' }, dtick: 1 },
      yaxis: { title: { text: 'share' } },
      width: 700,
      height: 380,
    },
  };
}
