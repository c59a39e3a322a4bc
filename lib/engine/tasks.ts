/**
 * Task sequences for continual learning, built from image data sets by pure
 * functions with complete, immutable configs.
 *
 * - {@link permutedMnist}: every task is MNIST with its pixels shuffled by a fixed, seeded
 *   permutation (Shin et al. 2017, §4.1; Goodfellow et al. 2013; van de Ven & Tolias 2019).
 * - {@link splitMnist}: MNIST cut into 5 tasks of 2 digits, [0,1], [2,3], ... (the "disjoint
 *   MNIST" of Shin et al. 2017, §4.3; split MNIST of Zenke et al. 2017 / van de Ven & Tolias 2019).
 * - {@link domainSequence}: a domain-incremental sequence of arbitrary image domains with the
 *   same classes, e.g. MNIST <-> SVHN (Shin et al. 2017, §4.2) via {@link mnistTo32x32x3}.
 *
 * Labels follow the three scenarios of van de Ven & Tolias (2019), see {@link Scenario}
 * and {@link activeOutputs}. All tensors live on the native backend; `sequence.dispose()` frees
 * them.
 */
import { tf } from '../tf';
import type { ImageSplit, Mnist } from '../data/mnist';
import type { Scenario, Task, TaskData, TaskSequence } from './types';
import type { IdentityValue, SequenceIdentity } from './types';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-node';
import { createRng, deriveSeed } from '../rng';
import { SCENARIOS } from './config';

/** Train/test subsampling (for quick profiles). `undefined` keeps every example. */
export interface Subsample {
  /** Training examples per task (a seeded random subset, kept in data-set order). */
  readonly trainPerTask?: number;
  /** Test examples per task (a seeded random subset, kept in data-set order). */
  readonly testPerTask?: number;
}

/** A sequence together with the complete config that built it (for run names and records). */
export type BuiltSequence<C> = TaskSequence & { readonly config: C };

// Stream purposes for deriveSeed (fixed labels: adding a purpose never changes existing streams).
const PURPOSE_PIXELS = 'task-pixels';
const PURPOSE_TRAIN_SUBSET = 'task-train-subset';
const PURPOSE_TEST_SUBSET = 'task-test-subset';
const PURPOSE_CLASS_ORDER = 'task-class-order';

/** A seeded permutation of 0..n-1 from the stream `deriveSeed(seed, ...path)`. */
function permutationOf(n: number, seed: number, ...path: readonly (string | number)[]): Int32Array {
  return createRng(deriveSeed(seed, ...path)).permutation(n);
}

// ---------------------------------------------------------------------------------------------
// Validation

function checkInt(name: string, v: unknown, min: number): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`);
  }
}

function checkScenario(where: string, s: unknown): asserts s is Scenario {
  if (!(SCENARIOS as readonly unknown[]).includes(s)) {
    throw new RangeError(
      `${where}: scenario must be one of ${SCENARIOS.join(', ')}, got ${String(s)}`,
    );
  }
}

function checkSubsample(where: string, s: Subsample): void {
  if (s.trainPerTask !== undefined) checkInt(`${where}: trainPerTask`, s.trainPerTask, 1);
  if (s.testPerTask !== undefined) checkInt(`${where}: testPerTask`, s.testPerTask, 1);
}

function checkSplit(where: string, split: ImageSplit): void {
  const [h, w, c] = split.shape;
  if (split.images.length !== split.count * h * w * c) {
    throw new RangeError(
      `${where}: images has ${split.images.length} bytes, expected count*h*w*c = ` +
        `${split.count * h * w * c}`,
    );
  }
  if (split.labels.length !== split.count) {
    throw new RangeError(
      `${where}: labels has ${split.labels.length} entries, expected count = ${split.count}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Tensor helpers

/** Pixels 0..255 of the chosen rows as float32 in [0, 1], shape [rows, h*w*c]. */
function floatRows(split: ImageSplit, rows: Int32Array | null): Tensor2D {
  const [h, w, c] = split.shape;
  const d = h * w * c;
  const n = rows === null ? split.count : rows.length;
  const out = new Float32Array(n * d);
  const src = split.images;
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  for (let r = 0; r < n; r++) {
    const from = (rows === null ? r : (rows[r] as number)) * d;
    const to = r * d;
    for (let k = 0; k < d; k++) out[to + k] = lut[src[from + k] as number] as number;
  }
  return tf.tensor2d(out, [n, d], 'float32');
}

/**
 * A seeded subset of `size` of the given indices, kept in ascending order; all if size
 * undefined/too big.
 */
function subset(
  indices: Int32Array,
  size: number | undefined,
  seed: number,
  ...path: readonly (string | number)[]
): Int32Array {
  if (size === undefined || size >= indices.length) return indices;
  const perm = permutationOf(indices.length, seed, ...path);
  const chosen = new Int32Array(size);
  for (let i = 0; i < size; i++) chosen[i] = indices[perm[i] as number] as number;
  return chosen.sort();
}

function range(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

function makeTaskData(x: Tensor, labels: Int32Array): TaskData {
  return Object.freeze({ x, y: tf.tensor1d(labels, 'int32'), count: labels.length });
}

function shapeX(x2d: Tensor2D, imageShape: readonly number[], flatten: boolean): Tensor {
  if (flatten) return x2d;
  const x = x2d.reshape([x2d.shape[0], ...imageShape]);
  x2d.dispose();
  return x;
}

/** A sequence's identity: its builder and config, each task's domain and the data files read. */
function identityOf(
  builder: string,
  config: object,
  domains: readonly string[],
  splits: readonly ImageSplit[],
): SequenceIdentity {
  const dataFiles: Record<string, string> = {};
  for (const s of splits) Object.assign(dataFiles, s.files ?? {});
  const json = JSON.parse(JSON.stringify(config)) as { readonly [key: string]: IdentityValue };
  return Object.freeze({ builder, config: json, domains: Object.freeze([...domains]), dataFiles });
}

function finish<C extends object>(
  name: string,
  scenario: Scenario,
  inputShape: readonly number[],
  numOutputs: number,
  tasks: Task[],
  config: C,
  identity: SequenceIdentity,
): BuiltSequence<C> {
  let disposed = false;
  return Object.freeze({
    name,
    scenario,
    inputShape: Object.freeze([...inputShape]),
    numOutputs,
    tasks: Object.freeze(tasks),
    config,
    identity,
    dispose(): void {
      if (disposed) return;
      disposed = true;
      for (const t of tasks) tf.dispose([t.train.x, t.train.y, t.test.x, t.test.y]);
    },
  });
}

/**
 * Labels of a "same classes in every task" sequence (permuted MNIST, domain sequences):
 * domain-IL keeps the class c (C outputs); task- and class-IL give task t its own block,
 * c + C*t (C*T outputs), as in van de Ven & Tolias (2019).
 */
function domainLabels(
  scenario: Scenario,
  numClasses: number,
  t: number,
  labels: Uint8Array,
  rows: Int32Array,
): Int32Array {
  const offset = scenario === 'domain' ? 0 : numClasses * t;
  const y = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) y[i] = (labels[rows[i] as number] as number) + offset;
  return y;
}

function domainClasses(scenario: Scenario, numClasses: number, t: number): readonly number[] {
  const offset = scenario === 'domain' ? 0 : numClasses * t;
  return Object.freeze(Array.from({ length: numClasses }, (_, c) => c + offset));
}

// ---------------------------------------------------------------------------------------------
// Permuted MNIST

export interface PermutedMnistConfig extends Subsample {
  /** Number of tasks (permutations). */
  readonly numTasks: number;
  /** Drives every permutation and subset. Same seed => same tasks. */
  readonly seed: number;
  /**
   * Label space: 'domain' (10 outputs, the usual permuted-MNIST setting), 'task' or 'class'
   * (10*numTasks outputs).
   */
  readonly scenario: Scenario;
  /** true: inputs [count, 784] (MLP solvers); false: [count, 28, 28, 1]. */
  readonly flatten: boolean;
  /**
   * true (default): every task is permuted, the first too (van de Ven & Tolias 2019; Shin et
   * al. 2017 §4.1 figure shows permuted images in every task). false: task 0 is plain MNIST
   * (Kirkpatrick et al. 2017).
   */
  readonly permuteFirst: boolean;
}

/**
 * The complete config for permuted MNIST (defaults: seed 0, domain, flatten, every task permuted).
 */
export function permutedMnistConfig(
  c: Partial<PermutedMnistConfig> & Pick<PermutedMnistConfig, 'numTasks'>,
): PermutedMnistConfig {
  const full: PermutedMnistConfig = {
    seed: 0,
    scenario: 'domain',
    flatten: true,
    permuteFirst: true,
    ...c,
  };
  checkInt('permutedMnist: numTasks', full.numTasks, 1);
  checkInt('permutedMnist: seed', full.seed, 0);
  checkScenario('permutedMnist', full.scenario);
  if (typeof full.flatten !== 'boolean')
    throw new TypeError('permutedMnist: flatten must be true or false');
  if (typeof full.permuteFirst !== 'boolean')
    throw new TypeError('permutedMnist: permuteFirst must be true or false');
  checkSubsample('permutedMnist', full);
  return Object.freeze(full);
}

/** The pixel permutation of task `t` (identity for task 0 when `permuteFirst` is false). */
export function pixelPermutation(
  config: Pick<PermutedMnistConfig, 'seed' | 'permuteFirst'>,
  t: number,
  numPixels = 784,
): Int32Array {
  if (t === 0 && !config.permuteFirst) return range(numPixels);
  return permutationOf(numPixels, config.seed, PURPOSE_PIXELS, t);
}

/**
 * Permuted MNIST (Shin et al. 2017, §4.1): task t applies one fixed pixel permutation to every
 * image, train and test alike (a single gather per task). Inputs float32 in [0, 1], [count, 784]
 * when `flatten`, else [count, 28, 28, 1]; labels int32 per `scenario`.
 */
export function permutedMnist(
  mnist: Mnist,
  config: Partial<PermutedMnistConfig> & Pick<PermutedMnistConfig, 'numTasks'>,
): BuiltSequence<PermutedMnistConfig> {
  const cfg = permutedMnistConfig(config);
  checkSplit('permutedMnist: mnist.train', mnist.train);
  checkSplit('permutedMnist: mnist.test', mnist.test);
  const imageShape = mnist.train.shape;
  const numPixels = imageShape[0] * imageShape[1] * imageShape[2];
  const numClasses = mnist.train.numClasses;
  const full = cfg.trainPerTask === undefined && cfg.testPerTask === undefined;
  // Without subsampling every task shares the same rows: convert them once.
  const baseTrain = full ? floatRows(mnist.train, null) : null;
  const baseTest = full ? floatRows(mnist.test, null) : null;
  const tasks: Task[] = [];
  try {
    for (let t = 0; t < cfg.numTasks; t++) {
      const perm = pixelPermutation(cfg, t, numPixels);
      const identity = t === 0 && !cfg.permuteFirst;
      const part = (
        split: ImageSplit,
        base: Tensor2D | null,
        size: number | undefined,
        purpose: string,
      ): TaskData => {
        const rows = subset(range(split.count), size, cfg.seed, purpose, t);
        const x2d = tf.tidy(() => {
          const src = base ?? floatRows(split, rows);
          return identity
            ? src.clone()
            : (tf.gather(src, tf.tensor1d(perm, 'int32'), 1) as Tensor2D);
        });
        return makeTaskData(
          shapeX(x2d, imageShape, cfg.flatten),
          domainLabels(cfg.scenario, numClasses, t, split.labels, rows),
        );
      };
      const train = part(mnist.train, baseTrain, cfg.trainPerTask, PURPOSE_TRAIN_SUBSET);
      const test = part(mnist.test, baseTest, cfg.testPerTask, PURPOSE_TEST_SUBSET);
      tasks.push(
        Object.freeze({
          index: t,
          name: identity ? 'MNIST' : `permutation ${t}`,
          classes: domainClasses(cfg.scenario, numClasses, t),
          train,
          test,
        }),
      );
    }
  } catch (err) {
    for (const t of tasks) tf.dispose([t.train.x, t.train.y, t.test.x, t.test.y]);
    throw err;
  } finally {
    tf.dispose([baseTrain, baseTest].filter((b): b is Tensor2D => b !== null));
  }
  const inputShape = cfg.flatten ? [numPixels] : [...imageShape];
  const numOutputs = cfg.scenario === 'domain' ? numClasses : numClasses * cfg.numTasks;
  const splits = [mnist.train, mnist.test];
  const identity = identityOf(
    'permutedMnist',
    cfg,
    tasks.map(() => 'MNIST'),
    splits,
  );
  return finish('permMNIST', cfg.scenario, inputShape, numOutputs, tasks, cfg, identity);
}

// ---------------------------------------------------------------------------------------------
// Split MNIST

export interface SplitMnistConfig extends Subsample {
  /** Label space, see {@link splitMnist}. */
  readonly scenario: Scenario;
  /** Drives the subsets (and the class order when `classOrder` is 'random'). */
  readonly seed: number;
  /**
   * Which digit becomes output unit k: a permutation of 0..9, 'identity' (digits in order, the
   * paper's [0,1], [2,3], ...) or 'random' (a seeded permutation). Task t holds the digits
   * order[2t], order[2t+1].
   */
  readonly classOrder: 'identity' | 'random' | readonly number[];
  /** Classes per task (2: five tasks of two digits). Must divide the number of classes. */
  readonly classesPerTask: number;
  /** true: inputs [count, 784]; false: [count, 28, 28, 1]. */
  readonly flatten: boolean;
}

/**
 * The complete config for split MNIST (defaults: seed 0, identity order, 2 classes per task,
 * flatten).
 */
export function splitMnistConfig(
  c: Partial<SplitMnistConfig> & Pick<SplitMnistConfig, 'scenario'>,
): SplitMnistConfig {
  const full: SplitMnistConfig = {
    seed: 0,
    classOrder: 'identity',
    classesPerTask: 2,
    flatten: true,
    ...c,
  };
  checkScenario('splitMnist', full.scenario);
  checkInt('splitMnist: seed', full.seed, 0);
  checkInt('splitMnist: classesPerTask', full.classesPerTask, 1);
  if (typeof full.flatten !== 'boolean')
    throw new TypeError('splitMnist: flatten must be true or false');
  const order = full.classOrder;
  if (order !== 'identity' && order !== 'random') {
    if (!Array.isArray(order))
      throw new TypeError(
        `splitMnist: classOrder must be 'identity', 'random' or a permutation of the classes`,
      );
    const sorted = [...order].sort((a, b) => a - b);
    if (!sorted.every((v, i) => v === i)) {
      throw new RangeError(
        `splitMnist: classOrder [${order.join(', ')}] is not a permutation of ` +
          `0..${order.length - 1}`,
      );
    }
  }
  checkSubsample('splitMnist', full);
  return Object.freeze({
    ...full,
    classOrder: Array.isArray(order) ? Object.freeze([...order]) : order,
  });
}

/** The digit of each output unit: `order[k]` is the original class shown by output k. */
export function splitClassOrder(
  config: Pick<SplitMnistConfig, 'classOrder' | 'seed'>,
  numClasses = 10,
): readonly number[] {
  const o = config.classOrder;
  if (o === 'identity') return Object.freeze(Array.from(range(numClasses)));
  if (o === 'random')
    return Object.freeze(Array.from(permutationOf(numClasses, config.seed, PURPOSE_CLASS_ORDER)));
  if (o.length !== numClasses)
    throw new RangeError(
      `splitMnist: classOrder has ${o.length} entries but the data has ${numClasses} classes`,
    );
  return o;
}

/**
 * Split ("disjoint") MNIST (Shin et al. 2017, §4.3): tasks of `classesPerTask` digits, by default
 * [0,1], [2,3], [4,5], [6,7], [8,9]. Labels:
 * - `class`: the output unit of the digit (its position in the class order; the digit itself
 *   for the identity order), 10 outputs, task t's classes {2t, 2t+1};
 * - `task`: same labels and outputs; each task's head is its 2 classes (masked outputs, see
 *   {@link activeOutputs});
 * - `domain`: the position within the task's pair (y mod 2 for the identity order), 2 outputs.
 * Inputs float32 in [0, 1], [count, 784] or [count, 28, 28, 1]; labels int32.
 */
export function splitMnist(
  mnist: Mnist,
  config: Partial<SplitMnistConfig> & Pick<SplitMnistConfig, 'scenario'>,
): BuiltSequence<SplitMnistConfig> {
  const cfg = splitMnistConfig(config);
  checkSplit('splitMnist: mnist.train', mnist.train);
  checkSplit('splitMnist: mnist.test', mnist.test);
  const numClasses = mnist.train.numClasses;
  const k = cfg.classesPerTask;
  if (numClasses % k !== 0)
    throw new RangeError(
      `splitMnist: classesPerTask ${k} does not divide the ${numClasses} classes`,
    );
  const order = splitClassOrder(cfg, numClasses);
  const unitOf = new Int32Array(numClasses); // digit -> output unit
  order.forEach((digit, unit) => (unitOf[digit] = unit));
  const numTasks = numClasses / k;
  const imageShape = mnist.train.shape;

  const part = (
    split: ImageSplit,
    t: number,
    size: number | undefined,
    purpose: string,
  ): TaskData => {
    const members: number[] = [];
    for (let i = 0; i < split.count; i++) {
      const unit = unitOf[split.labels[i] as number] as number;
      if (Math.floor(unit / k) === t) members.push(i);
    }
    const rows = subset(Int32Array.from(members), size, cfg.seed, purpose, t);
    const y = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const unit = unitOf[split.labels[rows[i] as number] as number] as number;
      y[i] = cfg.scenario === 'domain' ? unit % k : unit;
    }
    return makeTaskData(shapeX(floatRows(split, rows), imageShape, cfg.flatten), y);
  };

  const tasks: Task[] = [];
  try {
    for (let t = 0; t < numTasks; t++) {
      const digits = order.slice(t * k, t * k + k);
      const classes =
        cfg.scenario === 'domain'
          ? Array.from(range(k))
          : Array.from({ length: k }, (_, i) => t * k + i);
      const train = part(mnist.train, t, cfg.trainPerTask, PURPOSE_TRAIN_SUBSET);
      const test = part(mnist.test, t, cfg.testPerTask, PURPOSE_TEST_SUBSET);
      tasks.push(
        Object.freeze({
          index: t,
          name: `digits ${digits.join('/')}`,
          classes: Object.freeze(classes),
          train,
          test,
        }),
      );
    }
  } catch (err) {
    for (const t of tasks) tf.dispose([t.train.x, t.train.y, t.test.x, t.test.y]);
    throw err;
  }
  const inputShape = cfg.flatten
    ? [imageShape[0] * imageShape[1] * imageShape[2]]
    : [...imageShape];
  const spec = { ...cfg, classOrder: order };
  const splits = [mnist.train, mnist.test];
  const identity = identityOf(
    'splitMnist',
    spec,
    tasks.map(() => 'MNIST'),
    splits,
  );
  const numOutputs = cfg.scenario === 'domain' ? k : numClasses;
  return finish('splitMNIST', cfg.scenario, inputShape, numOutputs, tasks, cfg, identity);
}

// ---------------------------------------------------------------------------------------------
// Generic domain sequences (MNIST <-> SVHN)

/** One domain: a name and its train/test images (all domains share shape and classes). */
export interface Domain {
  readonly name: string;
  readonly train: ImageSplit;
  readonly test: ImageSplit;
}

export interface DomainSequenceConfig extends Subsample {
  /** Short sequence name for run names, e.g. 'MNIST2SVHN'. */
  readonly name: string;
  /** 'domain' (default; numClasses outputs), or 'task'/'class' (numClasses per domain, stacked). */
  readonly scenario: Scenario;
  readonly seed: number;
  /** true: inputs [count, h*w*c]; false (default): [count, h, w, c]. */
  readonly flatten: boolean;
}

/**
 * A sequence with one task per domain, e.g. [MNIST as 32x32x3, SVHN] (Shin et al. 2017, §4.2).
 * In the domain scenario every task uses the same `numClasses` outputs (10 for digits).
 * Inputs float32 in [0, 1], [count, h, w, c] (or flattened); labels int32.
 */
export function domainSequence(
  domains: readonly Domain[],
  config: Partial<DomainSequenceConfig> & Pick<DomainSequenceConfig, 'name'>,
): BuiltSequence<DomainSequenceConfig> {
  const cfg: DomainSequenceConfig = Object.freeze({
    scenario: 'domain',
    seed: 0,
    flatten: false,
    ...config,
  });
  if (typeof cfg.name !== 'string' || !/^[A-Za-z0-9_.]+$/.test(cfg.name))
    throw new TypeError(
      `domainSequence: name must be letters, digits, '_' or '.', got ${String(cfg.name)}`,
    );
  checkScenario('domainSequence', cfg.scenario);
  checkInt('domainSequence: seed', cfg.seed, 0);
  checkSubsample('domainSequence', cfg);
  if (domains.length === 0)
    throw new RangeError('domainSequence: domains is empty; pass at least one domain');
  const first = domains[0] as Domain;
  const imageShape = first.train.shape;
  const numClasses = first.train.numClasses;
  domains.forEach((d, i) => {
    for (const [which, split] of [
      ['train', d.train],
      ['test', d.test],
    ] as const) {
      const where = `domainSequence: domains[${i}] (${d.name}).${which}`;
      checkSplit(where, split);
      if (split.shape.join('x') !== imageShape.join('x')) {
        throw new RangeError(
          `${where} has images ${split.shape.join('x')}, ` +
            `but domain 0 has ${imageShape.join('x')}; convert first (e.g. mnistTo32x32x3)`,
        );
      }
      if (split.numClasses !== numClasses)
        throw new RangeError(
          `${where} has ${split.numClasses} classes, domain 0 has ${numClasses}`,
        );
    }
  });
  const tasks: Task[] = [];
  try {
    domains.forEach((d, t) => {
      const part = (split: ImageSplit, size: number | undefined, purpose: string): TaskData => {
        const rows = subset(range(split.count), size, cfg.seed, purpose, t);
        return makeTaskData(
          shapeX(floatRows(split, rows), imageShape, cfg.flatten),
          domainLabels(cfg.scenario, numClasses, t, split.labels, rows),
        );
      };
      const train = part(d.train, cfg.trainPerTask, PURPOSE_TRAIN_SUBSET);
      const test = part(d.test, cfg.testPerTask, PURPOSE_TEST_SUBSET);
      tasks.push(
        Object.freeze({
          index: t,
          name: d.name,
          classes: domainClasses(cfg.scenario, numClasses, t),
          train,
          test,
        }),
      );
    });
  } catch (err) {
    for (const t of tasks) tf.dispose([t.train.x, t.train.y, t.test.x, t.test.y]);
    throw err;
  }
  const inputShape = cfg.flatten
    ? [imageShape[0] * imageShape[1] * imageShape[2]]
    : [...imageShape];
  const numOutputs = cfg.scenario === 'domain' ? numClasses : numClasses * domains.length;
  const splits = domains.flatMap((d) => [d.train, d.test]);
  const identity = identityOf(
    'domainSequence',
    cfg,
    domains.map((d) => d.name),
    splits,
  );
  return finish(cfg.name, cfg.scenario, inputShape, numOutputs, tasks, cfg, identity);
}

/**
 * Resizes grey 28x28x1 images to 32x32x3 (bilinear resize, grey copied to the 3 channels, rounded
 * back to uint8) so MNIST can share a solver with SVHN (Shin et al. 2017, §4.2). Runs on the native
 * backend in chunks of `batchSize` images.
 */
export function mnistTo32x32x3(
  split: ImageSplit,
  opts: { readonly size?: number; readonly batchSize?: number } = {},
): ImageSplit {
  const size = opts.size ?? 32;
  const batchSize = opts.batchSize ?? 5000;
  checkInt('mnistTo32x32x3: size', size, 1);
  checkInt('mnistTo32x32x3: batchSize', batchSize, 1);
  checkSplit('mnistTo32x32x3: split', split);
  const [h, w, c] = split.shape;
  if (c !== 1)
    throw new RangeError(
      `mnistTo32x32x3: expects grey images (1 channel), got ${split.shape.join('x')}`,
    );
  const out = new Uint8Array(split.count * size * size * 3);
  for (let start = 0; start < split.count; start += batchSize) {
    const n = Math.min(batchSize, split.count - start);
    const chunk = tf.tidy(() => {
      const x = tf
        .tensor4d(split.images.subarray(start * h * w, (start + n) * h * w), [n, h, w, 1], 'int32')
        .toFloat();
      const resized = tf.image.resizeBilinear(x, [size, size]);
      return tf.tile(resized, [1, 1, 1, 3]).round().clipByValue(0, 255).toInt();
    });
    out.set(chunk.dataSync(), start * size * size * 3);
    chunk.dispose();
  }
  const files = split.files === undefined ? {} : { files: split.files };
  return Object.freeze({
    count: split.count,
    shape: Object.freeze([size, size, 3]) as readonly [number, number, number],
    images: out,
    labels: split.labels,
    numClasses: split.numClasses,
    ...files,
  });
}
