/**
 * Shared types of the generative replay engine (lib/engine). Task sequences,
 * evaluation and training all speak these.
 */
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';

/**
 * The three continual-learning scenarios (van de Ven & Tolias 2019):
 * - `task`: the task identity is given at test time (multi-head: outputs masked to the task's
 *   classes);
 * - `domain`: same output space for every task, task identity not given;
 * - `class`: outputs of all classes seen so far, task identity not given (the paper's §4.3
 *   meta-task).
 */
export type Scenario = 'task' | 'domain' | 'class';

/** Examples of one task, held on the native backend. */
export interface TaskData {
  /** Inputs [count, ...inputShape], float32 in [0, 1]. */
  readonly x: Tensor;
  /** Labels [count], int32, in the sequence's output space (0..numOutputs-1). */
  readonly y: Tensor1D;
  readonly count: number;
}

export interface Task {
  /** 0-based position in the sequence. */
  readonly index: number;
  readonly name: string;
  /** Output units this task uses (its head in the task-incremental scenario). */
  readonly classes: readonly number[];
  readonly train: TaskData;
  readonly test: TaskData;
}

/** A JSON value of a sequence identity. */
export type IdentityValue =
  | null
  | boolean
  | number
  | string
  | readonly IdentityValue[]
  | { readonly [key: string]: IdentityValue };

/**
 * What a sequence was built from, recorded in run checkpoints so a run is never resumed on other
 * data: the builder and its complete config (seed, class order, subsample sizes, ...), the domain
 * of each task, and the SHA-256 of every data file read (by file name).
 */
export interface SequenceIdentity {
  /** The builder, e.g. 'permutedMnist'. */
  readonly builder: string;
  readonly config: { readonly [key: string]: IdentityValue };
  /** Name of the data each task was built from, in task order. */
  readonly domains: readonly string[];
  readonly dataFiles: { readonly [file: string]: string };
}

export interface TaskSequence {
  /** Short name used in run names, e.g. 'splitMNIST' or 'permMNIST'. */
  readonly name: string;
  readonly scenario: Scenario;
  /** Shape of one input, e.g. [784] or [32, 32, 3]. */
  readonly inputShape: readonly number[];
  /** Output units of the solver. */
  readonly numOutputs: number;
  readonly tasks: readonly Task[];
  /** What the sequence was built from (set by the builders of tasks.ts; absent when hand-made). */
  readonly identity?: SequenceIdentity;
  /** Frees every tensor of the sequence. */
  dispose(): void;
}

/** Anything that maps inputs to logits; what evaluation needs of a solver. */
export interface Classifier {
  /** Logits [n, numOutputs] for inputs [n, ...inputShape]; no training, no side effects. */
  predict(x: Tensor): Tensor2D;
}

/** R[i][j]: accuracy on task j after training on task i (all j, including future tasks). */
export type AccuracyMatrix = readonly (readonly number[])[];
