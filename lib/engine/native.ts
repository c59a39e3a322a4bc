/**
 * Direct calls to TensorFlow ops through the native tfjs-node backend, for
 * the engine's hot paths.
 *
 * Why: each tf.js op costs a fixed ~20–50 µs here, and every elementwise op
 * allocates a fresh output buffer (page faults are expensive on this VM).
 * An Adam update written with tf.js ops runs 12 ops and 12 allocations per
 * parameter tensor (7.4 ms for a 784×400 matrix); TensorFlow's fused
 * `ResourceApplyAdam` kernel updates a resource variable in place in one op
 * (0.66 ms). Likewise `ReluGrad`, `BiasAddGrad` and
 * `SoftmaxCrossEntropyWithLogits` replace 3–6 tf.js ops each in hand-written
 * backward passes.
 *
 * Resource variables: TensorFlow resource handles (tf.js represents them as
 * 'string' tensors). Reads share the buffer (no copy); an in-place update
 * while a read is still alive copies first (TensorFlow's copy-on-write), so a
 * read tensor never changes under the caller.
 *
 * Output tensors are ordinary tf.js tensors tracked by tf.tidy; these ops are
 * NOT recorded for tf.js autodiff (use them in hand-written backward passes
 * only).
 */
import { randomUUID } from 'node:crypto';
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';

interface Attr {
  readonly name: string;
  readonly type: number;
  readonly value: unknown;
}

interface Binding {
  readonly TF_ATTR_TYPE: number;
  readonly TF_ATTR_BOOL: number;
  readonly TF_ATTR_STRING: number;
  readonly TF_ATTR_SHAPE: number;
  readonly TF_FLOAT: number;
}

interface NodeBackend {
  readonly binding: Binding;
  executeSingleOutput(name: string, attrs: readonly Attr[], inputs: readonly Tensor[]): Tensor;
  executeMultipleOutputs(
    name: string,
    attrs: readonly Attr[],
    inputs: readonly Tensor[],
    numOutputs: number,
  ): Tensor[];
}

function backend(): NodeBackend {
  const b = tf.backend() as unknown as Partial<NodeBackend>;
  if (typeof b.executeSingleOutput !== 'function' || b.binding === undefined) {
    throw new Error(
      `engine/native: needs the native 'tensorflow' backend, the active backend is ` +
        `'${tf.getBackend()}'`,
    );
  }
  return b as NodeBackend;
}

const tFloat = (b: Binding, name = 'T'): Attr => ({
  name,
  type: b.TF_ATTR_TYPE,
  value: b.TF_FLOAT,
});
const bool = (b: Binding, name: string, value: boolean): Attr => ({
  name,
  type: b.TF_ATTR_BOOL,
  value,
});
const str = (b: Binding, name: string, value: string): Attr => ({
  name,
  type: b.TF_ATTR_STRING,
  value,
});

function checkFloat(t: Tensor, what: string): void {
  if (t.dtype !== 'float32') throw new Error(`${what}: expected a float32 tensor, got ${t.dtype}`);
}

// ------------------------------------------------------------------------------------ math

/** a [m, k] · b [k, n] (or with transposes) → [m, n]. */
export function matMul(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor2D {
  const be = backend();
  return be.executeSingleOutput(
    'MatMul',
    [
      tFloat(be.binding),
      bool(be.binding, 'transpose_a', transposeA),
      bool(be.binding, 'transpose_b', transposeB),
    ],
    [a, b],
  ) as Tensor2D;
}

/** value [..., c] + bias [c]. */
export function biasAdd(value: Tensor, bias: Tensor): Tensor {
  const be = backend();
  return be.executeSingleOutput(
    'BiasAdd',
    [tFloat(be.binding), str(be.binding, 'data_format', 'NHWC')],
    [value, bias],
  );
}

/** Sum of dy [..., c] over all but the last axis → [c] (the bias gradient). */
export function biasAddGrad(dy: Tensor): Tensor1D {
  const be = backend();
  return be.executeSingleOutput(
    'BiasAddGrad',
    [tFloat(be.binding), str(be.binding, 'data_format', 'NHWC')],
    [dy],
  ) as Tensor1D;
}

/**
 * dy where features > 0, else 0 (the ReLU gradient; `features` may be the ReLU's input or output).
 */
export function reluGrad(dy: Tensor, features: Tensor): Tensor {
  const be = backend();
  return be.executeSingleOutput('ReluGrad', [tFloat(be.binding)], [dy, features]);
}

/**
 * Softmax cross-entropy of logits [B, C] against target distributions [B, C]:
 * returns [loss [B], backprop [B, C] = softmax(logits) − labels].
 */
export function softmaxCrossEntropy(logits: Tensor2D, labels: Tensor2D): [Tensor1D, Tensor2D] {
  const be = backend();
  const [loss, backprop] = be.executeMultipleOutputs(
    'SoftmaxCrossEntropyWithLogits',
    [tFloat(be.binding)],
    [logits, labels],
    2,
  );
  return [loss as Tensor1D, backprop as Tensor2D];
}

// ------------------------------------------------------------------------------ resource variables

/** A TensorFlow resource variable (float32). */
export interface ResourceVariable {
  readonly shape: readonly number[];
  /** The resource handle (a tf.js 'string' tensor). */
  readonly handle: Tensor;
  /** The current value (a new tensor sharing the buffer; dispose it or read inside tf.tidy). */
  read(): Tensor;
  /** Replaces the value (shape must match). */
  assign(value: Tensor): void;
  /** Destroys the variable and frees its memory. */
  dispose(): void;
}

/** A new resource variable holding `initial` (which is not disposed). */
export function resourceVariable(initial: Tensor): ResourceVariable {
  checkFloat(initial, 'resourceVariable');
  const be = backend();
  const b = be.binding;
  const shape = Object.freeze([...initial.shape]);
  const handle = be.executeSingleOutput(
    'VarHandleOp',
    [
      str(b, 'container', ''),
      str(b, 'shared_name', `dgr_${randomUUID()}`),
      tFloat(b, 'dtype'),
      { name: 'shape', type: b.TF_ATTR_SHAPE, value: [...shape] },
    ],
    [],
  );
  // Keep the handle out of any enclosing tf.tidy: it lives as long as the variable.
  tf.keep(handle);
  const assign = (value: Tensor): void => {
    checkFloat(value, 'ResourceVariable.assign');
    if (value.shape.join(',') !== shape.join(','))
      throw new Error(
        `ResourceVariable.assign: value shape [${value.shape.join(', ')}] does not match the ` +
          `variable's [${shape.join(', ')}]`,
      );
    be.executeMultipleOutputs('AssignVariableOp', [tFloat(b, 'dtype')], [handle, value], 0);
  };
  assign(initial);
  let disposed = false;
  return {
    shape,
    handle,
    read(): Tensor {
      if (disposed) throw new Error('ResourceVariable.read: the variable was disposed');
      return be.executeSingleOutput('ReadVariableOp', [tFloat(b, 'dtype')], [handle]);
    },
    assign,
    dispose(): void {
      if (disposed) return;
      disposed = true;
      be.executeMultipleOutputs(
        'DestroyResourceOp',
        [bool(b, 'ignore_lookup_error', true)],
        [handle],
        0,
      );
      handle.dispose();
    },
  };
}

/** The per-step scalars of {@link resourceApplyAdam}. */
export interface AdamScalars {
  readonly beta1Power: Scalar;
  readonly beta2Power: Scalar;
  readonly lr: Scalar;
  readonly beta1: Scalar;
  readonly beta2: Scalar;
  readonly epsilon: Scalar;
}

/**
 * TensorFlow's fused Adam update, in place:
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   w ← w − lr·sqrt(1−β2^t)/(1−β1^t) · m / (sqrt(v) + ε̂)
 */
export function resourceApplyAdam(
  w: ResourceVariable,
  m: ResourceVariable,
  v: ResourceVariable,
  s: AdamScalars,
  grad: Tensor,
): void {
  const be = backend();
  const b = be.binding;
  be.executeMultipleOutputs(
    'ResourceApplyAdam',
    [tFloat(b), bool(b, 'use_locking', false), bool(b, 'use_nesterov', false)],
    [
      w.handle,
      m.handle,
      v.handle,
      s.beta1Power,
      s.beta2Power,
      s.lr,
      s.beta1,
      s.beta2,
      s.epsilon,
      grad,
    ],
    0,
  );
}

// ---------------------------------------------------------------------------------- random numbers

function stateless(op: string, shape: readonly number[], seed: number): Tensor {
  if (!Number.isInteger(seed)) throw new Error(`${op}: seed must be an integer, got ${seed}`);
  const be = backend();
  const b = be.binding;
  return tf.tidy(() => {
    const shapeT = tf.tensor1d(shape as number[], 'int32');
    const seedT = tf.tensor1d([seed | 0, 0x5eed], 'int32');
    const int32 = (b as unknown as { TF_INT32: number }).TF_INT32;
    return be.executeSingleOutput(
      op,
      [
        tFloat(b, 'dtype'),
        { name: 'T', type: b.TF_ATTR_TYPE, value: int32 },
        { name: 'Tseed', type: b.TF_ATTR_TYPE, value: int32 },
      ],
      [shapeT, seedT],
    );
  });
}

/**
 * Standard normal noise of `shape`, a pure function of `seed` (TensorFlow's
 * counter-based StatelessRandomNormal: generated natively, ~5× faster than
 * drawing in JS and uploading).
 */
export function statelessNormal(shape: readonly number[], seed: number): Tensor {
  return stateless('StatelessRandomNormal', shape, seed);
}

/** Uniform noise in [0, 1) of `shape`, a pure function of `seed`. */
export function statelessUniform(shape: readonly number[], seed: number): Tensor {
  return stateless('StatelessRandomUniform', shape, seed);
}

// ----------------------------------------------------------------------- elementwise and shape ops
// The same ops tf.js offers, without its per-op bookkeeping (argument conversion, kernel lookup,
// broadcasting checks, autodiff tape): measured ~3× cheaper per call. For hand-written passes only.

const int32Of = (b: Binding): number => (b as unknown as { TF_INT32: number }).TF_INT32;
const intAttr = (name: string, value: number): Attr => ({
  name,
  type: (backend().binding as unknown as { TF_ATTR_INT: number }).TF_ATTR_INT,
  value,
});

/**
 * An elementwise float op: 'Relu', 'Sigmoid', 'Exp', 'Square', 'Neg' (one input) or 'AddV2', 'Sub',
 * 'Mul', 'RealDiv' (two, broadcasting).
 */
export function ew(
  op: 'Relu' | 'Sigmoid' | 'Exp' | 'Square' | 'Neg' | 'AddV2' | 'Sub' | 'Mul' | 'RealDiv',
  ...inputs: Tensor[]
): Tensor {
  const be = backend();
  return be.executeSingleOutput(op, [tFloat(be.binding)], inputs);
}

/** The elementwise sum of float tensors of one shape, in one native op (AddN). */
export function addN(tensors: readonly Tensor[]): Tensor {
  const be = backend();
  return be.executeSingleOutput(
    'AddN',
    [tFloat(be.binding), intAttr('N', tensors.length)],
    [...tensors],
  );
}

/** Float tensors concatenated along `axis`. */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  const be = backend();
  const b = be.binding;
  const axisT = tf.scalar(axis, 'int32');
  try {
    return be.executeSingleOutput(
      'ConcatV2',
      [
        tFloat(b),
        intAttr('N', tensors.length),
        { name: 'Tidx', type: b.TF_ATTR_TYPE, value: int32Of(b) },
      ],
      [...tensors, axisT],
    );
  } finally {
    axisT.dispose();
  }
}

/** `x` split along `axis` into pieces of the given sizes. */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const be = backend();
  const b = be.binding;
  const sizesT = tf.tensor1d(sizes as number[], 'int32');
  const axisT = tf.scalar(axis, 'int32');
  try {
    return be.executeMultipleOutputs(
      'SplitV',
      [
        tFloat(b),
        intAttr('num_split', sizes.length),
        { name: 'Tlen', type: b.TF_ATTR_TYPE, value: int32Of(b) },
      ],
      [x, sizesT, axisT],
      sizes.length,
    );
  } finally {
    tf.dispose([sizesT, axisT]);
  }
}

/** Rows `indices` (int32 [n]) of the float tensor `x` (axis 0). */
export function gatherRows(x: Tensor, indices: Tensor): Tensor {
  const be = backend();
  const b = be.binding;
  const i32 = int32Of(b);
  const axisT = tf.scalar(0, 'int32');
  try {
    return be.executeSingleOutput(
      'GatherV2',
      [
        tFloat(b, 'Tparams'),
        { name: 'Tindices', type: b.TF_ATTR_TYPE, value: i32 },
        { name: 'Taxis', type: b.TF_ATTR_TYPE, value: i32 },
        intAttr('batch_dims', 0),
      ],
      [x, indices, axisT],
    );
  } finally {
    axisT.dispose();
  }
}

/** One-hot float rows [n, depth] of the argmax of each row of `logits` [n, depth]. */
export function argMaxOneHot(logits: Tensor2D): Tensor2D {
  const be = backend();
  const b = be.binding;
  const i32 = int32Of(b);
  const depth = logits.shape[1];
  const consts = [tf.scalar(1, 'int32'), tf.scalar(depth, 'int32'), tf.scalar(1), tf.scalar(0)];
  try {
    const idx = be.executeSingleOutput(
      'ArgMax',
      [
        tFloat(b),
        { name: 'Tidx', type: b.TF_ATTR_TYPE, value: i32 },
        { name: 'output_type', type: b.TF_ATTR_TYPE, value: i32 },
      ],
      [logits, consts[0] as Tensor],
    );
    try {
      return be.executeSingleOutput(
        'OneHot',
        [tFloat(b), { name: 'TI', type: b.TF_ATTR_TYPE, value: i32 }, intAttr('axis', -1)],
        [idx, consts[1] as Tensor, consts[2] as Tensor, consts[3] as Tensor],
      ) as Tensor2D;
    } finally {
      idx.dispose();
    }
  } finally {
    tf.dispose(consts);
  }
}

// ------------------------------------------------------------------------------ WGAN-GP passes
// Ops of the hand-written WGAN-GP critic and generator passes (generators.ts).

const floatAttr = (b: Binding, name: string, value: number): Attr => ({
  name,
  type: (b as unknown as { TF_ATTR_FLOAT: number }).TF_ATTR_FLOAT,
  value,
});

/** `x` with a new shape (same data; one −1 entry is inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const be = backend();
  const b = be.binding;
  const shapeT = tf.tensor1d(shape as number[], 'int32');
  try {
    const tshape = { name: 'Tshape', type: b.TF_ATTR_TYPE, value: int32Of(b) };
    return be.executeSingleOutput('Reshape', [tFloat(b), tshape], [x, shapeT]);
  } finally {
    shapeT.dispose();
  }
}

/** Sum of `x` over `axes`, keeping them as size 1 when `keepDims`. */
export function sum(x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  const be = backend();
  const b = be.binding;
  const axesT = tf.tensor1d(axes as number[], 'int32');
  try {
    const tidx = { name: 'Tidx', type: b.TF_ATTR_TYPE, value: int32Of(b) };
    const attrs = [tFloat(b), tidx, bool(b, 'keep_dims', keepDims)];
    return be.executeSingleOutput('Sum', attrs, [x, axesT]);
  } finally {
    axesT.dispose();
  }
}

/** Square root, elementwise. */
export function sqrt(x: Tensor): Tensor {
  const be = backend();
  return be.executeSingleOutput('Sqrt', [tFloat(be.binding)], [x]);
}

/** LeakyReLU: x where x > 0, else alpha·x. */
export function leakyRelu(x: Tensor, alpha: number): Tensor {
  const be = backend();
  const attrs = [tFloat(be.binding), floatAttr(be.binding, 'alpha', alpha)];
  return be.executeSingleOutput('LeakyRelu', attrs, [x]);
}

/** dy where features > 0, else alpha·dy (`features` may be the LeakyReLU's input or output). */
export function leakyReluGrad(dy: Tensor, features: Tensor, alpha: number): Tensor {
  const be = backend();
  const attrs = [tFloat(be.binding), floatAttr(be.binding, 'alpha', alpha)];
  return be.executeSingleOutput('LeakyReluGrad', attrs, [dy, features]);
}

/** dy·y·(1 − y): the gradient of y = sigmoid(a) w.r.t. a. */
export function sigmoidGrad(y: Tensor, dy: Tensor): Tensor {
  const be = backend();
  return be.executeSingleOutput('SigmoidGrad', [tFloat(be.binding)], [y, dy]);
}

function convAttrs(b: Binding, stride: number): Attr[] {
  const ints = (b as unknown as { TF_ATTR_INT: number }).TF_ATTR_INT;
  return [
    tFloat(b),
    { name: 'strides', type: ints, value: [1, stride, stride, 1] },
    str(b, 'padding', 'SAME'),
    str(b, 'data_format', 'NHWC'),
    bool(b, 'use_cudnn_on_gpu', true),
    { name: 'dilations', type: ints, value: [1, 1, 1, 1] },
  ];
}

/** 2-D convolution, NHWC, 'same' padding: x [n, h, w, inC] ∗ filter [k, k, inC, outC]. */
export function conv2d(x: Tensor, filter: Tensor, stride: number): Tensor {
  const be = backend();
  return be.executeSingleOutput('Conv2D', convAttrs(be.binding, stride), [x, filter]);
}

/**
 * The gradient of {@link conv2d} w.r.t. its input of shape `inputShape`
 * [n, h, w, inC], for output gradient dy (also the transposed convolution).
 */
export function conv2dBackpropInput(
  inputShape: readonly number[],
  filter: Tensor,
  dy: Tensor,
  stride: number,
): Tensor {
  const be = backend();
  const sizes = tf.tensor1d(inputShape as number[], 'int32');
  try {
    const attrs = convAttrs(be.binding, stride);
    return be.executeSingleOutput('Conv2DBackpropInput', attrs, [sizes, filter, dy]);
  } finally {
    sizes.dispose();
  }
}

/**
 * The gradient of {@link conv2d} w.r.t. its filter of shape `filterShape`,
 * for input x and output gradient dy.
 */
export function conv2dBackpropFilter(
  x: Tensor,
  filterShape: readonly number[],
  dy: Tensor,
  stride: number,
): Tensor {
  const be = backend();
  const sizes = tf.tensor1d(filterShape as number[], 'int32');
  try {
    const attrs = convAttrs(be.binding, stride);
    return be.executeSingleOutput('Conv2DBackpropFilter', attrs, [x, sizes, dy]);
  } finally {
    sizes.dispose();
  }
}

// ------------------------------------------------------------------------ in-place accumulation
// (issue 12: SI accumulates its path integral in resource variables, no new buffer per step)

/** v ← v + delta (or v − delta with `subtract`), in place; `delta` is not disposed. */
export function assignAddVariable(v: ResourceVariable, delta: Tensor, subtract = false): void {
  checkFloat(delta, 'assignAddVariable');
  const be = backend();
  const op = subtract ? 'AssignSubVariableOp' : 'AssignAddVariableOp';
  be.executeMultipleOutputs(op, [tFloat(be.binding, 'dtype')], [v.handle, delta], 0);
}
