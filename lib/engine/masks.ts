/**
 * Which output units a row of a batch may use, and the logit masks that say so (one module for
 * every mask of the engine). Inactive outputs get {@link INACTIVE_LOGIT} added to (or put in place
 * of) their logit, so they never win the argmax and carry no softmax mass:
 * - {@link activeOutputs}: the outputs of a task in each scenario (van de Ven & Tolias 2019);
 * - {@link logitMask}: an additive mask [1, numOutputs] from a list of active outputs;
 * - {@link withMask}: logits plus a mask (training, labelling and evaluation alike);
 * - {@link batchMasks}: the masks of one training batch [real rows ; replayed rows].
 */
import { tf } from '../tf';
import type { Tensor2D } from '@tensorflow/tfjs-node';
import type { Task, TaskSequence } from './types';
import { ew } from './native';

/** What the output units are used for: training a task, or evaluating one. */
export type OutputPurpose = 'train' | 'eval';

/**
 * The output units that are active for a task (the one function the trainer and evaluation share):
 * - `task` scenario: the task's own classes (its head), for training and evaluation;
 * - `domain` scenario: all outputs;
 * - `class` scenario, training task t: every class of tasks 0..t (those seen so far);
 *   evaluating task j after training up to task `trainedUpTo` (default j): every class of tasks
 *   0..max(trainedUpTo, j) — all classes seen, plus the evaluated task's own when it lies in the
 *   future.
 * Returns sorted output indices.
 */
export function activeOutputs(
  sequence: Pick<TaskSequence, 'scenario' | 'numOutputs' | 'tasks'>,
  taskIndex: number,
  purpose: OutputPurpose,
  trainedUpTo: number = taskIndex,
): readonly number[] {
  const numTasks = sequence.tasks.length;
  if (!Number.isInteger(taskIndex) || taskIndex < 0 || taskIndex >= numTasks) {
    throw new RangeError(
      `activeOutputs: taskIndex ${taskIndex} is not a task of this sequence (0..${numTasks - 1})`,
    );
  }
  if (!Number.isInteger(trainedUpTo) || trainedUpTo < 0 || trainedUpTo >= numTasks) {
    throw new RangeError(
      `activeOutputs: trainedUpTo ${trainedUpTo} is not a task of this sequence ` +
        `(0..${numTasks - 1})`,
    );
  }
  if (purpose !== 'train' && purpose !== 'eval')
    throw new RangeError(
      `activeOutputs: purpose must be 'train' or 'eval', got ${String(purpose)}`,
    );
  switch (sequence.scenario) {
    case 'task':
      return (sequence.tasks[taskIndex] as Task).classes;
    case 'domain':
      return Object.freeze(Array.from({ length: sequence.numOutputs }, (_, i) => i));
    case 'class': {
      const last = purpose === 'train' ? taskIndex : Math.max(trainedUpTo, taskIndex);
      const set = new Set<number>();
      for (let t = 0; t <= last; t++)
        for (const c of (sequence.tasks[t] as Task).classes) set.add(c);
      return Object.freeze([...set].sort((a, b) => a - b));
    }
    default:
      throw new RangeError(`activeOutputs: unknown scenario ${String(sequence.scenario)}`);
  }
}

/**
 * Added to the logits of inactive outputs: finite (so 0 * mask stays 0 in a loss), yet never the
 * argmax or a softmax mass.
 */
export const INACTIVE_LOGIT = -1e9;

/**
 * Additive logit mask [1, numOutputs]: 0 on `active`, {@link INACTIVE_LOGIT} elsewhere (null when
 * all are active).
 */
export function logitMask(
  numOutputs: number,
  active: readonly number[] | undefined,
): Tensor2D | null {
  if (active === undefined || active.length === numOutputs) return null;
  const m = new Float32Array(numOutputs).fill(INACTIVE_LOGIT);
  for (const c of active) {
    if (!Number.isInteger(c) || c < 0 || c >= numOutputs)
      throw new Error(`logitMask: active unit ${c} is outside 0..${numOutputs - 1}`);
    m[c] = 0;
  }
  return tf.tensor2d(m, [1, numOutputs]);
}

/**
 * Logits with a mask from {@link logitMask} or {@link batchMasks} added (null = nothing masked):
 * inactive outputs end near {@link INACTIVE_LOGIT}, active ones keep their logit. Pure tensor op;
 * call inside tf.tidy.
 */
export function withMask(logits: Tensor2D, mask: Tensor2D | null): Tensor2D {
  return mask === null ? logits : (ew('AddV2', logits, mask) as Tensor2D);
}

/**
 * The previous task whose head replayed row `row` trains in the task-incremental scenario: the
 * `replayRows` replayed rows are cut into `numPrevious` equal chunks, chunk j for previous task j.
 */
export function replayRowTask(row: number, numPrevious: number, replayRows: number): number {
  return Math.floor((row * numPrevious) / replayRows);
}

/** The logit masks of one training batch (null = nothing masked). */
export interface BatchMasks {
  /**
   * For the new solver: [realRows + replayRows, C], or [1, C] when every row uses the same outputs.
   */
  readonly batch: Tensor2D | null;
  /** For the previous solver labelling the replayed inputs: [replayRows, C] or [1, C]. */
  readonly labeller: Tensor2D | null;
}

/**
 * The masks of a training batch for task k (0-based): `realRows` rows of task k, then `replayRows`
 * replayed rows (0 on the first task or without replay).
 * - task-IL: real rows use task k's head; replayed row i uses the head of previous task
 *   {@link replayRowTask}(i, k, replayRows), for the new solver and for the labeller alike;
 * - class-IL: every row uses the classes seen so far (van de Ven & Tolias 2019); the labeller,
 *   the classes seen up to task k − 1;
 * - domain-IL: no mask.
 * The caller disposes the tensors.
 */
export function batchMasks(
  sequence: TaskSequence,
  k: number,
  realRows: number,
  replayRows: number,
): BatchMasks {
  const C = sequence.numOutputs;
  if (sequence.scenario === 'task') {
    const rows = realRows + replayRows;
    const m = new Float32Array(rows * C).fill(INACTIVE_LOGIT);
    for (const c of activeOutputs(sequence, k, 'train'))
      for (let i = 0; i < realRows; i++) m[i * C + c] = 0;
    const pm = new Float32Array(Math.max(replayRows, 1) * C).fill(INACTIVE_LOGIT);
    for (let i = 0; i < replayRows; i++) {
      for (const c of activeOutputs(sequence, replayRowTask(i, k, replayRows), 'train')) {
        m[(realRows + i) * C + c] = 0;
        pm[i * C + c] = 0;
      }
    }
    return {
      batch: tf.tensor2d(m, [rows, C]),
      labeller: replayRows > 0 ? tf.tensor2d(pm, [replayRows, C]) : null,
    };
  }
  if (sequence.scenario === 'class') {
    const labeller = replayRows > 0 ? logitMask(C, activeOutputs(sequence, k - 1, 'train')) : null;
    return { batch: logitMask(C, activeOutputs(sequence, k, 'train')), labeller };
  }
  return { batch: null, labeller: null };
}
