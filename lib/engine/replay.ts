/**
 * Replay (Shin et al. 2017, §3.1–3.2): what the new scholar ⟨G_i, S_i⟩ trains on while the
 * previous one ⟨G_{i−1}, S_{i−1}⟩ is frozen. One iteration on task i:
 *
 *   (x, y) ~ D_i                         a batch of the current task's data
 *   x′ ~ G_{i−1},  y′ = S_{i−1}(x′)      replayed inputs, labelled by the previous solver
 *   S_i: one step on L_train(θ_i) = r·L(S(x; θ_i), y) + (1 − r)·L(S(x′; θ_i), y′)   (§3.1)
 *   G_i: one step on the mixed inputs [x ; x′] (weights r and 1 − r)
 *
 * At i = 1 there is no previous scholar: no x′, r = 1. Replay modes: `generative` (DGR, x′ ~ G),
 * `noise` (x′ uniform noise labelled by S_{i−1}: the paper's control), `exact` (x′ stored past
 * data with true labels: the upper bound) and `none`. r is a number or 1/i ('inverse-task').
 *
 * Speed: a task's constants (row weights, masks, the previous solver's frozen weights) are made
 * once in {@link planTask}; an iteration is then one fused solver step and one generator step
 * over the mixed batch, with nothing read from the device.
 */
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';
import type { Classifier, TaskSequence } from './types';
import type { ExperimentConfig } from './config';
import { createBatchSampler, deriveSeed } from '../rng';
import { argMaxOneHot, concat, gatherRows, statelessUniform } from './native';
import type { SolverBatch, SolverTrainer } from './solvers';
import type { GeneratorTrainer } from './generators';
import type { Scholar } from './scholar';
import { batchMasks, replayRowTask, withMask } from './masks';
import { type Regularizer, regularizedStep } from './regularizers';

/**
 * r for the task with 0-based index k: the number in the config, or 1/(k + 1) for 'inverse-task'.
 */
export function replayRatio(config: ExperimentConfig, k: number): number {
  const r = config.replay.ratio;
  return r === 'inverse-task' ? 1 / (k + 1) : r;
}

/**
 * The solver's training loss of Shin et al. (2017, §3.1),
 *
 *   L_train(θ_i) = r · E_{(x,y)~D_i}[ L(S(x; θ_i), y) ]
 *                  + (1 − r) · E_{x′~G_{i−1}}[ L(S(x′; θ_i), S(x′; θ_{i−1})) ],
 *
 * as the weights of one cross-entropy summed over the rows of the mixed batch [x ; x′]: each of the
 * B real rows weighs r/B, each of the B′ replayed rows (1 − r)/B′ (the two means of the equation).
 * With soft targets at temperature T (distillation, Hinton et al. 2015) the replayed rows also
 * weigh T², which keeps their gradients at the scale of hard targets. At i = 1 pass r = 1 and
 * B′ = 0 (no second term).
 */
export function mixedLossWeights(
  r: number,
  realRows: number,
  replayRows: number,
  distillTemperature: number | null,
): Float32Array {
  const w = new Float32Array(realRows + replayRows);
  w.fill(r / realRows, 0, realRows);
  if (replayRows > 0) {
    const T = distillTemperature;
    w.fill(((1 - r) / replayRows) * (T !== null ? T * T : 1), realRows);
  }
  return w;
}

/**
 * The previous solver's logits for replayed inputs x′, with inactive outputs masked out
 * (`mask` from masks.ts; null = all outputs). The first half of {@link labelWithSolver}.
 */
export function maskedLogits(solver: Classifier, x: Tensor, mask: Tensor2D | null): Tensor2D {
  return withMask(solver.predict(x), mask);
}

/**
 * y′ = S_{i−1}(x′): targets for replayed inputs from the previous solver — the one-hot of its
 * argmax (hard labels, `temperature` null), or softmax(z / T) (soft targets for distillation).
 */
export function labelWithSolver(
  solver: Classifier,
  x: Tensor,
  mask: Tensor2D | null,
  temperature: number | null,
): Tensor2D {
  return targetsFromLogits(maskedLogits(solver, x, mask), temperature);
}

/** The targets of {@link labelWithSolver} from already masked logits z. */
export function targetsFromLogits(z: Tensor2D, temperature: number | null): Tensor2D {
  return temperature === null ? argMaxOneHot(z) : (tf.softmax(tf.div(z, temperature)) as Tensor2D);
}

/** What one iteration trains on: the solver's mixed batch, and the generator's inputs. */
export interface IterationBatch {
  readonly solver: SolverBatch;
  /** Generator inputs: [x ; x′] with generative replay, else x. */
  readonly genX: Tensor;
  /** Generator row weights (r/B and (1 − r)/B′; null = uniform). */
  readonly genWeights: Tensor1D | null;
}

/** A task's constants and its batch builder. */
export interface TaskPlan {
  /**
   * The mixed batch of iteration `iteration` (1-based); the caller frees it with
   * {@link disposeBatch}.
   */
  build(iteration: number): IterationBatch;
  /** Frees the task's constants. */
  dispose(): void;
}

/** Draws B′ replayed rows (x′, y′) for an iteration. */
type ReplaySource = (iteration: number) => { x: Tensor; targets: Tensor2D };

/**
 * Exact replay: rows of the stored training data of tasks 0..k−1 with their true labels, drawn
 * uniformly from all of it — except in task-IL, where replayed row i must come from the task whose
 * head it trains (chunk j of the batch from previous task j, as in the masks).
 */
function exactReplay(
  config: ExperimentConfig,
  sequence: TaskSequence,
  k: number,
  hold: <X extends Tensor>(t: X) => X,
): ReplaySource {
  const Br = config.replay.batchSize;
  const C = sequence.numOutputs;
  const previous = sequence.tasks.slice(0, k);
  const pastX = hold(
    tf.concat(
      previous.map((t) => t.train.x),
      0,
    ),
  );
  const pastTargets = hold(
    tf.tidy(() =>
      tf
        .oneHot(
          tf.cast(
            tf.concat(
              previous.map((t) => t.train.y),
              0,
            ) as Tensor1D,
            'int32',
          ),
          C,
        )
        .toFloat(),
    ) as Tensor2D,
  );
  let next: () => Int32Array;
  if (sequence.scenario === 'task') {
    const offsets: number[] = [];
    let offset = 0;
    for (const t of previous) {
      offsets.push(offset);
      offset += t.train.count;
    }
    const samplers = previous.map((t, j) => {
      let n = 0;
      for (let i = 0; i < Br; i++) if (replayRowTask(i, k, Br) === j) n++;
      return {
        sampler:
          n > 0
            ? createBatchSampler(t.train.count, n, deriveSeed(config.seed, 'exact-batches', k, j))
            : null,
        offset: offsets[j] ?? 0,
      };
    });
    next = () => {
      const out = new Int32Array(Br);
      let pos = 0;
      for (const { sampler, offset: off } of samplers) {
        if (sampler === null) continue;
        for (const v of sampler.next()) out[pos++] = v + off;
      }
      return out;
    };
  } else {
    const sampler = createBatchSampler(
      pastX.shape[0] ?? 0,
      Br,
      deriveSeed(config.seed, 'exact-batches', k),
    );
    next = () => sampler.next();
  }
  return () => {
    const idx = tf.tensor1d(next(), 'int32');
    return { x: gatherRows(pastX, idx), targets: gatherRows(pastTargets, idx) as Tensor2D };
  };
}

/**
 * Plans task k (0-based) given the frozen previous scholar (null on the first task): the task's
 * constants (row weights of {@link mixedLossWeights}, logit masks, soft-target temperatures) and
 * the builder of each iteration's mixed batch [x ; x′]. `trainsGenerator`: whether a generator
 * trains on the batch (its row weights are made only then). Used by trainSequence and the
 * benchmark.
 */
export function planTask(
  config: ExperimentConfig,
  sequence: TaskSequence,
  k: number,
  prev: Scholar | null,
  trainsGenerator: boolean,
): TaskPlan {
  const task = sequence.tasks[k];
  if (task === undefined) {
    throw new RangeError(
      `planTask: task ${k} is not in the sequence (0..${sequence.tasks.length - 1})`,
    );
  }
  const mode = prev === null ? 'none' : config.replay.mode;
  const B = config.batchSize;
  const Br = mode === 'none' ? 0 : config.replay.batchSize;
  // LwF (issue 12; docs/regularization.md): B more rows after the replayed ones, the current
  // inputs again labelled by S_{i−1} at the LwF temperature; they reuse x's rows (repeatFirst).
  const lwf = prev === null ? null : (config.lwf ?? null);
  const Bl = lwf === null ? 0 : B;
  const r = mode === 'none' && Bl === 0 ? 1 : replayRatio(config, k);
  const soft = config.replay.targets === 'soft' && (mode === 'generative' || mode === 'noise');
  const temperature = config.replay.temperature;
  const keep: Tensor[] = [];
  const hold = <X extends Tensor | null>(t: X): X => {
    if (t !== null) keep.push(t);
    return t;
  };

  // The current task's data: one-hot targets, gathered per batch on the native side.
  const trainTargets = hold(
    tf.tidy(() =>
      tf.oneHot(tf.cast(task.train.y, 'int32'), sequence.numOutputs).toFloat(),
    ) as Tensor2D,
  );
  const sampler = createBatchSampler(task.train.count, B, deriveSeed(config.seed, 'batches', k));

  // The loss of §3.1 as row weights; the generator's rows weigh r and 1 − r without the T².
  const w = mixedLossWeights(r, B, Br, soft ? temperature : null);
  const weights = hold(
    tf.tensor1d(Bl > 0 ? withLwfWeights(w, r, B, Bl, lwf?.temperature ?? 1) : w),
  );
  const genWeights =
    Br > 0 && mode === 'generative' && trainsGenerator
      ? hold(tf.tensor1d(mixedLossWeights(r, B, Br, null)))
      : null;
  // Soft targets: the new solver's replayed logits are divided by T too (1 for real rows).
  let invTemperature: Tensor2D | null = null;
  if ((soft && Br > 0) || Bl > 0) {
    const inv = new Float32Array(B + Br + Bl).fill(1);
    if (soft) inv.fill(1 / temperature, B, B + Br);
    inv.fill(1 / (lwf?.temperature ?? 1), B + Br);
    invTemperature = hold(tf.tensor2d(inv, [B + Br + Bl, 1]));
  }
  const masks = batchMasks(sequence, k, B, Br);
  hold(masks.batch);
  hold(masks.labeller);
  // LwF rows: the new solver's and the labeller's masks of B rows replayed from task i − 1's view
  // (task-IL: row j trains the head of previous task replayRowTask(j, k, B), like replayed rows).
  const lwfMasks = Bl > 0 ? batchMasks(sequence, k, B, Bl) : null;
  let batchMask = masks.batch;
  if (lwfMasks !== null) {
    hold(lwfMasks.batch);
    hold(lwfMasks.labeller);
    if (sequence.scenario === 'task' && masks.batch !== null && lwfMasks.batch !== null) {
      const lwfRowsMask = lwfMasks.batch;
      batchMask = hold(tf.tidy(() => tf.concat([masks.batch!, tf.slice(lwfRowsMask, B, Bl)], 0)));
    }
  }

  // Where x′ comes from, and y′ = S_{i−1}(x′) for generated and noise inputs.
  let replay: ReplaySource | null = null;
  if (prev !== null && mode !== 'none') {
    const label = (x: Tensor): Tensor2D =>
      labelWithSolver(prev.solver, x, masks.labeller, soft ? temperature : null);
    const G = prev.generator;
    if (mode === 'generative') {
      if (G === null) {
        throw new Error('planTask: generative replay needs a previous scholar with a generator');
      }
      replay = (it) => {
        const x = G.sample(Br, deriveSeed(config.seed, 'replay', k, it));
        return { x, targets: label(x) };
      };
    } else if (mode === 'noise') {
      replay = (it) => {
        const x = statelessUniform(
          [Br, ...sequence.inputShape],
          deriveSeed(config.seed, 'replay', k, it),
        );
        return { x, targets: label(x) };
      };
    } else {
      replay = exactReplay(config, sequence, k, hold);
    }
  }
  const lwfTargets = (x: Tensor): Tensor2D[] =>
    prev === null || lwf === null
      ? []
      : [labelWithSolver(prev.solver, x, lwfMasks?.labeller ?? null, lwf.temperature)];

  return {
    build(it: number): IterationBatch {
      const t = tf.tidy(() => {
        const idx = tf.tensor1d(sampler.next(), 'int32');
        const x = gatherRows(task.train.x, idx); // (x, y) ~ D_i
        const y = gatherRows(trainTargets, idx) as Tensor2D;
        if (replay === null) {
          if (Bl === 0) return { x, targets: y, genX: x };
          return { x, targets: concat([y, ...lwfTargets(x)], 0) as Tensor2D, genX: x };
        }
        const rep = replay(it); // x′ and y′
        const mixed = concat([x, rep.x], 0); // [x ; x′]
        return {
          x: mixed,
          targets: concat([y, rep.targets, ...lwfTargets(x)], 0) as Tensor2D,
          genX: mode === 'generative' ? mixed : x,
        };
      });
      return {
        solver: {
          x: t.x,
          targets: t.targets,
          weights,
          mask: batchMask,
          invTemperature,
          repeatFirst: Bl,
        },
        genX: t.genX,
        genWeights: mode === 'generative' ? genWeights : null,
      };
    },
    dispose(): void {
      tf.dispose(keep);
    },
  };
}

/**
 * The row weights with B_l LwF rows appended (issue 12): each weighs (1 − r)/B_l · T_lwf²; when
 * the batch also has replayed rows, the two old-knowledge terms share (1 − r) equally.
 */
export function withLwfWeights(
  w: Float32Array,
  r: number,
  realRows: number,
  lwfRows: number,
  lwfTemperature: number,
): Float32Array {
  const replayRows = w.length - realRows;
  const share = replayRows > 0 ? 0.5 : 1;
  const out = new Float32Array(w.length + lwfRows);
  out.set(w);
  for (let i = realRows; i < w.length; i++) out[i] = (w[i] ?? 0) * share;
  out.fill(((share * (1 - r)) / lwfRows) * lwfTemperature * lwfTemperature, w.length);
  return out;
}

/** Frees the per-iteration tensors of a batch (not the task's constants). */
export function disposeBatch(b: IterationBatch): void {
  tf.dispose([...new Set<Tensor>([b.solver.x, b.solver.targets, b.genX])]);
}

/** The loss scalars of one iteration (kept: the caller disposes them); none when not asked for. */
export interface IterationLosses {
  readonly solver: Scalar | null;
  readonly generator: Readonly<Record<string, Scalar>>;
  /** The regulariser's penalty by its kind ('ewc', 'si'), once it is active (issue 12). */
  readonly penalty?: Readonly<Record<string, Scalar>>;
}

/**
 * One iteration of task i: build the mixed batch (x ~ D_i, x′ ~ G_{i−1}, y′ = S_{i−1}(x′)), one
 * solver step on L_train(θ_i) of §3.1, one generator step on the mixed inputs. `needLoss` false
 * skips the loss ops on iterations nobody reads.
 */
export function runIteration(
  plan: TaskPlan,
  solverT: SolverTrainer | null,
  genT: GeneratorTrainer | null,
  it: number,
  genSeed: number,
  needLoss = true,
  regularizer: Regularizer | null = null,
): IterationLosses {
  const batch = plan.build(it);
  try {
    // With EWC/SI the penalty's gradient joins the solver's before Adam (regularizers.ts).
    // solverT null: the solver's budget for the task is spent (`solverIterations`).
    const { loss: solver, penalty } =
      solverT === null
        ? { loss: null, penalty: null }
        : regularizedStep(solverT, regularizer, batch.solver, needLoss);
    const generator =
      genT === null ? {} : genT.step(batch.genX, batch.genWeights, genSeed, needLoss);
    if (penalty === null || regularizer === null) return { solver, generator };
    return { solver, generator, penalty: { [regularizer.config.kind]: penalty } };
  } finally {
    disposeBatch(batch);
  }
}

/** Frees an iteration's loss scalars. */
export function disposeLosses(losses: IterationLosses): void {
  losses.solver?.dispose();
  tf.dispose(Object.values(losses.generator));
  tf.dispose(Object.values(losses.penalty ?? {}));
}

/** Reads and frees an iteration's losses: { solver, ...generator losses } as numbers. */
export async function readLosses(losses: IterationLosses): Promise<Record<string, number>> {
  try {
    const read: Record<string, number> = {};
    if (losses.solver !== null) read.solver = (await losses.solver.data())[0] ?? Number.NaN;
    for (const [name, l] of Object.entries(losses.generator))
      read[name] = (await l.data())[0] ?? Number.NaN;
    for (const [name, l] of Object.entries(losses.penalty ?? {}))
      read[name] = (await l.data())[0] ?? Number.NaN;
    return read;
  } finally {
    disposeLosses(losses);
  }
}
