/**
 * Building blocks shared by the solvers and generators: parameters in
 * TensorFlow resource variables, seeded initialisation, and Adam as
 * TensorFlow's fused in-place kernel (one op per parameter tensor instead of
 * twelve tf.js ops and twelve fresh buffers; measurements in native.ts).
 */
import { tf } from '../tf';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';
import { createRng } from '../rng';
import { ResourceVariable, resourceApplyAdam, resourceVariable } from './native';

/** How a parameter is initialised. */
export type InitKind =
  /**
   * PyTorch's default for Linear/Conv: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (van de Ven's code keeps
   * it).
   */
  | 'torch'
  /** Glorot/Xavier uniform: U(-sqrt(6/(fanIn+fanOut)), +). */
  | 'glorot'
  /** Zeros. */
  | 'zeros';

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: InitKind;
  /** Fan-in used by the initialiser (inputs feeding one output unit). */
  readonly fanIn: number;
  /** Fan-out used by the Glorot initialiser. */
  readonly fanOut: number;
}

/**
 * A network's parameters: one TensorFlow resource variable per spec (see
 * native.ts), updated in place by the fused Adam kernel.
 */
export interface ParamSet {
  readonly specs: readonly ParamSpec[];
  /** Number of scalars per spec, in order. */
  readonly sizes: readonly number[];
  /** Total number of scalars. */
  readonly size: number;
  /** False for frozen snapshots. */
  readonly trainable: boolean;
  readonly variables: readonly ResourceVariable[];
  /** Current values, one tensor per spec (new tensors: read inside tf.tidy or dispose them). */
  read(): Tensor[];
  /** All values flattened and concatenated [size] (checkpoints, tests). */
  readFlat(): Tensor1D;
  /** Writes all values from a flat [size] tensor (the layout of readFlat). */
  assignFlat(flat: Tensor, what?: string): void;
  dispose(): void;
}

/** Spec of a dense layer's weight [fanIn, fanOut] and bias [fanOut]. */
export function denseSpecs(
  name: string,
  fanIn: number,
  fanOut: number,
  init: InitKind,
): ParamSpec[] {
  return [
    { name: `${name}/kernel`, shape: [fanIn, fanOut], init, fanIn, fanOut },
    {
      name: `${name}/bias`,
      shape: [fanOut],
      init: init === 'torch' ? 'torch' : 'zeros',
      fanIn,
      fanOut,
    },
  ];
}

/**
 * Spec of a conv layer's filter [k, k, inC, outC] and bias [outC] (for transposed convs pass
 * transposed=true: [k, k, outC, inC]).
 */
export function convSpecs(
  name: string,
  k: number,
  inC: number,
  outC: number,
  init: InitKind,
  transposed = false,
): ParamSpec[] {
  const fanIn = k * k * inC;
  const fanOut = k * k * outC;
  const shape = transposed ? [k, k, outC, inC] : [k, k, inC, outC];
  return [
    { name: `${name}/filter`, shape, init, fanIn, fanOut },
    {
      name: `${name}/bias`,
      shape: [outC],
      init: init === 'torch' ? 'torch' : 'zeros',
      fanIn,
      fanOut,
    },
  ];
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Initial values of `specs`, packed, drawn from a stream seeded with `seed`. */
export function initialValues(specs: readonly ParamSpec[], seed: number): Float32Array {
  const total = specs.reduce((a, s) => a + sizeOf(s.shape), 0);
  const out = new Float32Array(total);
  const rng = createRng(seed);
  let off = 0;
  for (const s of specs) {
    const n = sizeOf(s.shape);
    let bound = 0;
    if (s.init === 'torch') bound = 1 / Math.sqrt(s.fanIn);
    else if (s.init === 'glorot') bound = Math.sqrt(6 / (s.fanIn + s.fanOut));
    if (bound > 0) for (let i = 0; i < n; i++) out[off + i] = (2 * rng.next() - 1) * bound;
    off += n;
  }
  return out;
}

function makeParamSet(
  specs: readonly ParamSpec[],
  variables: ResourceVariable[],
  trainable: boolean,
): ParamSet {
  const sizes = specs.map((sp) => sizeOf(sp.shape));
  const size = sizes.reduce((a, b) => a + b, 0);
  const read = (): Tensor[] => variables.map((v) => v.read());
  return Object.freeze({
    specs,
    sizes,
    size,
    trainable,
    variables,
    read,
    readFlat(): Tensor1D {
      return tf.tidy(() => {
        const parts = read().map((t) => tf.reshape(t, [-1]));
        return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as Tensor1D;
      });
    },
    assignFlat(flat: Tensor, what = 'ParamSet.assignFlat'): void {
      if (flat.rank !== 1 || flat.size !== size || flat.dtype !== 'float32') {
        throw new Error(
          `${what}: expected float32 [${size}] parameters, ` +
            `got ${flat.dtype} [${flat.shape.join(', ')}]`,
        );
      }
      tf.tidy(() => {
        const parts = variables.length === 1 ? [flat] : tf.split(flat, sizes);
        parts.forEach((p, i) =>
          (variables[i] as ResourceVariable).assign(
            tf.reshape(p, (specs[i] as ParamSpec).shape as number[]),
          ),
        );
      });
    },
    dispose(): void {
      for (const v of variables) v.dispose();
    },
  });
}

function variableOf(value: Tensor): ResourceVariable {
  const v = resourceVariable(value);
  value.dispose();
  return v;
}

/** New parameters for `specs`, seeded. */
export function createParams(
  specs: readonly ParamSpec[],
  seed: number,
  trainable = true,
): ParamSet {
  const values = initialValues(specs, seed);
  let off = 0;
  const variables = specs.map((sp) => {
    const n = sizeOf(sp.shape);
    const v = variableOf(tf.tensor(values.subarray(off, off + n), sp.shape as number[]));
    off += n;
    return v;
  });
  return makeParamSet(specs, variables, trainable);
}

/** A separate copy of `p` (its own variables: training `p` afterwards cannot change it). */
export function cloneParams(p: ParamSet, trainable = false): ParamSet {
  return makeParamSet(
    p.specs,
    p.variables.map((v) => variableOf(v.read())),
    trainable,
  );
}

/** Zero-initialised variables shaped like `p` (optimiser moments). */
function zerosLike(p: ParamSet): ParamSet {
  return makeParamSet(
    p.specs,
    p.specs.map((sp) => variableOf(tf.zeros(sp.shape as number[]))),
    false,
  );
}

export interface AdamConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/** Adam state (Kingma & Ba 2015) for one ParamSet: moments and step count. */
export interface Adam {
  readonly config: AdamConfig;
  /** First moments, shaped like the parameters. */
  readonly m: ParamSet;
  /** Second moments. */
  readonly v: ParamSet;
  /** Number of updates applied so far. */
  steps(): number;
  /**
   * One in-place update with `grads` (one per spec, not disposed): PyTorch's
   * w −= lr·m̂/(sqrt(v̂)+ε), computed by TensorFlow's fused kernel.
   */
  apply(grads: readonly Tensor[]): void;
  /** Restores the state (from a checkpoint): flat moments [size] and the step count. */
  restore(m: Tensor, v: Tensor, steps: number): void;
  dispose(): void;
}

export function createAdam(params: ParamSet, config: AdamConfig): Adam {
  if (!params.trainable) throw new Error('createAdam: these parameters are frozen');
  const m = zerosLike(params);
  const v = zerosLike(params);
  const consts = {
    lr: tf.scalar(config.lr),
    beta1: tf.scalar(config.beta1),
    beta2: tf.scalar(config.beta2),
  };
  let t = 0;
  return {
    config,
    m,
    v,
    steps: () => t,
    apply(grads: readonly Tensor[]): void {
      if (grads.length !== params.variables.length)
        throw new Error(
          `Adam.apply: ${grads.length} gradients for ${params.variables.length} parameter tensors`,
        );
      t += 1;
      const b1p = Math.pow(config.beta1, t);
      const b2p = Math.pow(config.beta2, t);
      // TensorFlow adds ε̂ to sqrt(v) before bias correction; ε̂ = ε·sqrt(1−β2^t) gives PyTorch's
      // update.
      const s = {
        ...consts,
        beta1Power: tf.scalar(b1p),
        beta2Power: tf.scalar(b2p),
        epsilon: tf.scalar(config.epsilon * Math.sqrt(1 - b2p)),
      };
      try {
        grads.forEach((g, i) =>
          resourceApplyAdam(
            params.variables[i] as ResourceVariable,
            m.variables[i] as ResourceVariable,
            v.variables[i] as ResourceVariable,
            s,
            g,
          ),
        );
      } finally {
        tf.dispose([s.beta1Power, s.beta2Power, s.epsilon]);
      }
    },
    restore(m0: Tensor, v0: Tensor, steps: number): void {
      m.assignFlat(m0, 'Adam.restore(m)');
      v.assignFlat(v0, 'Adam.restore(v)');
      t = steps;
    },
    dispose(): void {
      m.dispose();
      v.dispose();
      tf.dispose(Object.values(consts));
    },
  };
}

/**
 * LeakyReLU(0.2) as 0.2·x + 0.8·relu(x): twice differentiable in tf.js (its
 * own LeakyRelu gradient records a `greater` op that has no gradient, which
 * breaks the WGAN-GP gradient penalty's second-order backprop).
 */
export function leakyRelu(x: Tensor): Tensor {
  return tf.add(tf.mul(x, 0.2), tf.mul(tf.relu(x), 0.8));
}

/** Dense layer: x [n, in] · W [in, out] + b [out], then the activation. */
export function dense(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  act: 'relu' | 'leakyRelu' | 'sigmoid' | 'linear',
): Tensor {
  const y = tf.add(tf.matMul(x as Tensor2D, w as Tensor2D), b);
  switch (act) {
    case 'relu':
      return tf.relu(y);
    case 'leakyRelu':
      return leakyRelu(y);
    case 'sigmoid':
      return tf.sigmoid(y);
    case 'linear':
      return y;
  }
}

/** Multiply-accumulates of a dense stack with layer sizes `sizes` (for FLOP counts). */
export function denseMacs(sizes: readonly number[]): number {
  let s = 0;
  for (let i = 1; i < sizes.length; i++) s += (sizes[i - 1] as number) * (sizes[i] as number);
  return s;
}
