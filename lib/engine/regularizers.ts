/**
 * Parameter regularisation against forgetting, as options of the sequential trainer:
 * EWC (Kirkpatrick et al. 2017), online EWC (Schwarz et al. 2018) and SI (Zenke et al. 2017).
 * Configuration and the published hyperparameters: config.ts (`RegularizerConfig`,
 * `VAN_DE_VEN_2019`). LwF (Li & Hoiem 2017) is not here: it is distillation on the current
 * inputs and uses the replay batch's soft-target rows (`ExperimentConfig.lwf`).
 *
 * All three penalties are quadratic in the parameters, so one representation serves:
 *
 *   penalty(θ) = ½·Σ_i P_i·(θ_i − θ̄_i)² + ½·κ,      ∇penalty = P ⊙ (θ − θ̄)
 *
 * - EWC (one term per task, (λ/2)·Σ_k F_k·(θ − θ*_k)²): P = λ·Σ_k F_k, θ̄ the P-weighted mean of
 *   the anchors θ*_k, κ = Σ_k λ·F_k·(θ*_k − θ̄)² (a constant: the sum of quadratics, exactly);
 * - online EWC: P = λ·γ·F̃ with F̃ ← γ·F̃ + F_k, θ̄ = θ*_k, κ = 0;
 * - SI (c·Σ Ω·(θ − θ*)²): P = 2c·Ω, θ̄ = θ*, κ = 0.
 *
 * The gradient is added to the data gradient before Adam with three native ops per parameter
 * tensor (Sub, Mul, AddV2), no autodiff; the cost does not grow with the number of tasks.
 * SI's path integral ω = −Σ_t g_t ⊙ (θ_{t+1} − θ_t) is accumulated telescoped: at each step
 * ω += (g_t − g_{t−1}) ⊙ θ_t, and at the end of the task ω −= g_last ⊙ θ_end (the same sum,
 * regrouped). Three native ops per tensor and step (Sub, Mul, AssignAddVariableOp), no read of
 * θ after Adam's in-place update and no copy of θ; g is the data-loss gradient, as Zenke et al.
 * (van de Ven's code uses the gradient including the surrogate term).
 */
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor2D } from '@tensorflow/tfjs-node';
import type { EwcConfig, FisherLabels, RegularizerConfig, SiConfig } from './config';
import type { Solver, SolverBatch, SolverTrainer } from './solvers';
import { mlpActivations } from './solvers';
import type { ParamSet } from './nn';
import { createRng } from '../rng';
import {
  ResourceVariable,
  addN,
  argMaxOneHot,
  assignAddVariable,
  biasAddGrad,
  ew,
  gatherRows,
  matMul,
  reluGrad,
  resourceVariable,
  softmaxCrossEntropy,
  statelessUniform,
} from './native';

/** What the regulariser needs to know about a finished task (the trainer fills it in). */
export interface TaskEndData {
  /** Training inputs of the task [N, ...inputShape]. */
  readonly x: Tensor;
  /** One-hot true labels [N, numOutputs] (used by the empirical Fisher only). */
  readonly targets: Tensor2D;
  /** Additive logit mask [1, numOutputs] of the task's active outputs (null = all). */
  readonly mask: Tensor2D | null;
  /** Seed of the Fisher's example subset and sampled labels. */
  readonly seed: number;
}

/** A penalty on the solver's parameters with its state (see the module comment). */
export interface Regularizer {
  readonly config: RegularizerConfig;
  /** False until a task has finished (the penalty is zero before). */
  active(): boolean;
  /** The penalty at parameters `w` (one tensor per spec); 0 while inactive. A new scalar. */
  penalty(w: readonly Tensor[]): Scalar;
  /** grads + ∇penalty(w), new tensors (`grads` is not disposed); `grads` itself while inactive. */
  addGradients(w: readonly Tensor[], grads: readonly Tensor[]): readonly Tensor[];
  /** Whether {@link observeStep} must be called before each optimiser step (SI). */
  readonly tracksSteps: boolean;
  /**
   * SI, before the optimiser step with data gradient `g` at parameters `theta`:
   * ω += (g − g_previous) ⊙ θ; keeps a reference to `g` (not a copy) until the next step or the
   * end of the task, where ω −= g_last ⊙ θ_end closes the sum. `g` must not be changed in place
   * afterwards; release `theta` before the update (else TensorFlow copies it).
   */
  observeStep(g: readonly Tensor[], theta: readonly Tensor[]): void;
  /** After training on a task: EWC estimates the Fisher, SI consolidates ω into Ω. */
  endTask(solver: Solver, data: TaskEndData): void;
  /** The state to store in a checkpoint (flat copies; the caller disposes them). */
  state(): Record<string, Tensor>;
  /** Restores {@link state} (tensors are copied, not kept). */
  restore(tensors: Readonly<Record<string, Tensor>>, what: string): void;
  dispose(): void;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function flatten(ts: readonly Tensor[]): Tensor {
  return tf.tidy(() =>
    tf.concat(
      ts.map((t) => tf.reshape(t, [-1])),
      0,
    ),
  );
}

function unflatten(flat: Tensor, shapes: readonly (readonly number[])[], what: string): Tensor[] {
  const sizes = shapes.map(sizeOf);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (flat.rank !== 1 || flat.size !== total || flat.dtype !== 'float32') {
    throw new Error(
      `${what}: expected float32 [${total}], got ${flat.dtype} [${flat.shape.join(', ')}]`,
    );
  }
  return tf.tidy(() => tf.split(flat, sizes).map((p, i) => tf.reshape(p, shapes[i] as number[])));
}

/**
 * The quadratic ½·Σ P ⊙ (θ − θ̄)² + ½κ with its state; P, θ̄ per parameter tensor.
 * `shift` = −P ⊙ θ̄ (derived, not stored in checkpoints): the gradient P ⊙ (θ − θ̄) = P ⊙ θ + shift
 * then takes one multiplication and one n-ary addition with the data gradient per tensor instead of
 * three ops.
 */
interface Quadratic {
  precision: Tensor[];
  anchor: Tensor[];
  shift: Tensor[];
  constant: number;
}

function shiftOf(precision: readonly Tensor[], anchor: readonly Tensor[]): Tensor[] {
  return tf.tidy(() => precision.map((p, i) => tf.neg(tf.mul(p, anchor[i] as Tensor))));
}

function createQuadratic(params: ParamSet): Quadratic {
  return tf.tidy(() => {
    const anchor = params.read().map((t) => tf.keep(tf.clone(t)));
    const precision = params.specs.map((s) => tf.keep(tf.zeros(s.shape as number[])));
    const shift = shiftOf(precision, anchor).map((t) => tf.keep(t));
    return { precision, anchor, shift, constant: 0 };
  });
}

function replace(
  q: Quadratic,
  next: { precision: Tensor[]; anchor: Tensor[]; constant: number },
): void {
  tf.dispose([...q.precision, ...q.anchor, ...q.shift]);
  q.precision = next.precision;
  q.anchor = next.anchor;
  q.shift = shiftOf(next.precision, next.anchor);
  q.constant = next.constant;
}

/** The method-specific parts of a regulariser. */
interface Method extends Pick<Regularizer, 'tracksSteps' | 'observeStep' | 'endTask' | 'active'> {
  /** After a restore: whether a task had finished. */
  setActive(v: boolean): void;
  dispose(): void;
}

/** Shared parts of EWC and SI: penalty, gradient, checkpoint state. */
function quadraticRegularizer(
  config: RegularizerConfig,
  params: ParamSet,
  q: Quadratic,
  m: Method,
): Regularizer {
  const isActive = m.active;
  const shapes = params.specs.map((s) => s.shape);
  return {
    config,
    active: isActive,
    penalty(w: readonly Tensor[]): Scalar {
      if (!isActive()) return tf.scalar(0);
      return tf.tidy(() => {
        const terms = w.map((t, i) => {
          const d = ew('Sub', t, q.anchor[i] as Tensor);
          return tf.sum(ew('Mul', q.precision[i] as Tensor, ew('Mul', d, d)));
        });
        return tf.mul(tf.add(tf.addN(terms), q.constant), 0.5) as Scalar;
      });
    },
    addGradients(w: readonly Tensor[], grads: readonly Tensor[]): readonly Tensor[] {
      if (!isActive()) return grads;
      return grads.map((g, i) => {
        const pw = ew('Mul', q.precision[i] as Tensor, w[i] as Tensor);
        const out = addN([g, pw, q.shift[i] as Tensor]);
        pw.dispose();
        return out;
      });
    },
    tracksSteps: m.tracksSteps,
    observeStep: m.observeStep,
    endTask: m.endTask,
    state(): Record<string, Tensor> {
      return {
        precision: flatten(q.precision),
        anchor: flatten(q.anchor),
        constant: tf.tensor1d([q.constant, isActive() ? 1 : 0]),
      };
    },
    restore(tensors: Readonly<Record<string, Tensor>>, what: string): void {
      const p = tensors.precision;
      const a = tensors.anchor;
      const c = tensors.constant;
      if (p === undefined || a === undefined || c === undefined || c.size !== 2) {
        throw new Error(
          `${what}: the regulariser's state (precision, anchor, constant) is missing`,
        );
      }
      const cv = c.dataSync();
      replace(q, {
        precision: unflatten(p, shapes, `${what} precision`),
        anchor: unflatten(a, shapes, `${what} anchor`),
        constant: cv[0] as number,
      });
      m.setActive(cv[1] === 1);
    },
    dispose(): void {
      tf.dispose([...q.precision, ...q.anchor, ...q.shift]);
      m.dispose();
    },
  };
}

// ------------------------------------------------------------------------------------ Fisher

/** Row indices of the examples the Fisher is averaged over: all, or a seeded subset. */
function fisherRows(count: number, n: number | 'all', seed: number): Int32Array {
  if (n === 'all' || n >= count) return Int32Array.from({ length: count }, (_, i) => i);
  return Int32Array.from(createRng(seed).permutation(count).subarray(0, n)).sort();
}

/** One-hot labels [n, C] for the Fisher: true, argmax, or drawn from softmax(z) (Gumbel-max). */
function fisherLabels(kind: FisherLabels, z: Tensor2D, truth: Tensor2D, seed: number): Tensor2D {
  if (kind === 'empirical') return truth;
  if (kind === 'predicted') return argMaxOneHot(z);
  const u = tf.clipByValue(statelessUniform(z.shape, seed), 1e-12, 1 - 1e-7);
  const gumbel = tf.neg(tf.log(tf.neg(tf.log(u))));
  return argMaxOneHot(ew('AddV2', z, gumbel) as Tensor2D);
}

/**
 * The diagonal Fisher of `solver` on the task's examples: the mean over examples of the squared
 * per-example gradient of −log p(y|x) (one example at a time, as Kirkpatrick et al. and van de
 * Ven's code with batch size 1), y as `labels` says, logits under `data.mask`.
 * MLP: per-example squared gradients summed exactly in one pass per chunk, (h²)ᵀ·(δ²) for a
 * weight matrix and Σ δ² for a bias. Other solvers: per-example autodiff.
 */
export function diagonalFisher(
  solver: Solver,
  data: TaskEndData,
  labels: FisherLabels,
  examples: number | 'all',
  chunk = 256,
): Tensor[] {
  const count = data.x.shape[0];
  const rows = fisherRows(count, examples, data.seed);
  const n = rows.length;
  if (n === 0) throw new Error('diagonalFisher: the task has no training examples');
  const specs = solver.params.specs;
  let sums: Tensor[] = specs.map((s) => tf.zeros(s.shape as number[]));
  const mlp = solver.config.kind === 'mlp';
  for (let start = 0, c = 0; start < n; start += chunk, c++) {
    const next = tf.tidy(() => {
      const idx = tf.tensor1d(rows.subarray(start, Math.min(n, start + chunk)), 'int32');
      const x = gatherRows(data.x, idx);
      const truth = gatherRows(data.targets, idx) as Tensor2D;
      const w = solver.params.read();
      const seed = (data.seed + 7919 * (c + 1)) | 0;
      const add = mlp
        ? mlpSquaredGrads(w, x, truth, data.mask, labels, seed)
        : autodiffSquaredGrads(solver, w, x, truth, data.mask, labels, seed);
      return sums.map((s, i) => tf.add(s, add[i] as Tensor));
    });
    tf.dispose(sums);
    sums = next;
  }
  const out = sums.map((s) => tf.div(s, n));
  tf.dispose(sums);
  return out;
}

/** Σ over the rows of x of the squared per-example gradients, MLP layout [W1, b1, W2, b2, …]. */
function mlpSquaredGrads(
  w: readonly Tensor[],
  x0: Tensor,
  truth: Tensor2D,
  mask: Tensor2D | null,
  labels: FisherLabels,
  seed: number,
): Tensor[] {
  const nLayers = w.length / 2;
  const hs = mlpActivations(w, x0, (w[0] as Tensor).shape[0]);
  const h = hs[nLayers] as Tensor;
  const z = (mask === null ? h : ew('AddV2', h, mask)) as Tensor2D;
  const y = fisherLabels(labels, z, truth, seed);
  let dz: Tensor = softmaxCrossEntropy(z, y)[1];
  const out: Tensor[] = new Array<Tensor>(w.length);
  for (let l = nLayers - 1; l >= 0; l--) {
    const d2 = ew('Square', dz);
    out[2 * l] = matMul(ew('Square', hs[l] as Tensor), d2, true, false);
    out[2 * l + 1] = biasAddGrad(d2);
    if (l > 0) dz = reluGrad(matMul(dz, w[2 * l] as Tensor, false, true), hs[l] as Tensor);
  }
  return out;
}

/** The same by tf.js autodiff, one example at a time (any solver, e.g. the CNN). */
function autodiffSquaredGrads(
  solver: Solver,
  w: readonly Tensor[],
  x: Tensor,
  truth: Tensor2D,
  mask: Tensor2D | null,
  labels: FisherLabels,
  seed: number,
): Tensor[] {
  const logits = solver.forward(w, x);
  const z = mask === null ? logits : tf.add<Tensor2D>(logits, mask);
  const y = fisherLabels(labels, z, truth, seed);
  const m = x.shape[0];
  let acc: Tensor[] = w.map((t) => tf.zerosLike(t));
  for (let i = 0; i < m; i++) {
    const xi = tf.slice(x, i, 1);
    const yi = tf.slice(y, i, 1);
    const nll = (...v: Tensor[]): Scalar => {
      let zi: Tensor = solver.forward(v, xi);
      if (mask !== null) zi = tf.add(zi, mask);
      return tf.neg(tf.sum(tf.mul(yi, tf.logSoftmax(zi)))) as Scalar;
    };
    const g = tf.grads(nll)(w as Tensor[]);
    acc = acc.map((a, j) => tf.add(a, tf.square(g[j] as Tensor)));
  }
  return acc;
}

// ------------------------------------------------------------------------------------ EWC

function noSteps(): void {
  throw new Error('EWC does not track optimiser steps (tracksSteps is false)');
}

/** EWC or online EWC on `params` (the live solver's). */
export function createEwc(config: EwcConfig, params: ParamSet): Regularizer {
  const q = createQuadratic(params);
  let tasks = 0;
  const method: Method = {
    active: () => tasks > 0,
    tracksSteps: false,
    observeStep: noSteps,
    endTask(solver: Solver, data: TaskEndData): void {
      const fisher = diagonalFisher(solver, data, config.fisherLabels, config.fisherExamples);
      const next = tf.tidy(() => {
        const theta = solver.params.read();
        if (config.online) {
          // P ← γ·P + λ·γ·F (= λ·γ·F̃ with F̃ ← γ·F̃ + F); anchored at the latest θ*.
          const g = config.gamma;
          const precision = q.precision.map((p, i) =>
            tf.add(tf.mul(p, g), tf.mul(fisher[i] as Tensor, config.lambda * g)),
          );
          return { precision, anchor: theta.map((t) => tf.clone(t)), constant: tf.scalar(0) };
        }
        // Sum of quadratics: P' = P + λF, θ̄' = (P·θ̄ + λF·θ*)/P',
        // κ' = κ + P·(θ̄ − θ̄')² + λF·(θ* − θ̄')².
        const precision: Tensor[] = [];
        const anchor: Tensor[] = [];
        const kappa: Tensor[] = [];
        q.precision.forEach((p, i) => {
          const lf = tf.mul(fisher[i] as Tensor, config.lambda);
          const a = q.anchor[i] as Tensor;
          const t = theta[i] as Tensor;
          const p2 = tf.add(p, lf);
          const mean = tf.where(
            tf.greater(p2, 0),
            tf.div(tf.add(tf.mul(p, a), tf.mul(lf, t)), tf.maximum(p2, 1e-30)),
            t,
          );
          precision.push(p2);
          anchor.push(mean);
          kappa.push(
            tf.sum(
              tf.add(tf.mul(p, tf.square(tf.sub(a, mean))), tf.mul(lf, tf.square(tf.sub(t, mean)))),
            ),
          );
        });
        return { precision, anchor, constant: tf.add(tf.addN(kappa), q.constant) };
      });
      tf.dispose(fisher);
      const constant = next.constant.dataSync()[0] as number;
      next.constant.dispose();
      replace(q, { precision: next.precision, anchor: next.anchor, constant });
      tasks++;
    },
    setActive(v: boolean): void {
      tasks = v ? Math.max(tasks, 1) : 0;
    },
    dispose(): void {},
  };
  return quadraticRegularizer(config, params, q, method);
}

// ------------------------------------------------------------------------------------ SI

/** SI on `params` (the live solver's): θ* starts at the current (initial) parameters. */
export function createSi(config: SiConfig, params: ParamSet): Regularizer {
  const q = createQuadratic(params);
  // ω per parameter tensor in resource variables (updated in place every step), reset per task.
  const omega = params.specs.map((s) => {
    const z = tf.zeros(s.shape as number[]);
    const v = resourceVariable(z);
    z.dispose();
    return v;
  });
  // The previous step's data gradient (references, not copies), null at the start of a task.
  let previous: Tensor[] | null = null;
  const observeStep = (g: readonly Tensor[], theta: readonly Tensor[]): void => {
    omega.forEach((o, i) => {
      const gi = g[i] as Tensor;
      const d = previous === null ? gi : ew('Sub', gi, previous[i] as Tensor);
      const dt = ew('Mul', d, theta[i] as Tensor);
      if (d !== gi) d.dispose();
      assignAddVariable(o, dt);
      dt.dispose();
    });
    if (previous !== null) tf.dispose(previous);
    previous = g.map((t) => tf.clone(t)); // shares the buffer: no copy, no native op
  };
  /** ω −= g_last ⊙ θ_end: the last term of the telescoped sum, at the end of the task. */
  const closePath = (theta: readonly Tensor[]): void => {
    if (previous === null) return;
    const last = previous;
    omega.forEach((o, i) => {
      const gt = ew('Mul', last[i] as Tensor, theta[i] as Tensor);
      assignAddVariable(o, gt, true);
      gt.dispose();
    });
    tf.dispose(last);
    previous = null;
  };
  let tasks = 0;
  const method: Method = {
    active: () => tasks > 0,
    tracksSteps: true,
    observeStep,
    endTask(solver: Solver): void {
      const end = solver.params.read();
      try {
        closePath(end);
      } finally {
        tf.dispose(end);
      }
      // Ω ← Ω + ω/((θ_end − θ*)² + ξ); penalty c·Σ Ω (θ − θ*)² = ½·Σ (2c·Ω)(θ − θ*)².
      const next = tf.tidy(() => {
        const theta = solver.params.read();
        const precision = q.precision.map((p, i) => {
          const delta = tf.sub(theta[i] as Tensor, q.anchor[i] as Tensor);
          const w = (omega[i] as ResourceVariable).read();
          const imp = tf.div(w, tf.add(tf.square(delta), config.xi));
          return tf.add(p, tf.mul(imp, 2 * config.c));
        });
        return { precision, anchor: theta.map((t) => tf.clone(t)) };
      });
      replace(q, { ...next, constant: 0 });
      for (const o of omega) tf.tidy(() => o.assign(tf.zeros(o.shape as number[])));
      tasks++;
    },
    setActive(v: boolean): void {
      tasks = v ? Math.max(tasks, 1) : 0;
    },
    dispose(): void {
      if (previous !== null) tf.dispose(previous);
      previous = null;
      for (const o of omega) o.dispose();
    },
  };
  return quadraticRegularizer(config, params, q, method);
}

/** SI's accumulated importance Ω = P/(2c), flat (a new tensor; for tests and plots). */
export function siImportance(reg: Regularizer): Tensor[] {
  if (reg.config.kind !== 'si') throw new Error('siImportance: not an SI regulariser');
  const c = reg.config.c;
  const s = reg.state();
  try {
    return [tf.div(s.precision as Tensor, 2 * c)];
  } finally {
    tf.dispose(Object.values(s));
  }
}

/** The regulariser `config` describes, on the live solver's parameters (null: none). */
export function createRegularizer(
  config: RegularizerConfig | null | undefined,
  params: ParamSet,
): Regularizer | null {
  if (config === null || config === undefined) return null;
  return config.kind === 'ewc' ? createEwc(config, params) : createSi(config, params);
}

// ------------------------------------------------------------------------------------ the step

/**
 * One solver step with the regulariser's gradient added before Adam (and SI's path integral
 * updated before it). Without a regulariser: exactly `trainer.step`. Returns the data loss and,
 * if asked, the penalty (kept scalars; the caller disposes them).
 */
export function regularizedStep(
  trainer: SolverTrainer,
  reg: Regularizer | null,
  batch: SolverBatch,
  needLoss: boolean,
): { loss: Scalar | null; penalty: Scalar | null } {
  if (reg === null) return { loss: trainer.step(batch, needLoss), penalty: null };
  const { loss, grads } = trainer.gradients(batch, needLoss);
  const params = trainer.solver.params;
  let penalty: Scalar | null = null;
  let total: readonly Tensor[] = grads;
  try {
    // Reads share the parameters' buffers; all are released before the in-place update.
    const w = params.read();
    try {
      if (needLoss && reg.active()) penalty = reg.penalty(w);
      total = reg.addGradients(w, grads);
      if (reg.tracksSteps) reg.observeStep(grads, w);
    } finally {
      tf.dispose(w);
    }
    trainer.optimizer.apply(total);
  } finally {
    if (total !== grads) tf.dispose(total as Tensor[]);
    tf.dispose(grads);
  }
  return { loss, penalty };
}
