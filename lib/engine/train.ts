/**
 * Sequential training of scholars over a task sequence (Shin et al. 2017,
 * §3.2 and Fig. 1). For task t (1-based) with the previous scholar frozen:
 *
 *   x' ~ G_{t−1},  y' = S_{t−1}(x')                       (replay; none on the first task)
 *   G_t  learns from real x of task t mixed with x' (weights r and 1−r)
 *   S_t  minimises r·L(S_t(x), y) + (1−r)·L(S_t(x'), y')
 *
 * with r = 1/t ('inverse-task') or a fixed number. Replay modes: none, noise
 * (uniform noise labelled by S_{t−1}: the paper's control), exact (stored
 * past data, true labels: the upper bound) and generative (DGR).
 *
 * One iteration = one solver step on [B real ; B_r replayed] rows and one
 * generator step on the same inputs, each a single fused gradient call over
 * one flat parameter variable. Nothing is read from the device inside an
 * iteration; losses are read (await data()) only when progress is due.
 * Class-IL follows van de Ven & Tolias (2019): the current task's loss uses the
 * classes seen so far; replayed labels are the previous solver's argmax over
 * the classes it had seen.
 */
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';
import type { AccuracyMatrix, Task, TaskSequence } from './types';
import type { ExperimentConfig } from './config';
import { validateConfig } from './config';
import { createBatchSampler, deriveSeed } from '../rng';
import { argMaxOneHot, concat, ew, gatherRows, statelessUniform } from './native';
import { Solver, SolverBatch, SolverTrainer, buildSolver, createSolverTrainer } from './solvers';
import { Generator, GeneratorTrainer, buildGenerator, createGeneratorTrainer } from './generators';
import { Scholar, createScholar, logitMask, snapshotScholar } from './scholar';
import { INACTIVE_LOGIT, activeOutputs } from './tasks';
import { evaluate, withRow } from './eval';
import { createProgress } from './progress';
import { openRunCheckpoint } from './run-checkpoint';
import type { RunNameParts } from './results';

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
  /** Progress lines: false = silent; otherwise options of the progress reporter (default every 10 s to console.log). */
  readonly progress?: false | { readonly everySeconds?: number; readonly write?: (line: string) => void };
  /** Measure accuracy on all tasks every K iterations (learning curves); 0 or undefined = off. */
  readonly curveEvery?: number;
  /** Test examples per task for curve points (default 1000; the R matrix always uses the whole test set). */
  readonly curveMaxPerTask?: number;
  /** Called after each task with the live scholar (e.g. to show replayed samples in a notebook). */
  readonly onTaskEnd?: (info: TaskEndInfo) => void | Promise<void>;
  /** Save a checkpoint here after each task and resume from it if present. */
  readonly checkpointDir?: string;
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
  /** Seconds of training per task (evaluation excluded); for tasks restored from a checkpoint, as recorded there. */
  readonly taskSeconds: readonly number[];
  /** Wall-clock seconds of this call. */
  readonly totalSeconds: number;
  /** Number of tasks restored from the checkpoint (0 = fresh start). */
  readonly resumedTasks: number;
}

/** r for the task with 0-based index k. */
export function replayRatio(config: ExperimentConfig, k: number): number {
  const r = config.replay.ratio;
  return r === 'inverse-task' ? 1 / (k + 1) : r;
}

/** The run-name settings (results.ts `runName`) of a config on a sequence. */
export function runNameParts(config: ExperimentConfig, sequence: Pick<TaskSequence, 'name' | 'scenario'>): RunNameParts {
  const mode = config.replay.mode;
  const method = { none: 'none', noise: 'noise', exact: 'er', generative: 'gr' }[mode];
  const generator = mode === 'generative' && config.generator !== null ? (config.generator.kind === 'vae' ? 'vae' : `wgangp_${config.generator.arch}`) : undefined;
  const extra: Record<string, string | number | boolean> = { iters: config.iterations };
  if (mode !== 'none' && config.replay.targets === 'soft') extra.distillT = config.replay.temperature;
  return {
    sequence: sequence.name,
    scenario: sequence.scenario,
    method,
    ...(generator !== undefined ? { generator } : {}),
    ratio: mode === 'none' ? 1 : config.replay.ratio === 'inverse-task' ? '1/t' : config.replay.ratio,
    seed: config.seed,
    extra,
  };
}

/** What the new solver is trained on in one iteration, and what the generator sees. */
interface IterationBatch {
  readonly solver: SolverBatch;
  /** Generator inputs and weights (null weights = uniform). */
  readonly genX: Tensor;
  readonly genWeights: Tensor1D | null;
}

/** Per-task constants and the batch builder (exported for the benchmark). */
export interface TaskPlan {
  build(it: number): IterationBatch;
  dispose(): void;
}

function fullMask(numOutputs: number, active: readonly number[], rows: number): Tensor2D | null {
  const m = logitMask(numOutputs, active);
  if (m === null || rows === 1) return m;
  const t = tf.tile(m, [rows, 1]) as Tensor2D;
  m.dispose();
  return t;
}

/**
 * The per-task batch builder for task k given the frozen previous scholar
 * (null on the first task): real batch + replayed batch, targets, row weights,
 * logit masks. Used by trainSequence; exported for the benchmark.
 */
export function planTask(config: ExperimentConfig, sequence: TaskSequence, k: number, prev: Scholar | null, trainsGenerator: boolean): TaskPlan {
  const task = sequence.tasks[k] as Task;
  const C = sequence.numOutputs;
  const B = config.batchSize;
  const scenario = sequence.scenario;
  const mode = prev === null ? 'none' : config.replay.mode;
  const Br = config.replay.batchSize;
  const r = mode === 'none' ? 1 : replayRatio(config, k);
  const soft = config.replay.targets === 'soft' && (mode === 'generative' || mode === 'noise');
  const T = config.replay.temperature;
  const keep: Tensor[] = [];
  const hold = <X extends Tensor | null>(t: X): X => {
    if (t !== null) keep.push(t);
    return t;
  };

  // One-hot targets of the task's training set, gathered per batch on the native side.
  const trainTargets = hold(tf.tidy(() => tf.oneHot(tf.cast(task.train.y, 'int32'), C).toFloat()) as Tensor2D);
  const sampler = createBatchSampler(task.train.count, B, deriveSeed(config.seed, 'batches', k));
  const activeNow = activeOutputs(sequence, k, 'train');
  const replayRows = mode === 'none' ? 0 : Br;
  const rows = B + replayRows;

  // Row weights: r/B for real rows, (1−r)/B_r (·T² when distilling) for replayed rows.
  const w = new Float32Array(rows);
  w.fill(r / B, 0, B);
  if (replayRows > 0) w.fill(((1 - r) / Br) * (soft ? T * T : 1), B);
  const weights = hold(tf.tensor1d(w));
  const genWeights = replayRows > 0 && mode === 'generative' && trainsGenerator ? hold(tf.tensor1d(Float32Array.from(w.map((v, i) => (i < B ? v : (1 - r) / Br))))) : null;

  let invT: Tensor2D | null = null;
  if (soft && replayRows > 0) {
    const it = new Float32Array(rows).fill(1);
    it.fill(1 / T, B);
    invT = hold(tf.tensor2d(it, [rows, 1]));
  }

  // Logit masks. task-IL: each replayed chunk belongs to one previous task (its head);
  // class-IL: all rows use the classes seen so far (van de Ven); domain-IL: none.
  let mask: Tensor2D | null = null;
  let prevMask: Tensor2D | null = null; // masks the previous solver's outputs when labelling replay
  if (scenario === 'task') {
    const m = new Float32Array(rows * C).fill(INACTIVE_LOGIT);
    for (const c of activeNow) for (let i = 0; i < B; i++) m[i * C + c] = 0;
    const pm = new Float32Array(Math.max(replayRows, 1) * C).fill(INACTIVE_LOGIT);
    for (let i = 0; i < replayRows; i++) {
      const j = Math.floor((i * k) / replayRows); // previous task of replay row i
      for (const c of activeOutputs(sequence, j, 'train')) {
        m[(B + i) * C + c] = 0;
        pm[i * C + c] = 0;
      }
    }
    mask = hold(tf.tensor2d(m, [rows, C]));
    if (replayRows > 0) prevMask = hold(tf.tensor2d(pm, [replayRows, C]));
  } else if (scenario === 'class') {
    mask = hold(fullMask(C, activeNow, 1));
    if (replayRows > 0) prevMask = hold(fullMask(C, activeOutputs(sequence, k - 1, 'train'), 1));
  }

  // Exact replay: the stored training data of all previous tasks, with true labels. Rows are drawn
  // uniformly from all past data, except in task-IL where replay row i must come from the task
  // whose head it trains (chunk j of the replay batch from previous task j, as in the masks above).
  let pastX: Tensor | null = null;
  let pastT: Tensor2D | null = null;
  let pastSampler: { next(): Int32Array } | null = null;
  if (mode === 'exact') {
    const prevTasks = sequence.tasks.slice(0, k);
    pastX = hold(tf.concat(prevTasks.map((t) => t.train.x), 0));
    pastT = hold(tf.tidy(() => tf.oneHot(tf.cast(tf.concat(prevTasks.map((t) => t.train.y), 0) as Tensor1D, 'int32'), C).toFloat()) as Tensor2D);
    if (scenario === 'task') {
      const offsets: number[] = [];
      let off = 0;
      for (const t of prevTasks) {
        offsets.push(off);
        off += t.train.count;
      }
      const chunk = prevTasks.map((_, j) => {
        let n = 0;
        for (let i = 0; i < Br; i++) if (Math.floor((i * k) / Br) === j) n++;
        return n;
      });
      const samplers = prevTasks.map((t, j) => ((chunk[j] as number) > 0 ? createBatchSampler(t.train.count, chunk[j] as number, deriveSeed(config.seed, 'exact-batches', k, j)) : null));
      pastSampler = {
        next(): Int32Array {
          const out = new Int32Array(Br);
          let pos = 0;
          samplers.forEach((smp, j) => {
            if (smp === null) return;
            for (const v of smp.next()) out[pos++] = v + (offsets[j] as number);
          });
          return out;
        },
      };
    } else {
      pastSampler = createBatchSampler(pastX.shape[0] as number, Br, deriveSeed(config.seed, 'exact-batches', k));
    }
  }
  // Frozen weights of the previous solver, unpacked once per task.
  const prevSolver = prev?.solver ?? null;
  const inputShape = sequence.inputShape;

  const labelReplay = (x: Tensor): Tensor2D => {
    const s = prevSolver as Solver;
    let z: Tensor2D = s.predict(x);
    if (prevMask !== null) z = ew('AddV2', z, prevMask) as Tensor2D;
    return soft ? (tf.softmax(tf.div(z, T)) as Tensor2D) : argMaxOneHot(z);
  };

  return {
    build(it: number): IterationBatch {
      const t = tf.tidy(() => {
        const idx = tf.tensor1d(sampler.next(), 'int32');
        const xReal = gatherRows(task.train.x, idx);
        const tReal = gatherRows(trainTargets, idx) as Tensor2D;
        if (replayRows === 0) return { x: xReal, targets: tReal, genX: xReal };
        let xRep: Tensor;
        let tRep: Tensor2D;
        const seed = deriveSeed(config.seed, 'replay', k, it);
        if (mode === 'generative') {
          xRep = ((prev as Scholar).generator as Generator).sample(Br, seed);
          tRep = labelReplay(xRep);
        } else if (mode === 'noise') {
          xRep = statelessUniform([Br, ...inputShape], seed);
          tRep = labelReplay(xRep);
        } else {
          const pidx = tf.tensor1d((pastSampler as { next(): Int32Array }).next(), 'int32');
          xRep = gatherRows(pastX as Tensor, pidx);
          tRep = gatherRows(pastT as Tensor2D, pidx) as Tensor2D;
        }
        const x = concat([xReal, xRep], 0);
        return { x, targets: concat([tReal, tRep], 0) as Tensor2D, genX: mode === 'generative' ? x : xReal };
      });
      return {
        solver: { x: t.x, targets: t.targets as Tensor2D, weights: weights as Tensor1D, mask, invTemperature: invT },
        genX: t.genX,
        genWeights: mode === 'generative' ? genWeights : null,
      };
    },
    dispose(): void {
      tf.dispose(keep);
    },
  };
}

/** Frees the per-iteration tensors of a batch (not the per-task constants). */
function disposeBatch(b: IterationBatch): void {
  tf.dispose([...new Set<Tensor>([b.solver.x, b.solver.targets, b.genX])]);
}

/**
 * One training iteration: build the mixed batch, one solver step, one
 * generator step. Returns the loss scalars (kept; the caller disposes them),
 * or none when `needLoss` is false (saves the loss ops on unread iterations).
 */
export function runIteration(
  plan: TaskPlan,
  solverT: SolverTrainer,
  genT: GeneratorTrainer | null,
  it: number,
  genSeed: number,
  needLoss = true,
): { solver: Scalar | null; generator: Readonly<Record<string, Scalar>> } {
  const batch = plan.build(it);
  try {
    const solver = solverT.step(batch.solver, needLoss);
    const generator = genT === null ? {} : genT.step(batch.genX, batch.genWeights, genSeed, needLoss);
    return { solver, generator };
  } finally {
    disposeBatch(batch);
  }
}

// ------------------------------------------------------------------------------------ the loop

/**
 * Trains scholars over `sequence` as `config` says; returns the accuracy
 * matrix (a row after each task, all tasks in every row), optional accuracy
 * curves, losses and the final live scholar. Throws a ConfigError before any
 * training if the config is bad or does not fit the sequence.
 */
export async function trainSequence(sequence: TaskSequence, config: ExperimentConfig, options: TrainOptions = {}): Promise<TrainResult> {
  validateConfig(config, sequence);
  const T = sequence.tasks.length;
  const lastTask = options.stopAfterTask ?? T - 1;
  if (!Number.isInteger(lastTask) || lastTask < 0 || lastTask >= T) throw new RangeError(`trainSequence: stopAfterTask ${lastTask} is not a task index (0..${T - 1})`);
  const curveEvery = options.curveEvery ?? 0;
  if (!Number.isInteger(curveEvery) || curveEvery < 0) throw new RangeError(`trainSequence: curveEvery must be a non-negative integer, got ${curveEvery}`);
  const t0 = performance.now();
  // The checkpoint folder is checked (and the run's identity computed) before any training.
  const dir = options.checkpointDir;
  const ckpt = dir === undefined ? null : openRunCheckpoint(dir, config, sequence);

  const solver = buildSolver(config.solver, sequence.inputShape, sequence.numOutputs, deriveSeed(config.seed, 'solver'));
  const generator = config.generator === null ? null : buildGenerator(config.generator, sequence.inputShape, deriveSeed(config.seed, 'generator'));
  const scholar = createScholar(generator, solver);
  const solverT = createSolverTrainer(solver);
  const genT = generator === null ? null : createGeneratorTrainer(generator);
  const trainsGenerator = genT !== null;

  let R: AccuracyMatrix = [];
  let curves: CurvePoint[] = [];
  let losses: LossPoint[] = [];
  let taskSeconds: number[] = [];
  let start = 0;
  let prev: Scholar | null = null;
  let ok = false;
  try {
    const resumed = ckpt === null ? null : await ckpt.resume({ solverT, genT });
    if (resumed !== null) {
      start = resumed.completedTasks;
      R = resumed.accuracy;
      curves = [...resumed.curves];
      losses = [...resumed.losses];
      taskSeconds = [...resumed.taskSeconds];
      prev = snapshotScholar(scholar);
    }
    const resumedTasks = start;
    let globalIt = start * config.iterations;
    const curveOpts = { maxPerTask: options.curveMaxPerTask ?? 1000 };

    for (let k = start; k <= lastTask; k++) {
      const task = sequence.tasks[k] as Task;
      const plan = planTask(config, sequence, k, prev, trainsGenerator);
      const progress = options.progress === false ? null : createProgress({ total: config.iterations, label: `task ${k + 1}/${T} ${task.name}`, ...(options.progress ?? {}) });
      const tStart = performance.now();
      let evalSeconds = 0;
      try {
        if (curveEvery > 0) {
          const te = performance.now();
          curves.push({ task: k, iteration: 0, globalIteration: globalIt, accuracy: await evaluate(solver, sequence, { trainedUpTo: k, ...curveOpts }) });
          evalSeconds += (performance.now() - te) / 1000;
        }
        for (let it = 1; it <= config.iterations; it++) {
          const due = progress !== null && progress.due(it);
          const { solver: sLoss, generator: gLosses } = runIteration(plan, solverT, genT, it, deriveSeed(config.seed, 'generator-step', k, it), due);
          globalIt++;
          if (progress !== null && due && sLoss !== null) {
            const read: Record<string, number> = { solver: ((await sLoss.data()) as Float32Array)[0] as number };
            for (const [name, l] of Object.entries(gLosses)) read[name] = ((await l.data()) as Float32Array)[0] as number;
            losses.push({ task: k, iteration: it, losses: read });
            progress.report(it, read);
          }
          sLoss?.dispose();
          tf.dispose(Object.values(gLosses));
          if (curveEvery > 0 && it % curveEvery === 0) {
            const te = performance.now();
            curves.push({ task: k, iteration: it, globalIteration: globalIt, accuracy: await evaluate(solver, sequence, { trainedUpTo: k, ...curveOpts }) });
            evalSeconds += (performance.now() - te) / 1000;
          }
        }
      } finally {
        plan.dispose();
      }
      const seconds = (performance.now() - tStart) / 1000 - evalSeconds;
      taskSeconds.push(seconds);
      R = withRow(R, k, await evaluate(solver, sequence, { trainedUpTo: k }));
      prev?.dispose();
      prev = snapshotScholar(scholar);
      const record = { completedTasks: k + 1, accuracy: R, curves, losses, taskSeconds };
      await ckpt?.save({ solverT, genT }, record);
      if (options.onTaskEnd !== undefined) await options.onTaskEnd({ taskIndex: k, task, scholar, accuracy: R, seconds });
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
    };
  } finally {
    prev?.dispose();
    solverT.dispose();
    genT?.dispose();
    if (!ok) scholar.dispose();
  }
}
