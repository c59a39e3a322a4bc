/**
 * Sequential training of scholars over a task sequence (Shin et al. 2017, §3.2 and Fig. 1): for
 * each task i, the new scholar learns from the task's data and the replay of the frozen previous
 * scholar (replay.ts: the batches, r, the mixed loss of §3.1 and one iteration), then is evaluated
 * on every task (a row of the accuracy matrix R), frozen, and becomes the replay source of task
 * i + 1.
 *
 * Nothing is read from the device inside an iteration; losses are read only when progress is due.
 * Class-IL follows van de Ven & Tolias (2019): the current task's loss uses the classes seen so
 * far; replayed labels are the previous solver's argmax over the classes it had seen.
 */
import { tf } from '../tf';
import type { Tensor2D } from '@tensorflow/tfjs-node';
import type { AccuracyMatrix, Task, TaskSequence } from './types';
import type { ExperimentConfig } from './config';
import {
  generatorUpdatesForTask,
  solverUpdatesPerTask,
  taskEndsOf,
  taskIterations,
  validateConfig,
} from './config';
import { deriveSeed } from '../rng';
import { type Solver, buildSolver, createSolverTrainer } from './solvers';
import { buildGenerator, createGeneratorTrainer } from './generators';
import { Scholar, createScholar, snapshotScholar } from './scholar';
import { disposeLosses, planTask, readLosses, runIteration } from './replay';
import { evaluate, withRow } from './eval';
import { createProgress } from './progress';
import { openRunCheckpoint } from './run-checkpoint';
import { activeOutputs, logitMask } from './masks';
import { type Regularizer, createRegularizer } from './regularizers';

/** Accuracy on every task, measured during training. */
export interface CurvePoint {
  /** Task being trained (0-based). */
  readonly task: number;
  /** Iterations done within that task (0..iterations). */
  readonly iteration: number;
  /** Iterations done since the start of the sequence. */
  readonly globalIteration: number;
  /** Accuracy on each task of the sequence (future ones too). */
  readonly accuracy: readonly number[];
}

/** Losses read during training (every time progress was due). */
export interface LossPoint {
  readonly task: number;
  readonly iteration: number;
  readonly losses: Readonly<Record<string, number>>;
}

export interface TaskEndInfo {
  readonly taskIndex: number;
  readonly task: Task;
  /** The live scholar after training on the task (do not dispose; sample from it freely). */
  readonly scholar: Scholar;
  /** Rows 0..taskIndex of R. */
  readonly accuracy: AccuracyMatrix;
  /** Seconds spent training this task (evaluation excluded). */
  readonly seconds: number;
}

export interface TrainOptions {
  /**
   * Progress lines: false = silent; otherwise options of the progress reporter (default every 10 s
   * to console.log).
   */
  readonly progress?:
    false | { readonly everySeconds?: number; readonly write?: (line: string) => void };
  /** Measure accuracy on all tasks every K iterations (learning curves); 0 or undefined = off. */
  readonly curveEvery?: number;
  /**
   * Test examples per task for curve points (default 1000; the R matrix always uses the whole test
   * set).
   */
  readonly curveMaxPerTask?: number;
  /** Called after each task with the live scholar (e.g. to show replayed samples in a notebook). */
  readonly onTaskEnd?: (info: TaskEndInfo) => void | Promise<void>;
  /** Save a checkpoint here after each task and resume from it if present. */
  readonly checkpointDir?: string;
  /**
   * With `checkpointDir`: also keep the state after the first task in this folder, shared by runs
   * that train their first task alike (same config but for replay and LwF, which task 1 does not
   * use; same curve options), and start a run without a checkpoint of its own from there.
   */
  readonly firstTaskCache?: string;
  /**
   * Restore from the checkpoint (or the first-task cache) and train nothing: the result's scholar
   * is the one after the last task restored. A RangeError when there is nothing to restore.
   */
  readonly restoreOnly?: boolean;
  /** Stop after this task index (for tests of interruption/resume); default: the last task. */
  readonly stopAfterTask?: number;
}

export interface TrainResult {
  readonly config: ExperimentConfig;
  readonly sequenceName: string;
  /** R[i][j] for the tasks trained (rows 0..last finished task). */
  readonly accuracy: AccuracyMatrix;
  readonly curves: readonly CurvePoint[];
  readonly losses: readonly LossPoint[];
  /** The trained scholar (live; the caller disposes it). */
  readonly scholar: Scholar;
  /**
   * Seconds of training per task (evaluation excluded); for tasks restored from a checkpoint,
   * as recorded there.
   */
  readonly taskSeconds: readonly number[];
  /** Wall-clock seconds of this call. */
  readonly totalSeconds: number;
  /** Number of tasks restored from the checkpoint (0 = fresh start). */
  readonly resumedTasks: number;
  /** The checkpoint folder name of the run whose first task this run reused, else null. */
  readonly firstTaskFrom: string | null;
  /**
   * Updates applied by each of the generator's optimizers over all tasks trained (restored ones
   * included), e.g. VAE {encoder, decoder}, WGAN-GP {generator, critic}; null without a generator.
   */
  readonly generatorUpdates: Readonly<Record<string, number>> | null;
}

// ------------------------------------------------------------------------------------ the loop

/**
 * After task k (issue 12): EWC's Fisher on the task's training data under the logits the task
 * trained (task-IL: its classes; class-IL: the classes so far), or SI's consolidation of ω.
 */
function consolidate(
  reg: Regularizer,
  solver: Solver,
  sequence: TaskSequence,
  k: number,
  seed: number,
): void {
  const task = sequence.tasks[k] as Task;
  const C = sequence.numOutputs;
  const targets = tf.tidy(() => tf.oneHot(tf.cast(task.train.y, 'int32'), C).toFloat() as Tensor2D);
  const mask = logitMask(C, activeOutputs(sequence, k, 'train'));
  try {
    reg.endTask(solver, { x: task.train.x, targets, mask, seed: deriveSeed(seed, 'fisher', k) });
  } finally {
    tf.dispose([targets, ...(mask === null ? [] : [mask])]);
  }
}

/**
 * Trains scholars over `sequence` as `config` says; returns the accuracy
 * matrix (a row after each task, all tasks in every row), optional accuracy
 * curves, losses and the final live scholar. Throws a ConfigError before any
 * training if the config is bad or does not fit the sequence.
 */
export async function trainSequence(
  sequence: TaskSequence,
  config: ExperimentConfig,
  options: TrainOptions = {},
): Promise<TrainResult> {
  validateConfig(config, sequence);
  const numTasks = sequence.tasks.length;
  const lastTask = options.stopAfterTask ?? numTasks - 1;
  if (!Number.isInteger(lastTask) || lastTask < 0 || lastTask >= numTasks)
    throw new RangeError(
      `trainSequence: stopAfterTask ${lastTask} is not a task index (0..${numTasks - 1})`,
    );
  const curveEvery = options.curveEvery ?? 0;
  if (!Number.isInteger(curveEvery) || curveEvery < 0)
    throw new RangeError(
      `trainSequence: curveEvery must be a non-negative integer, got ${curveEvery}`,
    );
  const t0 = performance.now();
  // The checkpoint folder is checked (and the run's identity computed) before any training.
  const dir = options.checkpointDir;
  const cache = options.firstTaskCache;
  if (cache !== undefined && dir === undefined)
    throw new RangeError('trainSequence: firstTaskCache needs a checkpointDir');
  const curveOptions = { curveEvery, curveMaxPerTask: options.curveMaxPerTask ?? 1000 };
  const firstTask = cache === undefined ? undefined : { cache, options: curveOptions };
  const ckpt = dir === undefined ? null : openRunCheckpoint(dir, config, sequence, firstTask);

  const solver = buildSolver(
    config.solver,
    sequence.inputShape,
    sequence.numOutputs,
    deriveSeed(config.seed, 'solver'),
  );
  const generator =
    config.generator === null
      ? null
      : buildGenerator(config.generator, sequence.inputShape, deriveSeed(config.seed, 'generator'));
  const scholar = createScholar(generator, solver);
  const solverT = createSolverTrainer(solver);
  const genT = generator === null ? null : createGeneratorTrainer(generator);
  const trainsGenerator = genT !== null;
  // The solver steps on the first `solverIterations` iterations of a task (default: all).
  const solverSteps = solverUpdatesPerTask(config);
  // EWC / online EWC / SI on the solver (issue 12; null without config.regularizer).
  const regularizer = createRegularizer(config.regularizer, solver.params);

  let R: AccuracyMatrix = [];
  let curves: CurvePoint[] = [];
  let losses: LossPoint[] = [];
  let taskSeconds: number[] = [];
  let start = 0;
  let firstTaskFrom: string | null = null;
  let prev: Scholar | null = null;
  let ok = false;
  try {
    const resumed = ckpt === null ? null : await ckpt.resume({ solverT, genT, regularizer });
    if (resumed !== null) {
      start = resumed.completedTasks;
      R = resumed.accuracy;
      curves = [...resumed.curves];
      losses = [...resumed.losses];
      taskSeconds = [...resumed.taskSeconds];
      firstTaskFrom = resumed.firstTaskFrom ?? null;
      prev = snapshotScholar(scholar);
    }
    if (options.restoreOnly === true && resumed === null) {
      throw new RangeError(
        `trainSequence: restoreOnly, but ${dir ?? 'no checkpointDir'} holds no ` +
          'checkpoint of this run' +
          (cache === undefined ? '' : ' and the first-task cache none of its first task'),
      );
    }
    const resumedTasks = start;
    const endTask = options.restoreOnly === true ? start - 1 : lastTask;
    let globalIt = start === 0 ? 0 : (taskEndsOf(config, start)[start - 1] as number);
    const curveOpts = { maxPerTask: curveOptions.curveMaxPerTask };

    for (let k = start; k <= endTask; k++) {
      // Task i = k + 1. `prev` is the frozen scholar ⟨G_{i−1}, S_{i−1}⟩ that replays
      // (null on task 1).
      const task = sequence.tasks[k] as Task;
      const plan = planTask(config, sequence, k, prev, trainsGenerator);
      // The generator steps on the first `generatorIterations` iterations of task k, the solver
      // on the first `solverIterations` (default: all `iterations`); the loop runs for both.
      const genSteps = generatorUpdatesForTask(config, k);
      const steps = taskIterations(config, k);
      const progress =
        options.progress === false
          ? null
          : createProgress({
              total: steps,
              label: `task ${k + 1}/${numTasks} ${task.name}`,
              ...(options.progress ?? {}),
            });
      const tStart = performance.now();
      let evalSeconds = 0;
      try {
        if (curveEvery > 0) {
          const te = performance.now();
          curves.push({
            task: k,
            iteration: 0,
            globalIteration: globalIt,
            accuracy: await evaluate(solver, sequence, { trainedUpTo: k, ...curveOpts }),
          });
          evalSeconds += (performance.now() - te) / 1000;
        }
        for (let it = 1; it <= steps; it++) {
          // x ~ D_i; x′ ~ G_{i−1}, y′ = S_{i−1}(x′); S_i steps on
          // r·L(S(x), y) + (1 − r)·L(S(x′), y′) (Shin et al. §3.1); G_i steps on [x ; x′].
          // See replay.ts.
          const due = progress !== null && progress.due(it);
          const genSeed = deriveSeed(config.seed, 'generator-step', k, it);
          const gen = it <= genSteps ? genT : null;
          const sol = it <= solverSteps ? solverT : null;
          const iterationLosses = runIteration(plan, sol, gen, it, genSeed, due, regularizer);
          globalIt++;
          if (progress !== null && due) {
            const read = await readLosses(iterationLosses);
            losses.push({ task: k, iteration: it, losses: read });
            progress.report(it, read);
          } else {
            disposeLosses(iterationLosses);
          }
          if (curveEvery > 0 && it % curveEvery === 0) {
            const te = performance.now();
            curves.push({
              task: k,
              iteration: it,
              globalIteration: globalIt,
              accuracy: await evaluate(solver, sequence, { trainedUpTo: k, ...curveOpts }),
            });
            evalSeconds += (performance.now() - te) / 1000;
          }
        }
      } finally {
        plan.dispose();
      }
      // The new scholar is tested on every task (row k of R), frozen, and replays for task i + 1
      // (§3.2).
      const seconds = (performance.now() - tStart) / 1000 - evalSeconds;
      taskSeconds.push(seconds);
      R = withRow(R, k, await evaluate(solver, sequence, { trainedUpTo: k }));
      // EWC: the Fisher of task i at θ*_i; SI: Ω += ω/(Δθ² + ξ) (regularizers.ts).
      if (regularizer !== null) consolidate(regularizer, solver, sequence, k, config.seed);
      prev?.dispose();
      prev = snapshotScholar(scholar);
      const record = {
        completedTasks: k + 1,
        accuracy: R,
        curves,
        losses,
        taskSeconds,
        ...(firstTaskFrom === null ? {} : { firstTaskFrom }),
      };
      await ckpt?.save({ solverT, genT, regularizer }, record);
      if (options.onTaskEnd !== undefined)
        await options.onTaskEnd({ taskIndex: k, task, scholar, accuracy: R, seconds });
    }
    ok = true;
    return {
      config,
      sequenceName: sequence.name,
      accuracy: R,
      curves,
      losses,
      scholar,
      taskSeconds,
      totalSeconds: (performance.now() - t0) / 1000,
      resumedTasks,
      firstTaskFrom,
      generatorUpdates:
        genT === null
          ? null
          : Object.freeze(
              Object.fromEntries(Object.entries(genT.optimizers).map(([k, o]) => [k, o.steps()])),
            ),
    };
  } finally {
    prev?.dispose();
    solverT.dispose();
    genT?.dispose();
    regularizer?.dispose();
    if (!ok) scholar.dispose();
  }
}
