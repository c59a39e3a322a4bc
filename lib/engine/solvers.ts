/**
 * Solvers S of the scholar ⟨G, S⟩ (Shin et al. 2017, §3): an MLP (default
 * 2×400 hidden ReLU units for MNIST, van de Ven & Tolias 2019) and a small
 * CNN for 32×32×3 inputs (the SVHN domain, Shin et al. §4.2).
 *
 * A solver is a pure forward function over its parameter tensors (nn.ts).
 * Training is a {@link SolverTrainer}: for the MLP a hand-written backward
 * pass with TensorFlow's fused kernels (SoftmaxCrossEntropyWithLogits,
 * ReluGrad, BiasAddGrad), for the CNN tf.js autodiff; then TensorFlow's fused
 * in-place Adam. No Layers API, no reads from the device.
 */
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import type { Classifier } from './types';
import type { CnnSolverConfig, MlpSolverConfig, SolverConfig } from './config';
import {
  Adam,
  AdamConfig,
  ParamSet,
  ParamSpec,
  cloneParams,
  convSpecs,
  createAdam,
  createParams,
  dense,
  denseMacs,
  denseSpecs,
} from './nn';
import {
  biasAdd,
  biasAddGrad,
  concat,
  ew,
  matMul,
  reluGrad,
  softmaxCrossEntropy,
  split,
} from './native';

export interface Solver extends Classifier {
  readonly config: SolverConfig;
  /** Shape of one input, e.g. [784] or [32, 32, 3]. */
  readonly inputShape: readonly number[];
  readonly numOutputs: number;
  readonly params: ParamSet;
  /** Whether the parameters are trainable (false for frozen snapshots). */
  readonly trainable: boolean;
  /**
   * Logits [n, numOutputs] of x [n, ...inputShape] under parameter tensors `w` (tf.js ops:
   * differentiable).
   */
  forward(w: readonly Tensor[], x: Tensor): Tensor2D;
  /** Hand-written loss gradients (MLP only; null = use autodiff). */
  readonly backprop: BackpropFn | null;
  /** Multiply-accumulates of one forward pass per example (for GFLOP/s). */
  readonly macsPerExample: number;
  dispose(): void;
}

function inputSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Gradients of {@link solverLoss} w.r.t. the parameter tensors `w`, by hand.
 * `rowScale` [B, 1] = weights · invTemperature. Returns the loss only if asked.
 */
export type BackpropFn = (
  w: readonly Tensor[],
  batch: SolverBatch,
  rowScale: Tensor2D,
  needLoss: boolean,
) => { loss: Scalar | null; grads: Tensor[] };

interface SolverParts {
  readonly config: SolverConfig;
  readonly inputShape: readonly number[];
  readonly numOutputs: number;
  readonly forward: (w: readonly Tensor[], x: Tensor) => Tensor2D;
  /** Fast inference forward (native ops), defaults to `forward`. */
  readonly infer: (w: readonly Tensor[], x: Tensor) => Tensor2D;
  readonly backprop: BackpropFn | null;
  readonly macsPerExample: number;
}

function makeSolver(parts: SolverParts, params: ParamSet): Solver {
  // A frozen snapshot never changes: read its weights once, not per call.
  const frozenW = params.trainable ? null : tf.tidy(() => params.read());
  return Object.freeze({
    config: parts.config,
    inputShape: Object.freeze([...parts.inputShape]),
    numOutputs: parts.numOutputs,
    params,
    trainable: params.trainable,
    forward: parts.forward,
    backprop: parts.backprop,
    macsPerExample: parts.macsPerExample,
    parts,
    predict(x: Tensor): Tensor2D {
      return tf.tidy(() => parts.infer(frozenW ?? params.read(), x));
    },
    dispose(): void {
      if (frozenW !== null) tf.dispose(frozenW);
      params.dispose();
    },
  });
}

function checkArgs(inputShape: readonly number[], numOutputs: number, what: string): void {
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(
      `${what}: inputShape must be positive integers, got [${inputShape.join(', ')}]`,
    );
  }
  if (!Number.isInteger(numOutputs) || numOutputs < 1)
    throw new Error(`${what}: numOutputs must be a positive integer, got ${numOutputs}`);
}

/**
 * MLP solver: flatten → [Linear → ReLU] × hidden → Linear(numOutputs).
 * x [n, ...inputShape] → logits [n, numOutputs].
 */
export function buildMlpSolver(
  config: MlpSolverConfig,
  inputShape: readonly number[],
  numOutputs: number,
  seed: number,
): Solver {
  checkArgs(inputShape, numOutputs, 'buildMlpSolver');
  const sizes = [inputSize(inputShape), ...config.hidden, numOutputs];
  const specs: ParamSpec[] = [];
  for (let i = 1; i < sizes.length; i++)
    specs.push(...denseSpecs(`fc${i}`, sizes[i - 1] as number, sizes[i] as number, config.init));
  const parts: SolverParts = {
    config,
    inputShape,
    numOutputs,
    forward: mlpForward(sizes),
    infer: mlpInfer(sizes),
    backprop: mlpBackprop(sizes),
    macsPerExample: denseMacs(sizes),
  };
  return makeSolver(parts, createParams(specs, seed));
}

function mlpInfer(sizes: readonly number[]): (w: readonly Tensor[], x: Tensor) => Tensor2D {
  const nLayers = sizes.length - 1;
  const inSize = sizes[0] as number;
  return (w, x) => {
    let h: Tensor = x.rank === 2 ? x : tf.reshape(x, [-1, inSize]);
    for (let l = 0; l < nLayers; l++) {
      h = biasAdd(matMul(h, w[2 * l] as Tensor), w[2 * l + 1] as Tensor);
      if (l < nLayers - 1) h = ew('Relu', h);
    }
    return h as Tensor2D;
  };
}

/**
 * The MLP's forward pass keeping every layer's output, layout [W1, b1, W2, b2, …]: returns
 * [x (flattened to [B, inSize]), hidden activations after ReLU…, logits]. Call inside tf.tidy.
 */
export function mlpActivations(w: readonly Tensor[], x0: Tensor, inSize: number): Tensor[] {
  const nLayers = w.length / 2;
  const x = x0.rank === 2 ? x0 : tf.reshape(x0, [-1, inSize]);
  const hs: Tensor[] = [x];
  let h: Tensor = x;
  for (let l = 0; l < nLayers; l++) {
    h = biasAdd(matMul(h, w[2 * l] as Tensor), w[2 * l + 1] as Tensor);
    if (l < nLayers - 1) h = ew('Relu', h);
    hs.push(h);
  }
  return hs;
}

/**
 * The MLP's backward pass by hand: ∂loss/∂logits = rowScale·(softmax − targets), then
 * ReluGrad/BiasAddGrad/MatMul per layer.
 */
function mlpBackprop(sizes: readonly number[]): BackpropFn {
  const nLayers = sizes.length - 1;
  const inSize = sizes[0] as number;
  return (w, batch, rowScale, needLoss) => {
    const hs = mlpActivations(w, batch.x, inSize);
    const x = hs[0] as Tensor;
    const h = hs[nLayers] as Tensor;
    const n = batch.repeatFirst ?? 0;
    const u = x.shape[0];
    let z = n > 0 ? (concat([h, tf.slice(h, 0, n)], 0) as Tensor2D) : (h as Tensor2D);
    if (batch.mask !== null) z = ew('AddV2', z, batch.mask) as Tensor2D;
    if (batch.invTemperature !== null) z = ew('Mul', z, batch.invTemperature) as Tensor2D;
    const [rowLoss, backprop] = softmaxCrossEntropy(z, batch.targets);
    const loss = needLoss ? (tf.sum(tf.mul(rowLoss, batch.weights)) as Scalar) : null;
    const grads: Tensor[] = new Array<Tensor>(2 * nLayers);
    let dz: Tensor = ew('Mul', backprop, rowScale);
    if (n > 0) {
      // Rows u..u+n−1 reused the logits of rows 0..n−1: their gradients add up there.
      if (n === u) {
        const [head, extra] = split(dz, [n, n], 0) as [Tensor, Tensor];
        dz = ew('AddV2', head, extra);
      } else {
        const [head, rest, extra] = split(dz, [n, u - n, n], 0) as [Tensor, Tensor, Tensor];
        dz = concat([ew('AddV2', head, extra), rest], 0);
      }
    }
    for (let l = nLayers - 1; l >= 0; l--) {
      grads[2 * l] = matMul(hs[l] as Tensor, dz, true, false);
      grads[2 * l + 1] = biasAddGrad(dz);
      if (l > 0) dz = reluGrad(matMul(dz, w[2 * l] as Tensor, false, true), hs[l] as Tensor);
    }
    return { loss, grads };
  };
}

function mlpForward(sizes: readonly number[]): (w: readonly Tensor[], x: Tensor) => Tensor2D {
  const nLayers = sizes.length - 1;
  const inSize = sizes[0] as number;
  return (w, x) => {
    let h: Tensor = x.rank === 2 ? x : tf.reshape(x, [-1, inSize]);
    for (let l = 0; l < nLayers; l++)
      h = dense(
        h,
        w[2 * l] as Tensor,
        w[2 * l + 1] as Tensor,
        l === nLayers - 1 ? 'linear' : 'relu',
      );
    return h as Tensor2D;
  };
}

/**
 * CNN solver for images [H, W, C]: [Conv3×3 (same) → ReLU → MaxPool 2×2] per
 * entry of `channels`, flatten, Linear(hidden) → ReLU → Linear(numOutputs).
 */
export function buildCnnSolver(
  config: CnnSolverConfig,
  inputShape: readonly number[],
  numOutputs: number,
  seed: number,
): Solver {
  checkArgs(inputShape, numOutputs, 'buildCnnSolver');
  const [h0, w0, c0] = inputShape as [number, number, number];
  const down = 2 ** config.channels.length;
  if (inputShape.length !== 3 || h0 % down !== 0 || w0 % down !== 0) {
    throw new Error(
      `buildCnnSolver: needs image inputs [H, W, C] with H and W divisible by ${down}, ` +
        `got [${inputShape.join(', ')}]`,
    );
  }
  const specs: ParamSpec[] = [];
  let c = c0;
  let macs = 0;
  let hh = h0;
  let ww = w0;
  config.channels.forEach((out, i) => {
    specs.push(...convSpecs(`conv${i + 1}`, 3, c, out, config.init));
    macs += hh * ww * 9 * c * out;
    c = out;
    hh /= 2;
    ww /= 2;
  });
  const flat = hh * ww * c;
  specs.push(
    ...denseSpecs('fc1', flat, config.hidden, config.init),
    ...denseSpecs('fc2', config.hidden, numOutputs, config.init),
  );
  macs += denseMacs([flat, config.hidden, numOutputs]);
  const nConv = config.channels.length;
  const forward = (w: readonly Tensor[], x: Tensor): Tensor2D => {
    let h = (x.rank === 4 ? x : tf.reshape(x, [-1, h0, w0, c0])) as Tensor4D;
    for (let i = 0; i < nConv; i++) {
      h = tf.relu(
        tf.add(tf.conv2d(h, w[2 * i] as Tensor4D, 1, 'same'), w[2 * i + 1] as Tensor),
      ) as Tensor4D;
      h = tf.maxPool(h, 2, 2, 'valid');
    }
    const f = tf.reshape(h, [-1, flat]);
    const z = dense(f, w[2 * nConv] as Tensor, w[2 * nConv + 1] as Tensor, 'relu');
    return dense(z, w[2 * nConv + 2] as Tensor, w[2 * nConv + 3] as Tensor, 'linear') as Tensor2D;
  };
  return makeSolver(
    {
      config,
      inputShape,
      numOutputs,
      forward,
      infer: forward,
      backprop: null,
      macsPerExample: macs,
    },
    createParams(specs, seed),
  );
}

/** Builds the solver `config` describes. */
export function buildSolver(
  config: SolverConfig,
  inputShape: readonly number[],
  numOutputs: number,
  seed: number,
): Solver {
  switch (config.kind) {
    case 'mlp':
      return buildMlpSolver(config, inputShape, numOutputs, seed);
    case 'cnn':
      return buildCnnSolver(config, inputShape, numOutputs, seed);
    default:
      throw new Error(
        `buildSolver: unknown solver kind ${JSON.stringify((config as { kind: unknown }).kind)}; ` +
          `use 'mlp' or 'cnn'`,
      );
  }
}

/**
 * A frozen copy of `s`: its own (non-trainable) variable holding the same weights; training `s`
 * cannot change it.
 */
export function snapshotSolver(s: Solver): Solver {
  return makeSolver((s as Solver & { parts: SolverParts }).parts, cloneParams(s.params, false));
}

/**
 * One training batch for the solver, already mixed (real rows then replayed rows).
 * loss = −Σ_i w_i Σ_c t_ic · log softmax(τ_i · (z_ic + m_ic))_c
 */
export interface SolverBatch {
  /** Inputs [B, ...inputShape]. */
  readonly x: Tensor;
  /** Target distributions [B, numOutputs] (one-hot for hard labels). */
  readonly targets: Tensor2D;
  /**
   * Row weights [B]: r/B_real for real rows, (1−r)/B_replay (× T² when distilling) for replayed
   * rows.
   */
  readonly weights: Tensor1D;
  /**
   * Additive logit mask [B or 1, numOutputs]: 0 for active output units, −1e9 for inactive ones;
   * null = all active.
   */
  readonly mask: Tensor2D | null;
  /** Inverse temperatures [B, 1] (1 for hard-label rows); null = all 1. */
  readonly invTemperature: Tensor2D | null;
  /**
   * n > 0: the last n rows of targets/weights/mask/invTemperature reuse the inputs of the first
   * n rows of x, which then holds only B − n rows (LwF: the current inputs again, distilled).
   * The network runs once on x; the logits of rows 0..n−1 serve twice. Absent = 0.
   */
  readonly repeatFirst?: number;
}

/** Logits of all B rows from the logits of x's rows: z, then z[0:n] again (see repeatFirst). */
export function withRepeatedRows(z: Tensor2D, n: number): Tensor2D {
  return n > 0 ? (tf.concat([z, tf.slice(z, 0, n)], 0) as Tensor2D) : z;
}

/** The weighted (masked, tempered) cross-entropy of {@link SolverBatch}, as a scalar. */
export function solverLoss(solver: Solver, w: readonly Tensor[], batch: SolverBatch): Scalar {
  let z: Tensor = withRepeatedRows(solver.forward(w, batch.x), batch.repeatFirst ?? 0);
  if (batch.mask !== null) z = tf.add(z, batch.mask);
  if (batch.invTemperature !== null) z = tf.mul(z, batch.invTemperature);
  const logp = tf.logSoftmax(z);
  const perRow = tf.sum(tf.mul(batch.targets, logp), 1);
  return tf.neg(tf.sum(tf.mul(perRow, batch.weights))) as Scalar;
}

/** Updates a solver's parameters with Adam. */
export interface SolverTrainer {
  readonly solver: Solver;
  readonly optimizer: Adam;
  /**
   * One Adam step on `batch`. Returns the loss (a kept scalar: dispose it) or,
   * with `needLoss` false, null (saves a few ops on iterations nobody reads).
   */
  step(batch: SolverBatch, needLoss?: boolean): Scalar | null;
  /**
   * The gradients step() would apply (one per parameter tensor) and the loss; nothing is updated.
   */
  gradients(batch: SolverBatch): { loss: Scalar; grads: Tensor[] };
  /** The same; the loss only if `needLoss` (regularised steps, regularizers.ts). */
  gradients(batch: SolverBatch, needLoss: boolean): { loss: Scalar | null; grads: Tensor[] };
  dispose(): void;
}

export function createSolverTrainer(
  solver: Solver,
  optimizer: AdamConfig = solver.config.optimizer,
): SolverTrainer {
  if (!solver.trainable)
    throw new Error(
      'createSolverTrainer: this solver is a frozen snapshot; train the live solver instead',
    );
  const opt = createAdam(solver.params, optimizer);
  // rowScale = weights · invTemperature as [B, 1]; constant while the batch's weights are (per
  // task), so cached.
  let cacheKey: [Tensor, Tensor | null] | null = null;
  let rowScale: Tensor2D | null = null;
  const scaleOf = (batch: SolverBatch): Tensor2D => {
    if (
      cacheKey === null ||
      cacheKey[0] !== batch.weights ||
      cacheKey[1] !== batch.invTemperature ||
      rowScale === null ||
      rowScale.isDisposed
    ) {
      rowScale?.dispose();
      rowScale = tf.tidy(() => {
        const w = tf.reshape(batch.weights, [-1, 1]) as Tensor2D;
        return batch.invTemperature === null ? w : (tf.mul(w, batch.invTemperature) as Tensor2D);
      });
      cacheKey = [batch.weights, batch.invTemperature];
    }
    return rowScale;
  };
  const compute = (
    batch: SolverBatch,
    needLoss: boolean,
  ): { loss: Scalar | null; grads: Tensor[] } => {
    const repeated = batch.repeatFirst ?? 0;
    const rowsOfX = batch.x.shape[0] + repeated;
    const targetRows = batch.targets.shape[0];
    if (
      rowsOfX !== targetRows ||
      batch.weights.shape[0] !== rowsOfX ||
      repeated > batch.x.shape[0]
    ) {
      throw new Error(
        `SolverTrainer: batch of ${batch.x.shape[0]} inputs (+ ${repeated} repeated), ` +
          `${batch.targets.shape[0]} targets and ${batch.weights.shape[0]} weights`,
      );
    }
    const bp = solver.backprop;
    if (bp !== null) {
      const scale = scaleOf(batch);
      const out = tf.tidy(() => {
        const r = bp(solver.params.read(), batch, scale, needLoss);
        return r.loss === null ? r.grads : [r.loss, ...r.grads];
      });
      return needLoss
        ? { loss: out[0] as Scalar, grads: out.slice(1) }
        : { loss: null, grads: out };
    }
    return tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((...w: Tensor[]) => solverLoss(solver, w, batch))(
        solver.params.read(),
      );
      return { loss: value, grads };
    });
  };
  return {
    solver,
    optimizer: opt,
    step(batch: SolverBatch, needLoss = true): Scalar | null {
      const { loss, grads } = compute(batch, needLoss);
      opt.apply(grads);
      tf.dispose(grads);
      return loss;
    },
    gradients(batch: SolverBatch, needLoss: boolean = true): { loss: Scalar; grads: Tensor[] } {
      return compute(batch, needLoss) as { loss: Scalar; grads: Tensor[] };
    },
    dispose(): void {
      opt.dispose();
      rowScale?.dispose();
    },
  };
}
