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
import { CheckpointError, Json, checkpointExists, loadCheckpoint, saveCheckpoint } from './checkpoint';
import type { RunNameParts } from './results';
import type { ParamSet } from './nn';
import { Regularizer, createRegularizer, regularizedStep } from './regularizers';

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
  const replayMethod = { none: 'none', noise: 'noise', exact: 'er', generative: 'gr' }[mode];
  const generator = mode === 'generative' && config.generator !== null ? (config.generator.kind === 'vae' ? 'vae' : `wgangp_${config.generator.arch}`) : undefined;
  const extra: Record<string, string | number | boolean> = { iters: config.iterations };
  if (mode !== 'none' && config.replay.targets === 'soft') extra.distillT = config.replay.temperature;
  // issue 12: regulariser and LwF join the method's name ('ewc', 'gr_ewc', 'lwf', 'gr_lwf', …).
  const reg = config.regularizer ?? null;
  const lwf = config.lwf ?? null;
  const added: string[] = [];
  if (lwf !== null) {
    added.push('lwf');
    extra.lwfT = lwf.temperature;
  }
  if (reg !== null && reg.kind === 'ewc') {
    added.push(reg.online ? 'oewc' : 'ewc');
    extra.lambda = reg.lambda;
    if (reg.online) extra.gamma = reg.gamma;
    extra.fisher = `${reg.fisherLabels}${reg.fisherExamples === 'all' ? '' : reg.fisherExamples}`;
  } else if (reg !== null) {
    added.push('si');
    extra.c = reg.c;
    extra.xi = reg.xi;
  }
  const method = [...(mode === 'none' && added.length > 0 ? [] : [replayMethod]), ...added].join('_');
  const ratioUsed = mode !== 'none' || lwf !== null;
  return {
    sequence: sequence.name,
    scenario: sequence.scenario,
    method,
    ...(generator !== undefined ? { generator } : {}),
    ratio: !ratioUsed ? 1 : config.replay.ratio === 'inverse-task' ? '1/t' : config.replay.ratio,
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
  // LwF (issue 12): B more rows after the replayed ones: the real inputs again (repeatFirst: the
  // solver runs on them once), soft-labelled by the previous solver at the LwF temperature.
  const lwf = prev === null ? null : (config.lwf ?? null);
  const lwfRows = lwf === null ? 0 : B;
  const Tl = lwf === null ? 1 : lwf.temperature;
  const r = mode === 'none' && lwfRows === 0 ? 1 : replayRatio(config, k);
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
  const L0 = B + replayRows; // first LwF row
  const rows = L0 + lwfRows;

  // Row weights: r/B for real rows, (1−r)/B_r (·T² when distilling) for replayed rows.
  // With LwF the (1−r) share is split equally between its rows (·T_lwf²) and the replayed rows.
  const share = lwfRows > 0 && replayRows > 0 ? 0.5 : 1;
  const w = new Float32Array(rows);
  w.fill(r / B, 0, B);
  if (replayRows > 0) w.fill(((share * (1 - r)) / Br) * (soft ? T * T : 1), B, L0);
  if (lwfRows > 0) w.fill(((share * (1 - r)) / B) * Tl * Tl, L0);
  const weights = hold(tf.tensor1d(w));
  // The generator sees x = [real ; replayed] (LwF rows reuse x): weights r/B and (1−r)/B_r.
  const genW = new Float32Array(B + replayRows).fill(r / B, 0, B).fill((1 - r) / Br, B);
  const genWeights = replayRows > 0 && mode === 'generative' && trainsGenerator ? hold(tf.tensor1d(genW)) : null;

  let invT: Tensor2D | null = null;
  if ((soft && replayRows > 0) || lwfRows > 0) {
    const it = new Float32Array(rows).fill(1);
    if (soft) it.fill(1 / T, B, L0);
    it.fill(1 / Tl, L0);
    invT = hold(tf.tensor2d(it, [rows, 1]));
  }

  // Logit masks. task-IL: each replayed chunk belongs to one previous task (its head);
  // class-IL: all rows use the classes seen so far (van de Ven); domain-IL: none.
  let mask: Tensor2D | null = null;
  let prevMask: Tensor2D | null = null; // masks the previous solver's outputs when labelling replay
  let lwfMask: Tensor2D | null = null; // the same for the LwF rows
  if (scenario === 'task') {
    const m = new Float32Array(rows * C).fill(INACTIVE_LOGIT);
    for (const c of activeNow) for (let i = 0; i < B; i++) m[i * C + c] = 0;
    // Row i of a block of n old-knowledge rows trains the head of previous task ⌊i·k/n⌋.
    const heads = (first: number, n: number): Tensor2D | null => {
      const pm = new Float32Array(Math.max(n, 1) * C).fill(INACTIVE_LOGIT);
      for (let i = 0; i < n; i++) {
        for (const c of activeOutputs(sequence, Math.floor((i * k) / n), 'train')) {
          m[(first + i) * C + c] = 0;
          pm[i * C + c] = 0;
        }
      }
      return n > 0 ? hold(tf.tensor2d(pm, [n, C])) : null;
    };
    prevMask = heads(B, replayRows);
    lwfMask = heads(L0, lwfRows);
    mask = hold(tf.tensor2d(m, [rows, C]));
  } else if (scenario === 'class') {
    mask = hold(fullMask(C, activeNow, 1));
    if (replayRows > 0 || lwfRows > 0) prevMask = hold(fullMask(C, activeOutputs(sequence, k - 1, 'train'), 1));
    lwfMask = prevMask;
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

  const label = (x: Tensor, pm: Tensor2D | null, asSoft: boolean, temperature: number): Tensor2D => {
    const s = prevSolver as Solver;
    let z: Tensor2D = s.predict(x);
    if (pm !== null) z = ew('AddV2', z, pm) as Tensor2D;
    return asSoft ? (tf.softmax(tf.div(z, temperature)) as Tensor2D) : argMaxOneHot(z);
  };
  const labelReplay = (x: Tensor): Tensor2D => label(x, prevMask, soft, T);

  return {
    build(it: number): IterationBatch {
      const t = tf.tidy(() => {
        const idx = tf.tensor1d(sampler.next(), 'int32');
        const xReal = gatherRows(task.train.x, idx);
        const tReal = gatherRows(trainTargets, idx) as Tensor2D;
        const tLwf = lwfRows > 0 ? [label(xReal, lwfMask, true, Tl)] : [];
        if (replayRows === 0) {
          if (lwfRows === 0) return { x: xReal, targets: tReal, genX: xReal };
          return { x: xReal, targets: concat([tReal, ...tLwf], 0) as Tensor2D, genX: xReal };
        }
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
        const targets = concat([tReal, tRep, ...tLwf], 0) as Tensor2D;
        return { x, targets, genX: mode === 'generative' ? x : xReal };
      });
      return {
        solver: { x: t.x, targets: t.targets as Tensor2D, weights: weights as Tensor1D, mask, invTemperature: invT, repeatFirst: lwfRows },
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
 * One training iteration: build the mixed batch, one solver step (with the
 * regulariser's gradient, if any), one generator step. Returns the loss scalars
 * (kept; the caller disposes them), or none when `needLoss` is false (saves the
 * loss ops on unread iterations). `penalty`: the regulariser's term, once active.
 */
export function runIteration(
  plan: TaskPlan,
  solverT: SolverTrainer,
  genT: GeneratorTrainer | null,
  it: number,
  genSeed: number,
  needLoss = true,
  reg: Regularizer | null = null,
): { solver: Scalar | null; generator: Readonly<Record<string, Scalar>>; penalty: Scalar | null } {
  const batch = plan.build(it);
  try {
    const { loss: solver, penalty } = regularizedStep(solverT, reg, batch.solver, needLoss);
    const generator = genT === null ? {} : genT.step(batch.genX, batch.genWeights, genSeed, needLoss);
    return { solver, generator, penalty };
  } finally {
    disposeBatch(batch);
  }
}

// ------------------------------------------------------------------------------------ checkpoints

const RUN_KIND = 'dgr-run';
/** Checkpoint tensors of the regulariser's state (issue 12). */
const REG_PREFIX = 'regularizer/';

function sequenceMeta(sequence: TaskSequence): Json {
  return { name: sequence.name, scenario: sequence.scenario, numOutputs: sequence.numOutputs, inputShape: [...sequence.inputShape], tasks: sequence.tasks.map((t) => t.name) };
}

interface RunMeta {
  readonly kind: string;
  readonly config: Json;
  readonly sequence: Json;
  readonly completedTasks: number;
  readonly accuracy: Json;
  readonly curves: Json;
  readonly losses: Json;
  readonly taskSeconds: Json;
  readonly adamSteps: Json;
}

/** Flat copies of parameters and Adam moments (the caller disposes them). */
function paramTensors(prefix: string, p: ParamSet, opt: { m: ParamSet; v: ParamSet } | undefined): Record<string, Tensor> {
  const out: Record<string, Tensor> = { [`${prefix}/params`]: p.readFlat() };
  if (opt !== undefined) {
    out[`${prefix}/adam_m`] = opt.m.readFlat();
    out[`${prefix}/adam_v`] = opt.v.readFlat();
  }
  return out;
}

async function saveRun(dir: string, config: ExperimentConfig, sequence: TaskSequence, solverT: SolverTrainer, genT: GeneratorTrainer | null, reg: Regularizer | null, state: Omit<RunMeta, 'kind' | 'config' | 'sequence' | 'adamSteps'>): Promise<void> {
  const tensors: Record<string, Tensor> = { ...paramTensors('solver', solverT.solver.params, solverT.optimizer) };
  // issue 12: EWC's Fisher and anchors, SI's importance (saved after the task's consolidation).
  if (reg !== null) for (const [name, t] of Object.entries(reg.state())) tensors[`${REG_PREFIX}${name}`] = t;
  const adamSteps: Record<string, number> = { solver: solverT.optimizer.steps() };
  if (genT !== null) {
    for (const [name, p] of Object.entries(genT.generator.params)) {
      const opt = genT.optimizers[name];
      Object.assign(tensors, paramTensors(`generator/${name}`, p, opt));
      if (opt !== undefined) adamSteps[`generator/${name}`] = opt.steps();
    }
  }
  const meta: RunMeta = { kind: RUN_KIND, config: config as unknown as Json, sequence: sequenceMeta(sequence), adamSteps, ...state };
  try {
    await saveCheckpoint(dir, { meta: meta as unknown as Json, tensors });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

function restoreParams(tensors: Readonly<Record<string, Tensor>>, prefix: string, p: ParamSet, opt: { restore(m: Tensor, v: Tensor, steps: number): void } | undefined, steps: number, file: string): void {
  const w = tensors[`${prefix}/params`];
  if (w === undefined || w.size !== p.size) throw new CheckpointError(file, `${prefix}/params is missing or has ${w?.size ?? 0} values, the model has ${p.size}; the checkpoint belongs to another model`);
  p.assignFlat(w, `checkpoint ${prefix}/params`);
  if (opt !== undefined) {
    const m = tensors[`${prefix}/adam_m`];
    const v = tensors[`${prefix}/adam_v`];
    if (m === undefined || v === undefined) throw new CheckpointError(file, `${prefix} Adam moments are missing`);
    opt.restore(m, v, steps);
  }
}

// ------------------------------------------------------------------------------------ the loop

/**
 * After task k (issue 12): EWC's Fisher on the task's training data, under the logits the task
 * trained (task-IL: its classes; class-IL: the classes so far), or SI's consolidation of ω.
 */
function consolidate(reg: Regularizer, solver: Solver, sequence: TaskSequence, k: number, seed: number): void {
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
export async function trainSequence(sequence: TaskSequence, config: ExperimentConfig, options: TrainOptions = {}): Promise<TrainResult> {
  validateConfig(config, sequence);
  const T = sequence.tasks.length;
  const lastTask = options.stopAfterTask ?? T - 1;
  if (!Number.isInteger(lastTask) || lastTask < 0 || lastTask >= T) throw new RangeError(`trainSequence: stopAfterTask ${lastTask} is not a task index (0..${T - 1})`);
  const curveEvery = options.curveEvery ?? 0;
  if (!Number.isInteger(curveEvery) || curveEvery < 0) throw new RangeError(`trainSequence: curveEvery must be a non-negative integer, got ${curveEvery}`);
  const t0 = performance.now();

  const solver = buildSolver(config.solver, sequence.inputShape, sequence.numOutputs, deriveSeed(config.seed, 'solver'));
  const generator = config.generator === null ? null : buildGenerator(config.generator, sequence.inputShape, deriveSeed(config.seed, 'generator'));
  const scholar = createScholar(generator, solver);
  const solverT = createSolverTrainer(solver);
  const genT = generator === null ? null : createGeneratorTrainer(generator);
  const trainsGenerator = genT !== null;
  const reg = createRegularizer(config.regularizer, solver.params); // issue 12

  let R: AccuracyMatrix = [];
  let curves: CurvePoint[] = [];
  let losses: LossPoint[] = [];
  let taskSeconds: number[] = [];
  let start = 0;
  let prev: Scholar | null = null;
  let ok = false;
  try {
    if (options.checkpointDir !== undefined && checkpointExists(options.checkpointDir)) {
      const ck = await loadCheckpoint<Json>(options.checkpointDir, { expect: { meta: { kind: RUN_KIND, config: config as unknown as Json, sequence: sequenceMeta(sequence) } } });
      try {
        const meta = ck.meta as unknown as RunMeta;
        const steps = meta.adamSteps as Record<string, number>;
        const file = ck.readFrom;
        restoreParams(ck.tensors, 'solver', solver.params, solverT.optimizer, steps.solver ?? 0, file);
        if (genT !== null && generator !== null) {
          for (const [name, p] of Object.entries(generator.params)) restoreParams(ck.tensors, `generator/${name}`, p, genT.optimizers[name], steps[`generator/${name}`] ?? 0, file);
        }
        if (reg !== null) {
          const regTensors = Object.fromEntries(
            Object.entries(ck.tensors)
              .filter(([name]) => name.startsWith(REG_PREFIX))
              .map(([name, t]) => [name.slice(REG_PREFIX.length), t]),
          );
          try {
            reg.restore(regTensors, `checkpoint ${file}`);
          } catch (e) {
            throw new CheckpointError(file, (e as Error).message);
          }
        }
        start = meta.completedTasks;
        R = meta.accuracy as unknown as AccuracyMatrix;
        curves = [...(meta.curves as unknown as CurvePoint[])];
        losses = [...(meta.losses as unknown as LossPoint[])];
        taskSeconds = (meta.taskSeconds as (number | null)[]).map((v) => v ?? Number.NaN);
      } finally {
        tf.dispose(Object.values(ck.tensors));
      }
      if (start > 0) prev = snapshotScholar(scholar);
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
          const { solver: sLoss, generator: gLosses, penalty } = runIteration(plan, solverT, genT, it, deriveSeed(config.seed, 'generator-step', k, it), due, reg);
          globalIt++;
          if (progress !== null && due && sLoss !== null) {
            const read: Record<string, number> = { solver: ((await sLoss.data()) as Float32Array)[0] as number };
            if (penalty !== null && reg !== null) read[reg.config.kind] = ((await penalty.data()) as Float32Array)[0] as number;
            for (const [name, l] of Object.entries(gLosses)) read[name] = ((await l.data()) as Float32Array)[0] as number;
            losses.push({ task: k, iteration: it, losses: read });
            progress.report(it, read);
          }
          sLoss?.dispose();
          penalty?.dispose();
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
      if (reg !== null) consolidate(reg, solver, sequence, k, config.seed); // issue 12: Fisher / Ω
      prev?.dispose();
      prev = snapshotScholar(scholar);
      if (options.checkpointDir !== undefined) {
        await saveRun(options.checkpointDir, config, sequence, solverT, genT, reg, {
          completedTasks: k + 1,
          accuracy: R as unknown as Json,
          curves: curves as unknown as Json,
          losses: losses as unknown as Json,
          taskSeconds: taskSeconds.map((s) => (Number.isFinite(s) ? s : null)),
        });
      }
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
    reg?.dispose();
    if (!ok) scholar.dispose();
  }
}
