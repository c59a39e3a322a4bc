/**
 * Evaluation of a classifier on a task sequence, the accuracy matrix R and the continual-learning
 * metrics computed from it. Definitions (with formulas) in docs/metrics.md.
 *
 * R[i][j] is the test accuracy on task j after training on tasks 0..i (Lopez-Paz & Ranzato 2017).
 * Rows may be fewer than tasks while training is in progress; every metric uses the last row
 * L = rows - 1 as "now".
 */
import { tf } from '../tf';
import type { Scalar, Tensor } from '@tensorflow/tfjs-node';
import type { AccuracyMatrix, Classifier, TaskSequence } from './types';
import { activeOutputs, logitMask, withMask } from './masks';

export interface EvaluateOptions {
  /** Evaluate tasks 0..upToTask (default: every task of the sequence, future ones included). */
  readonly upToTask?: number;
  /**
   * Index of the last task the classifier was trained on; sets the class-IL output mask
   * (see activeOutputs). Default: `upToTask` when given, else the last task.
   */
  readonly trainedUpTo?: number;
  /** Examples per forward pass (default 1000). */
  readonly batchSize?: number;
  /** Which data to score (default 'test'). */
  readonly split?: 'train' | 'test';
  /** Score only the first `maxPerTask` examples of each task (default: all). */
  readonly maxPerTask?: number;
}

/**
 * Accuracy of `classifier` on each task 0..upToTask of `sequence`: the fraction of examples whose
 * argmax over the active outputs (masked per scenario with activeOutputs) equals the label.
 * Runs in batches inside tf.tidy; correct counts stay on the device and are read once, at the end.
 * Returns one accuracy in [0, 1] per evaluated task (NaN for a task with no examples).
 */
export async function evaluate(
  classifier: Classifier,
  sequence: TaskSequence,
  opts: EvaluateOptions = {},
): Promise<number[]> {
  const T = sequence.tasks.length;
  const upToTask = opts.upToTask ?? T - 1;
  const trainedUpTo = opts.trainedUpTo ?? (opts.upToTask !== undefined ? opts.upToTask : T - 1);
  const batchSize = opts.batchSize ?? 1000;
  const split = opts.split ?? 'test';
  if (!Number.isInteger(upToTask) || upToTask < 0 || upToTask >= T)
    throw new RangeError(`evaluate: upToTask ${upToTask} is not a task index (0..${T - 1})`);
  if (!Number.isInteger(trainedUpTo) || trainedUpTo < 0 || trainedUpTo >= T)
    throw new RangeError(`evaluate: trainedUpTo ${trainedUpTo} is not a task index (0..${T - 1})`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
  if (split !== 'train' && split !== 'test')
    throw new RangeError(`evaluate: split must be 'train' or 'test', got ${String(split)}`);
  if (
    opts.maxPerTask !== undefined &&
    (!Number.isInteger(opts.maxPerTask) || opts.maxPerTask < 1)
  ) {
    throw new RangeError(`evaluate: maxPerTask must be a positive integer, got ${opts.maxPerTask}`);
  }

  const counts: number[] = [];
  const correct: Scalar[] = [];
  try {
    for (let j = 0; j <= upToTask; j++) {
      const task = sequence.tasks[j];
      if (task === undefined) throw new RangeError(`evaluate: the sequence has no task ${j}`);
      const data = task[split];
      const n = Math.min(data.count, opts.maxPerTask ?? data.count);
      const mask = logitMask(sequence.numOutputs, activeOutputs(sequence, j, 'eval', trainedUpTo));
      let total: Scalar = tf.scalar(0, 'int32');
      correct.push(total); // owned by `correct` from here on (disposed in finally)
      try {
        for (let start = 0; start < n; start += batchSize) {
          const size = Math.min(batchSize, n - start);
          const next = tf.tidy(() => {
            const x = data.x.slice(start, size);
            const y = data.y.slice(start, size);
            const logits = classifier.predict(x);
            if (
              logits.rank !== 2 ||
              logits.shape[0] !== size ||
              logits.shape[1] !== sequence.numOutputs
            ) {
              throw new RangeError(
                `evaluate: classifier.predict returned shape [${logits.shape.join(', ')}], ` +
                  `expected [${size}, ${sequence.numOutputs}]`,
              );
            }
            const hits = tf
              .equal(tf.argMax(withMask(logits, mask), 1).toInt(), y.toInt())
              .toInt()
              .sum() as Scalar;
            return tf.add(total, hits) as Scalar;
          });
          total.dispose();
          total = next;
          correct[j] = total;
        }
      } finally {
        mask?.dispose();
      }
      counts.push(n);
    }
    const hits = correct.length === 0 ? new Int32Array(0) : await readAll(correct);
    return counts.map((n, j) => (n === 0 ? Number.NaN : (hits[j] as number) / n));
  } finally {
    tf.dispose(correct);
  }
}

/** One device read for all counts. */
async function readAll(scalars: readonly Scalar[]): Promise<ArrayLike<number>> {
  const stacked = tf.stack(scalars as Tensor[]);
  try {
    return await stacked.data();
  } finally {
    stacked.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The accuracy matrix

/** Checks R: 1..T rows of T entries each, values in [0, 1] (NaN allowed for "not measured"). */
export function checkAccuracyMatrix(R: AccuracyMatrix, where = 'accuracy matrix'): void {
  if (!Array.isArray(R) || R.length === 0) throw new RangeError(`${where}: needs at least one row`);
  const T = (R[0] as readonly number[]).length;
  if (T === 0) throw new RangeError(`${where}: rows are empty`);
  if (R.length > T)
    throw new RangeError(`${where}: ${R.length} rows but only ${T} tasks (columns)`);
  R.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== T)
      throw new RangeError(
        `${where}: row ${i} has ${Array.isArray(row) ? row.length : 'no'} entries, expected ${T}`,
      );
    row.forEach((v, j) => {
      if (typeof v !== 'number' || (!Number.isNaN(v) && (v < 0 || v > 1)))
        throw new RangeError(`${where}: R[${i}][${j}] = ${String(v)} is not an accuracy in [0, 1]`);
    });
  });
}

/** A new matrix with row `i` set (rows before it must exist): R is never mutated. */
export function withRow(R: AccuracyMatrix, i: number, row: readonly number[]): AccuracyMatrix {
  if (!Number.isInteger(i) || i < 0 || i > R.length)
    throw new RangeError(
      `withRow: row ${i} cannot be set on a matrix with ${R.length} rows ` +
        '(rows are filled in order)',
    );
  const next = R.map((r) => Object.freeze([...r]));
  next[i] = Object.freeze([...row]);
  const out = Object.freeze(next);
  checkAccuracyMatrix(out);
  return out;
}

function lastRow(R: AccuracyMatrix, where: string): number {
  checkAccuracyMatrix(R, where);
  return R.length - 1;
}

const mean = (xs: readonly number[]): number =>
  xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
const at = (R: AccuracyMatrix, i: number, j: number): number =>
  (R[i] as readonly number[])[j] as number;

/**
 * Average accuracy after training on task L (default: the last row):
 * ACC = (1 / (L+1)) * sum_{j=0..L} R[L][j] — the mean over the tasks seen so far.
 */
export function averageAccuracy(R: AccuracyMatrix, afterTask?: number): number {
  const L = lastRow(R, 'averageAccuracy');
  const i = afterTask ?? L;
  if (!Number.isInteger(i) || i < 0 || i > L)
    throw new RangeError(`averageAccuracy: afterTask ${i} is not a row of R (0..${L})`);
  return mean(Array.from({ length: i + 1 }, (_, j) => at(R, i, j)));
}

/**
 * Average accuracy after each task: [ACC after task 0, ACC after task 1, ...] (for learning
 * curves).
 */
export function averageAccuracyCurve(R: AccuracyMatrix): number[] {
  checkAccuracyMatrix(R, 'averageAccuracyCurve');
  return R.map((_, i) => averageAccuracy(R, i));
}

/**
 * Backward transfer (Lopez-Paz & Ranzato 2017, GEM):
 * BWT = (1 / L) * sum_{j=0..L-1} (R[L][j] - R[j][j]). Negative = forgetting. NaN with one row.
 */
export function backwardTransfer(R: AccuracyMatrix): number {
  const L = lastRow(R, 'backwardTransfer');
  return mean(Array.from({ length: L }, (_, j) => at(R, L, j) - at(R, j, j)));
}

/**
 * Forward transfer (Lopez-Paz & Ranzato 2017, GEM):
 * FWT = (1 / L) * sum_{j=1..L} (R[j-1][j] - b[j]), with b[j] the accuracy on task j of the
 * randomly initialised model (before any training). NaN with one row.
 */
export function forwardTransfer(R: AccuracyMatrix, baseline: readonly number[]): number {
  const L = lastRow(R, 'forwardTransfer');
  const T = (R[0] as readonly number[]).length;
  if (!Array.isArray(baseline) || baseline.length !== T) {
    throw new RangeError(
      `forwardTransfer: baseline needs one accuracy per task (${T}), ` +
        `got ${Array.isArray(baseline) ? baseline.length : String(baseline)}`,
    );
  }
  return mean(Array.from({ length: L }, (_, k) => at(R, k, k + 1) - (baseline[k + 1] as number)));
}

/**
 * Forgetting (Chaudhry et al. 2018, RWalk): for each earlier task j < L,
 * f_j = max_{l=0..L-1} R[l][j] - R[L][j]; F = (1 / L) * sum_{j=0..L-1} f_j. NaN with one row.
 */
export function forgetting(R: AccuracyMatrix): number {
  const L = lastRow(R, 'forgetting');
  return mean(
    Array.from({ length: L }, (_, j) => {
      let best = -Infinity;
      for (let l = 0; l < L; l++) best = Math.max(best, at(R, l, j));
      return best - at(R, L, j);
    }),
  );
}

/** The metrics of one run. */
export interface Metrics {
  readonly averageAccuracy: number;
  readonly backwardTransfer: number;
  /** NaN when no baseline accuracies were given. */
  readonly forwardTransfer: number;
  readonly forgetting: number;
}

/** All metrics of R (forward transfer needs the random-init baseline b, else NaN). */
export function computeMetrics(R: AccuracyMatrix, baseline?: readonly number[]): Metrics {
  return Object.freeze({
    averageAccuracy: averageAccuracy(R),
    backwardTransfer: backwardTransfer(R),
    forwardTransfer: baseline === undefined ? Number.NaN : forwardTransfer(R, baseline),
    forgetting: forgetting(R),
  });
}
