/**
 * The one entry point to TensorFlow.js for the whole project.
 *
 * Loads `@tensorflow/tfjs-node` (the native TensorFlow C library) and asserts
 * that the active backend is `tensorflow`. There is no fallback: the pure-JS
 * `cpu` backend trains a conv net ~600x slower and the `wasm` backend lacks
 * conv backprop, so a missing binding is an error that names the fix.
 */
import type * as tfTypes from '@tensorflow/tfjs-node';

// TensorFlow's C++ logging reads this once, when the library loads.
if (process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
// oneDNN kernels for MatMul and friends. TensorFlow leaves them off by default on this project's
// AVX (no AVX2/AVX-512) machines; on, one generative-replay iteration of `npm run bench` is
// steadier and faster on average (environment.md, "oneDNN kernels"). Read when the first op runs; a
// user's own setting wins (TF_ENABLE_ONEDNN_OPTS=0 turns them off).
if (process.env.TF_ENABLE_ONEDNN_OPTS === undefined) process.env.TF_ENABLE_ONEDNN_OPTS = '1';

/** Thrown when the native TensorFlow binding cannot be loaded. */
export class NativeBackendError extends Error {
  constructor(cause: string) {
    super(
      `The native TensorFlow backend is not available: ${cause}\n` +
        `@tensorflow/tfjs-node needs its binding (tfjs_binding.node) and libtensorflow.\n` +
        `To fix: run \`npm run setup\` in the project folder (it downloads libtensorflow or ` +
        `builds the binding from the tensorflow-cpu wheel offline), then restart the kernel. ` +
        'See environment.md, "Native TensorFlow". There is no fallback to the ' +
        'slow pure-JS backends.',
    );
    this.name = 'NativeBackendError';
  }
}

function load(): typeof tfTypes {
  let mod: typeof tfTypes;
  try {
    /* eslint-disable-next-line @typescript-eslint/no-require-imports --
     * a require in try/catch turns a missing binding into a NativeBackendError */
    mod = require('@tensorflow/tfjs-node') as typeof tfTypes;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new NativeBackendError(msg ?? 'unknown error');
  }
  const backend = mod.getBackend();
  if (backend !== 'tensorflow') {
    throw new NativeBackendError(`the active backend is '${backend}', not 'tensorflow'`);
  }
  return mod;
}

/** TensorFlow.js on the native `tensorflow` backend. */
export const tf: typeof tfTypes = load();

/** Versions of the moving parts, for the setup notebook and run records. */
export interface Versions {
  readonly backend: string;
  readonly tfjs: string;
  readonly 'tfjs-node': string;
  readonly libtensorflow: string;
  readonly node: string;
}

/** Versions of the moving parts, for the setup notebook and run records. */
export function versions(): Versions {
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  return Object.freeze({
    backend: tf.getBackend(),
    tfjs: tf.version.tfjs,
    'tfjs-node': tf.version['tfjs-node'] ?? tf.version.tfjs,
    libtensorflow: binding?.TF_Version ?? 'unknown',
    node: process.version,
  });
}

/** Tensor types, so notebooks can write `dgr.Tensor4D` without importing tfjs-node themselves. */
export type {
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  Scalar,
  Rank,
} from '@tensorflow/tfjs-node';
