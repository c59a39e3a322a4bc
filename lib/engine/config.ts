/**
 * Experiment configuration: complete, immutable config objects, presets that
 * mirror the published setups, and {@link validateConfig}, which rejects bad
 * settings with a clear error before any training starts.
 *
 * Deep Generative Replay (Shin, Lee, Kim & Kim, NeurIPS 2017, §3): a scholar
 * H = ⟨G, S⟩; the new solver minimises r·L(S(x), y) + (1−r)·L(S(x'), S_prev(x')),
 * x' ~ G_prev, with r the importance of the new task (§3.2, eq. 2).
 */
import type { Scenario, TaskSequence } from './types';
import type { AdamConfig, InitKind } from './nn';

export const SCENARIOS: readonly Scenario[] = ['task', 'domain', 'class'];
export const REPLAY_MODES = ['none', 'noise', 'exact', 'generative'] as const;
/**
 * - `none`: fine-tune on the new task only (lower bound);
 * - `noise`: replay uniform-noise inputs labelled by the previous solver (the paper's control);
 * - `exact`: replay stored real data of past tasks with true labels (upper bound,
 *   Shin et al. "ER");
 * - `generative`: replay inputs from the previous generator, labelled by the previous solver (DGR).
 */
export type ReplayMode = (typeof REPLAY_MODES)[number];

export interface MlpSolverConfig {
  readonly kind: 'mlp';
  /** Hidden layer widths, e.g. [400, 400] (van de Ven & Tolias 2019 for MNIST). */
  readonly hidden: readonly number[];
  readonly init: InitKind;
  readonly optimizer: AdamConfig;
}

export interface CnnSolverConfig {
  readonly kind: 'cnn';
  /** Channels of the 3×3 conv blocks (each conv+ReLU+2×2 max-pool), e.g. [32, 64]. */
  readonly channels: readonly number[];
  /** Width of the fully connected hidden layer. */
  readonly hidden: number;
  readonly init: InitKind;
  readonly optimizer: AdamConfig;
}

export type SolverConfig = MlpSolverConfig | CnnSolverConfig;

export interface VaeConfig {
  readonly kind: 'vae';
  /** Encoder hidden widths (the decoder mirrors them), e.g. [400, 400]. */
  readonly hidden: readonly number[];
  /** Latent dimension z (van de Ven: 100). */
  readonly latent: number;
  readonly init: InitKind;
  readonly optimizer: AdamConfig;
}

export interface WganGpConfig {
  readonly kind: 'wgan-gp';
  /**
   * `mlp`: fully connected G and critic; `dcgan`: transposed-conv G, strided-conv critic (H = W,
   * divisible by 4).
   */
  readonly arch: 'mlp' | 'dcgan';
  readonly latent: number;
  /**
   * mlp: hidden widths of G (the critic mirrors them). dcgan: [c1, c2] conv channels (preset
   * [32, 64]: a quarter of DCGAN's 64/128, for a 2-core CPU).
   */
  readonly hidden: readonly number[];
  /** Critic updates per generator update (Gulrajani et al. 2017: 5). */
  readonly criticSteps: number;
  /** Gradient-penalty weight λ (Gulrajani et al. 2017: 10). */
  readonly gpWeight: number;
  readonly init: InitKind;
  readonly generatorOptimizer: AdamConfig;
  readonly criticOptimizer: AdamConfig;
}

export type GeneratorConfig = VaeConfig | WganGpConfig;

export interface ReplayConfig {
  readonly mode: ReplayMode;
  /**
   * r, the weight of the current task's loss: a number in [0, 1], or
   * 'inverse-task' for r = 1/t on the t-th task (the new task's share of all tasks so far).
   */
  readonly ratio: number | 'inverse-task';
  /** Replayed examples per iteration (independent of the real batch size). */
  readonly batchSize: number;
  /**
   * `hard`: previous solver's argmax; `soft`: its softmax at `temperature` (distillation,
   * loss × T²).
   */
  readonly targets: 'hard' | 'soft';
  /** Distillation temperature (van de Ven: 2). Used only with soft targets. */
  readonly temperature: number;
}

export interface ExperimentConfig {
  /** The one seed: initialisers, batch order, noise and sampling all derive from it. */
  readonly seed: number;
  readonly scenario: Scenario;
  readonly solver: SolverConfig;
  /**
   * The generator; required for generative replay, optional otherwise (then trained on real data
   * only).
   */
  readonly generator: GeneratorConfig | null;
  readonly replay: ReplayConfig;
  /** Training iterations per task (solver and generator each step once per iteration). */
  readonly iterations: number;
  /**
   * Generator updates per task, 0..iterations (absent = iterations: one per iteration), as one
   * number for every task or one number per task. The generator steps on the first
   * `generatorIterations` iterations of each task, on the same mixed batches as always, and is
   * left alone for the rest; the solver's batches and steps do not change. Notebook 08 varies it
   * to vary only the generator's quality. A WGAN-GP update is `criticSteps` critic steps plus one
   * generator step. Per task: the generator trained on the last task of a sequence replays for
   * no later task, so notebook 06 gives it a small budget and the first one a large one.
   */
  readonly generatorIterations?: number | readonly number[];
  /**
   * Solver updates per task, 1..iterations (absent = iterations). The solver steps on the first
   * `solverIterations` iterations of each task and is left alone for the rest, while the
   * generator goes on (up to `generatorIterations`). With `iterations` as the generator's budget
   * this gives the reference implementation's separate budgets (kuc2477: 3000 generator and 1000
   * solver iterations per task).
   */
  readonly solverIterations?: number;
  /** Real examples per iteration. */
  readonly batchSize: number;
  /** EWC, online EWC or SI penalty on the solver; absent or null = none (see RegularizerConfig). */
  readonly regularizer?: RegularizerConfig | null;
  /** Learning without Forgetting on the current inputs; absent or null = off (see LwfConfig). */
  readonly lwf?: LwfConfig | null;
}

/** Adam with PyTorch's defaults at learning rate `lr`. */
export function adam(lr: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8): AdamConfig {
  return Object.freeze({ lr, beta1, beta2, epsilon });
}

type DeepPartial<T> = {
  readonly [K in keyof T]?: T[K] extends readonly unknown[]
    ? T[K]
    : T[K] extends object | null
      ? DeepPartial<NonNullable<T[K]>> | null
      : T[K];
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

function merge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (!isPlainObject(patch) || !isPlainObject(base)) return patch;
  // A patch with a different `kind` replaces the whole object (e.g. switching vae -> wgan-gp).
  if ('kind' in patch && patch.kind !== base.kind) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = merge(base[k], v);
  return out;
}

/**
 * A new frozen config: `base` with `patch` deep-merged over it (arrays replace;
 * an object with a different `kind` replaces the whole sub-config). No setters:
 * configs are values.
 */
export function configWith(
  base: ExperimentConfig,
  patch: DeepPartial<ExperimentConfig>,
): ExperimentConfig {
  return deepFreeze(
    merge(JSON.parse(JSON.stringify(base)), JSON.parse(JSON.stringify(patch))) as ExperimentConfig,
  );
}

/**
 * The van de Ven & Tolias (2019) split-MNIST class-IL generative replay setup (their
 * `--replay=generative`).
 */
function splitMnistGR(): ExperimentConfig {
  return deepFreeze({
    seed: 0,
    scenario: 'class',
    solver: { kind: 'mlp', hidden: [400, 400], init: 'torch', optimizer: adam(0.001) },
    generator: {
      kind: 'vae',
      hidden: [400, 400],
      latent: 100,
      init: 'torch',
      optimizer: adam(0.001),
    },
    replay: {
      mode: 'generative',
      ratio: 'inverse-task',
      batchSize: 128,
      targets: 'hard',
      temperature: 2,
    },
    iterations: 2000,
    batchSize: 128,
  } satisfies ExperimentConfig);
}

/**
 * Same as splitMnistGR with soft targets at temperature 2 (van de Ven's `--distill`,
 * "DGR+distill").
 */
function splitMnistGRDistill(): ExperimentConfig {
  return configWith(splitMnistGR(), { replay: { targets: 'soft', temperature: 2 } });
}

/**
 * Split MNIST with another replay mode (baselines: 'none', 'noise', 'exact'); no generator unless
 * generative.
 */
function splitMnist(mode: ReplayMode, scenario: Scenario = 'class'): ExperimentConfig {
  const base = splitMnistGR();
  return deepFreeze({
    ...base,
    scenario,
    generator: mode === 'generative' ? base.generator : null,
    replay: { ...base.replay, mode },
  });
}

/**
 * The DGR paper's generator: WGAN-GP (Gulrajani et al. 2017: Adam lr 1e-4, β=(0.5, 0.9), 5 critic
 * steps, λ=10).
 */
function wganGp(arch: 'mlp' | 'dcgan' = 'mlp'): WganGpConfig {
  return deepFreeze({
    kind: 'wgan-gp',
    arch,
    latent: 100,
    hidden: arch === 'mlp' ? [256, 512] : [32, 64],
    criticSteps: 5,
    gpWeight: 10,
    init: 'glorot',
    generatorOptimizer: adam(1e-4, 0.5, 0.9),
    criticOptimizer: adam(1e-4, 0.5, 0.9),
  } satisfies WganGpConfig);
}

/** Permuted MNIST, domain-IL, DGR with a WGAN-GP generator as in Shin et al. (§4.1), r = 1/t. */
function permutedMnistDGR(): ExperimentConfig {
  return deepFreeze({
    seed: 0,
    scenario: 'domain',
    solver: { kind: 'mlp', hidden: [400, 400], init: 'torch', optimizer: adam(0.001) },
    generator: wganGp('mlp'),
    replay: {
      mode: 'generative',
      ratio: 'inverse-task',
      batchSize: 128,
      targets: 'hard',
      temperature: 2,
    },
    iterations: 2000,
    batchSize: 128,
  } satisfies ExperimentConfig);
}

/**
 * SVHN → MNIST (32×32×3 inputs, domain-IL) with a CNN solver and a DCGAN-style WGAN-GP
 * (Shin et al. §4.2).
 */
function svhnMnistDGR(): ExperimentConfig {
  return deepFreeze({
    seed: 0,
    scenario: 'domain',
    solver: { kind: 'cnn', channels: [32, 64], hidden: 256, init: 'torch', optimizer: adam(0.001) },
    generator: wganGp('dcgan'),
    replay: {
      mode: 'generative',
      ratio: 'inverse-task',
      batchSize: 64,
      targets: 'hard',
      temperature: 2,
    },
    iterations: 2000,
    batchSize: 64,
  } satisfies ExperimentConfig);
}

/** Ready-made configs (each call returns a fresh frozen object). */
export const presets = Object.freeze({
  splitMnistGR,
  splitMnistGRDistill,
  splitMnist,
  permutedMnistDGR,
  svhnMnistDGR,
  wganGp,
  // issue 12: regularisation and LwF (van de Ven & Tolias 2019's values, see VAN_DE_VEN_2019)
  regularizer,
  splitMnistRegularized,
  splitMnistLwf,
  svhnMnistLwf,
  permutedMnistRegularized,
});

/** Thrown for a configuration that cannot run; the message names the field and the fix. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function fail(path: string, msg: string): never {
  throw new ConfigError(`config.${path}: ${msg}`);
}

/** A value as an error message shows it: JSON, except NaN, Infinity and -Infinity by name. */
function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(',')}]`;
  if (v === undefined) return 'undefined';
  return JSON.stringify(v) ?? String(v);
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

/** The settings of each part of a config; `satisfies` keeps them complete. */
const KEYS = {
  config: {
    seed: true,
    scenario: true,
    solver: true,
    generator: true,
    replay: true,
    iterations: true,
    generatorIterations: true,
    solverIterations: true,
    batchSize: true,
    regularizer: true,
    lwf: true,
  },
  mlp: { kind: true, hidden: true, init: true, optimizer: true },
  cnn: { kind: true, channels: true, hidden: true, init: true, optimizer: true },
  vae: { kind: true, hidden: true, latent: true, init: true, optimizer: true },
  wgan: {
    kind: true,
    arch: true,
    latent: true,
    hidden: true,
    criticSteps: true,
    gpWeight: true,
    init: true,
    generatorOptimizer: true,
    criticOptimizer: true,
  },
  replay: { mode: true, ratio: true, batchSize: true, targets: true, temperature: true },
  adam: { lr: true, beta1: true, beta2: true, epsilon: true },
  // issue 12
  ewc: {
    kind: true,
    lambda: true,
    online: true,
    gamma: true,
    fisherLabels: true,
    fisherExamples: true,
  },
  si: { kind: true, c: true, xi: true },
  lwf: { temperature: true },
} as const satisfies {
  config: Record<keyof ExperimentConfig, true>;
  mlp: Record<keyof MlpSolverConfig, true>;
  cnn: Record<keyof CnnSolverConfig, true>;
  vae: Record<keyof VaeConfig, true>;
  wgan: Record<keyof WganGpConfig, true>;
  replay: Record<keyof ReplayConfig, true>;
  adam: Record<keyof AdamConfig, true>;
  ewc: Record<keyof EwcConfig, true>;
  si: Record<keyof SiConfig, true>;
  lwf: Record<keyof LwfConfig, true>;
};

/** Rejects a setting `obj` does not have (a misspelt key would otherwise be silently ignored). */
function checkKeys(
  obj: Record<string, unknown>,
  known: Readonly<Record<string, true>>,
  path: string,
): void {
  const valid = Object.keys(known);
  for (const key of Object.keys(obj)) {
    if (key in known) continue;
    const where = path === '' ? key : `${path}.${key}`;
    const near = valid
      .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
      .sort((a, b) => a.d - b.d)[0];
    const close = near !== undefined && near.d <= Math.max(2, Math.floor(key.length / 3));
    const hint = close ? `; did you mean ${near.k}?` : '';
    const of = path === '' ? '' : ` of config.${path}`;
    fail(where, `unknown setting${hint} (the settings${of} are: ${valid.join(', ')})`);
  }
}

function posInt(v: unknown, path: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    fail(path, `must be a positive integer, got ${show(v)}`);
}

function checkAdam(a: unknown, path: string): void {
  if (!isPlainObject(a))
    fail(path, 'must be an Adam config {lr, beta1, beta2, epsilon} (use adam(lr))');
  checkKeys(a, KEYS.adam, path);
  const { lr, beta1, beta2, epsilon } = a;
  if (typeof lr !== 'number' || !(lr > 0) || !Number.isFinite(lr))
    fail(`${path}.lr`, `must be a positive number, got ${show(lr)}`);
  for (const [k, v] of [
    ['beta1', beta1],
    ['beta2', beta2],
  ] as const) {
    if (typeof v !== 'number' || !(v >= 0 && v < 1))
      fail(`${path}.${k}`, `must be in [0, 1), got ${show(v)}`);
  }
  if (typeof epsilon !== 'number' || !(epsilon > 0) || !Number.isFinite(epsilon))
    fail(`${path}.epsilon`, `must be a positive number, got ${show(epsilon)}`);
}

function checkInit(v: unknown, path: string): void {
  if (v !== 'torch' && v !== 'glorot') fail(path, `must be 'torch' or 'glorot', got ${show(v)}`);
}

function checkWidths(v: unknown, path: string, allowEmpty: boolean): void {
  if (!Array.isArray(v) || (!allowEmpty && v.length === 0))
    fail(
      path,
      `must be an array of positive integers${allowEmpty ? '' : ' (at least one)'}, got ${show(v)}`,
    );
  v.forEach((w, i) => posInt(w, `${path}[${i}]`));
}

/**
 * `generatorIterations`: absent, or integers in 0..iterations (one, or one per task of
 * `sequence` when given) with a generator to train.
 */
function checkGeneratorIterations(cfg: ExperimentConfig, sequence?: TaskSequence): void {
  const v = cfg.generatorIterations;
  if (v === undefined) return;
  const list: readonly unknown[] = Array.isArray(v) ? v : [v];
  if (Array.isArray(v) && v.length === 0)
    fail('generatorIterations', 'is an empty array; give one number, or one per task');
  list.forEach((n, i) => {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > cfg.iterations)
      fail(
        Array.isArray(v) ? `generatorIterations[${i}]` : 'generatorIterations',
        `must be an integer from 0 to iterations (${show(cfg.iterations)}), got ${show(n)}; ` +
          'leave it out for one generator update per iteration',
      );
  });
  if (cfg.generator === null)
    fail('generatorIterations', `is ${show(v)} but config.generator is null; leave it out`);
  if (Array.isArray(v) && sequence !== undefined && v.length !== sequence.tasks.length)
    fail(
      'generatorIterations',
      `has ${v.length} entries but the sequence has ${sequence.tasks.length} tasks; give one ` +
        'number per task, or a single number for all',
    );
}

/** `solverIterations`: absent, or an integer in 1..iterations. */
function checkSolverIterations(cfg: ExperimentConfig): void {
  const n = cfg.solverIterations;
  if (n === undefined) return;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > cfg.iterations)
    fail(
      'solverIterations',
      `must be an integer from 1 to iterations (${show(cfg.iterations)}), got ${show(n)}; ` +
        'leave it out for one solver update per iteration',
    );
}

/** Solver updates per task: `solverIterations`, or `iterations` when absent. */
export function solverUpdatesPerTask(cfg: ExperimentConfig): number {
  return cfg.solverIterations ?? cfg.iterations;
}

/** Generator updates on task `k` (0-based): `generatorIterations`, or `iterations` when absent. */
export function generatorUpdatesForTask(cfg: ExperimentConfig, k: number): number {
  const v = cfg.generatorIterations;
  if (v === undefined) return cfg.iterations;
  if (typeof v === 'number') return v;
  const n = v[k];
  if (n === undefined)
    throw new ConfigError(
      `config.generatorIterations: has no entry for task ${k + 1} (${v.length} given)`,
    );
  return n;
}

/**
 * Iterations the trainer runs on task `k`: enough for the solver's and the generator's updates,
 * max(solverIterations, generatorIterations of task k) — `iterations` unless both are smaller.
 */
export function taskIterations(cfg: ExperimentConfig, k: number): number {
  const gen = cfg.generator === null ? 0 : generatorUpdatesForTask(cfg, k);
  return Math.max(solverUpdatesPerTask(cfg), gen);
}

/** Where each of the first `numTasks` tasks' training ends, in iterations since the start. */
export function taskEndsOf(cfg: ExperimentConfig, numTasks: number): number[] {
  const ends: number[] = [];
  for (let k = 0, sum = 0; k < numTasks; k++) ends.push((sum += taskIterations(cfg, k)));
  return ends;
}

/** Checks the model/input-shape fit; `inputShape` is the sequence's input shape. */
function checkShapes(cfg: ExperimentConfig, inputShape: readonly number[]): void {
  const shapeStr = `[${inputShape.join(', ')}]`;
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d <= 0))
    fail('inputShape', `the sequence's input shape ${shapeStr} is not a list of positive integers`);
  if (cfg.solver.kind === 'cnn') {
    const [h, w, c] = inputShape;
    const down = 2 ** cfg.solver.channels.length;
    if (
      inputShape.length !== 3 ||
      c === undefined ||
      (h as number) % down !== 0 ||
      (w as number) % down !== 0
    ) {
      fail(
        'solver',
        `a 'cnn' solver needs image inputs [H, W, C] with H and W divisible by ${down}; ` +
          `the sequence has ${shapeStr}. Use solver.kind 'mlp' for flat inputs`,
      );
    }
  }
  const g = cfg.generator;
  if (g !== null && g.kind === 'wgan-gp' && g.arch === 'dcgan') {
    const [h, w, c] = inputShape;
    if (inputShape.length !== 3 || c === undefined || h !== w || (h as number) % 4 !== 0) {
      fail(
        'generator.arch',
        `'dcgan' needs square image inputs [H, H, C] with H divisible by 4 (e.g. [28, 28, 1], ` +
          `[32, 32, 3]); the sequence has ${shapeStr}. Use arch 'mlp'`,
      );
    }
  }
}

/**
 * Throws a {@link ConfigError} naming the first bad field of `cfg` (and, if
 * `sequence` is given, any mismatch between the config and the sequence:
 * scenario, input shapes, task data shapes). Returns `cfg` when valid.
 */
export function validateConfig(cfg: ExperimentConfig, sequence?: TaskSequence): ExperimentConfig {
  if (!isPlainObject(cfg))
    throw new ConfigError(
      'config must be an ExperimentConfig object (start from a preset, e.g. ' +
        'presets.splitMnistGR())',
    );
  checkKeys(cfg, KEYS.config, '');
  if (typeof cfg.seed !== 'number' || !Number.isInteger(cfg.seed))
    fail('seed', `must be an integer, got ${show(cfg.seed)}`);
  if (!SCENARIOS.includes(cfg.scenario))
    fail(
      'scenario',
      `unknown scenario ${show(cfg.scenario)}; ` +
        `use one of ${SCENARIOS.map((s) => `'${s}'`).join(', ')}`,
    );
  posInt(cfg.iterations, 'iterations');
  posInt(cfg.batchSize, 'batchSize');
  checkGeneratorIterations(cfg, sequence);
  checkSolverIterations(cfg);

  const s = cfg.solver as SolverConfig | undefined;
  if (!isPlainObject(s)) fail('solver', 'is required');
  if (s.kind === 'mlp') {
    checkKeys(s, KEYS.mlp, 'solver');
    checkWidths(s.hidden, 'solver.hidden', true);
  } else if (s.kind === 'cnn') {
    checkKeys(s, KEYS.cnn, 'solver');
    checkWidths(s.channels, 'solver.channels', false);
    posInt(s.hidden, 'solver.hidden');
  } else {
    fail(
      'solver.kind',
      `unknown solver ${show((s as { kind: unknown }).kind)}; use 'mlp' or 'cnn'`,
    );
  }
  checkInit(s.init, 'solver.init');
  checkAdam(s.optimizer, 'solver.optimizer');

  const g = cfg.generator as GeneratorConfig | null | undefined;
  if (g === undefined)
    fail('generator', "is required (null for no generator, or {kind: 'vae' | 'wgan-gp', ...})");
  if (g !== null) {
    if (!isPlainObject(g)) fail('generator', 'must be a generator config or null');
    if (g.kind === 'vae') {
      checkKeys(g, KEYS.vae, 'generator');
      checkWidths(g.hidden, 'generator.hidden', false);
      posInt(g.latent, 'generator.latent');
      checkInit(g.init, 'generator.init');
      checkAdam(g.optimizer, 'generator.optimizer');
    } else if (g.kind === 'wgan-gp') {
      checkKeys(g, KEYS.wgan, 'generator');
      if (g.arch !== 'mlp' && g.arch !== 'dcgan')
        fail('generator.arch', `must be 'mlp' or 'dcgan', got ${show(g.arch)}`);
      checkWidths(g.hidden, 'generator.hidden', false);
      if (g.arch === 'dcgan' && g.hidden.length !== 2)
        fail('generator.hidden', `'dcgan' takes two conv widths [c1, c2], got ${show(g.hidden)}`);
      posInt(g.latent, 'generator.latent');
      posInt(g.criticSteps, 'generator.criticSteps');
      if (typeof g.gpWeight !== 'number' || !(g.gpWeight >= 0) || !Number.isFinite(g.gpWeight))
        fail('generator.gpWeight', `must be a non-negative number, got ${show(g.gpWeight)}`);
      checkInit(g.init, 'generator.init');
      checkAdam(g.generatorOptimizer, 'generator.generatorOptimizer');
      checkAdam(g.criticOptimizer, 'generator.criticOptimizer');
    } else {
      fail(
        'generator.kind',
        `unknown generator ${show((g as { kind: unknown }).kind)}; use 'vae', 'wgan-gp' or null`,
      );
    }
  }

  const r = cfg.replay as ReplayConfig | undefined;
  if (!isPlainObject(r)) fail('replay', 'is required');
  checkKeys(r, KEYS.replay, 'replay');
  if (!(REPLAY_MODES as readonly string[]).includes(r.mode))
    fail(
      'replay.mode',
      `unknown replay mode ${show(r.mode)}; ` +
        `use one of ${REPLAY_MODES.map((m) => `'${m}'`).join(', ')}`,
    );
  if (
    r.ratio !== 'inverse-task' &&
    (typeof r.ratio !== 'number' || !(r.ratio >= 0 && r.ratio <= 1))
  ) {
    fail(
      'replay.ratio',
      `r must be a number in [0, 1] or 'inverse-task' (r = 1/t), got ${show(r.ratio)}`,
    );
  }
  posInt(r.batchSize, 'replay.batchSize');
  if (r.targets !== 'hard' && r.targets !== 'soft')
    fail('replay.targets', `must be 'hard' or 'soft', got ${show(r.targets)}`);
  if (typeof r.temperature !== 'number' || !(r.temperature > 0) || !Number.isFinite(r.temperature))
    fail('replay.temperature', `must be a positive number, got ${show(r.temperature)}`);
  if (r.mode === 'generative' && g === null)
    fail(
      'generator',
      'generative replay needs a generator (e.g. presets.splitMnistGR().generator); it is null',
    );
  checkRegularization(cfg); // issue 12

  if (sequence !== undefined) {
    if (sequence.scenario !== cfg.scenario) {
      fail(
        'scenario',
        `is '${cfg.scenario}' but the task sequence '${sequence.name}' was built for ` +
          `'${sequence.scenario}'; build the sequence for '${cfg.scenario}' or ` +
          'change config.scenario',
      );
    }
    checkShapes(cfg, sequence.inputShape);
    if (!Number.isInteger(sequence.numOutputs) || sequence.numOutputs < 2)
      fail('numOutputs', `the sequence has ${sequence.numOutputs} outputs; need at least 2`);
    if (sequence.tasks.length === 0)
      throw new ConfigError(`task sequence '${sequence.name}' has no tasks`);
    const want = sequence.inputShape.join(',');
    for (const t of sequence.tasks) {
      for (const split of ['train', 'test'] as const) {
        const d = t[split];
        const got = d.x.shape.slice(1).join(',');
        if (got !== want) {
          throw new ConfigError(
            `task ${t.index} (${t.name}) ${split}.x has example shape [${got}] but the ` +
              `sequence's inputShape is [${want}]; the models are built for [${want}]`,
          );
        }
        if (d.y.shape[0] !== d.x.shape[0])
          throw new ConfigError(
            `task ${t.index} (${t.name}) ${split}: ` +
              `${d.x.shape[0]} inputs but ${d.y.shape[0]} labels`,
          );
      }
      if (t.train.count < 1)
        throw new ConfigError(`task ${t.index} (${t.name}) has no training examples`);
      const badClass = t.classes.find(
        (c) => !Number.isInteger(c) || c < 0 || c >= sequence.numOutputs,
      );
      if (badClass !== undefined)
        throw new ConfigError(
          `task ${t.index} (${t.name}) uses output ${badClass}, ` +
            `outside 0..${sequence.numOutputs - 1}`,
        );
    }
  }
  return cfg;
}

// ------------------------------------------------------------------------------------------------
// BEGIN regularisation and LwF (issue 12): EWC, online EWC, SI and LwF as options of the same
// sequential trainer. Types, presets and validation of the two optional fields
// `ExperimentConfig.regularizer` and `ExperimentConfig.lwf`; the methods are in regularizers.ts.

/**
 * Which labels the diagonal Fisher F_i = E[(∂ log p(y|x, θ)/∂θ_i)²] is estimated with:
 * - `sampled`: y drawn from the model's own softmax (the true Fisher, Kirkpatrick et al. 2017);
 * - `empirical`: the true labels of the task's training data (the "empirical Fisher");
 * - `predicted`: the model's argmax (van de Ven & Tolias 2019's code, `emp_FI=False`).
 * One example at a time (squared per-example gradients, averaged), on the task's logit mask.
 */
export const FISHER_LABELS = ['sampled', 'empirical', 'predicted'] as const;
export type FisherLabels = (typeof FISHER_LABELS)[number];

/**
 * Elastic weight consolidation (Kirkpatrick et al. 2017), diagonal Fisher. After task k the
 * solver's loss gains (λ/2)·Σ_i F_k,i·(θ_i − θ*_k,i)², θ*_k the parameters after task k:
 * - `online: false`: one such term per finished task (Kirkpatrick et al.);
 * - `online: true`: online EWC (Schwarz et al. 2018, "Progress & Compress"): one running
 *   F̃_k = γ·F̃_{k−1} + F_k anchored at the latest θ*_k, penalty (λ/2)·Σ_i γ·F̃_k,i·(θ_i − θ*_k,i)²
 *   (γ both in the recursion and in the penalty, as Schwarz et al. and van de Ven's code).
 */
export interface EwcConfig {
  readonly kind: 'ewc';
  /** λ, the penalty weight (> 0). */
  readonly lambda: number;
  readonly online: boolean;
  /** γ in (0, 1], the decay of older tasks' Fisher (online EWC only; 1 = no decay). */
  readonly gamma: number;
  readonly fisherLabels: FisherLabels;
  /** Training examples of the task the Fisher is averaged over (seeded subset), or all. */
  readonly fisherExamples: number | 'all';
}

/**
 * Synaptic intelligence (Zenke et al. 2017). During task k each parameter accumulates
 * ω_i = −Σ_steps g_i·Δθ_i (g the gradient of the data loss, Δθ the optimiser's update); at the
 * task's end Ω_i += ω_i / ((θ_i(end) − θ_i(start))² + ξ). The loss of later tasks gains
 * c·Σ_i Ω_i·(θ_i − θ*_i)², θ* the parameters at the end of the previous task.
 */
export interface SiConfig {
  readonly kind: 'si';
  /** c, the surrogate-loss weight (> 0). */
  readonly c: number;
  /** ξ, the damping of the normaliser (> 0; van de Ven: 0.1). */
  readonly xi: number;
}

export type RegularizerConfig = EwcConfig | SiConfig;

/**
 * Learning without Forgetting (Li & Hoiem 2017): the current batch's inputs are labelled by the
 * previous solver's softmax at temperature T and distilled (× T²) alongside the real labels:
 * loss = r·L(S(x), y) + (1−r)·T²·H(softmax(S_prev(x)/T), softmax(S(x)/T)), r = config.replay.ratio
 * (van de Ven & Tolias 2019's "LwF": `--replay=current --distill`, T = 2, r = 1/t). With replay
 * (e.g. generative, Shin et al. §4.2 "LwF + GR") the (1−r) share is split equally between the
 * LwF rows and the replayed rows.
 */
export interface LwfConfig {
  /** Distillation temperature T (> 0; van de Ven: 2). */
  readonly temperature: number;
}

/** The regularisation methods the presets know. */
export const REGULARIZATION_METHODS = ['ewc', 'online-ewc', 'si'] as const;
export type RegularizationMethod = (typeof REGULARIZATION_METHODS)[number];

/**
 * van de Ven & Tolias (2019), "Three scenarios for continual learning": the hyperparameters
 * their code selects per experiment and scenario, from GMvandeVen/continual-learning
 * `param_values.py` at commit f0b1461 (Dec 2019; unchanged up to a02db26, the last commit before
 * the 2022 rewrite, whose values are for another paper). λ of EWC (`ewc_lambda`), λ and γ of
 * online EWC (`o_lambda`, `gamma`), c of SI (`si_c`); ξ = 0.1 (`--epsilon` default), Fisher on
 * all training examples of the task (`fisher_n` None) with predicted labels (`emp_FI` False),
 * LwF T = 2 (`--temp` default). Their permuted MNIST used a 2×1000 MLP, lr 1e-4, 5000
 * iterations: the values are theirs, not re-tuned for this course's permuted setup.
 */
export const VAN_DE_VEN_2019 = Object.freeze({
  source: 'GMvandeVen/continual-learning param_values.py @ f0b1461 (van de Ven & Tolias 2019)',
  splitMNIST: Object.freeze({
    task: Object.freeze({ ewc: 1e7, onlineEwc: 1e8, gamma: 0.8, si: 50 }),
    domain: Object.freeze({ ewc: 1e6, onlineEwc: 1e8, gamma: 0.7, si: 500 }),
    class: Object.freeze({ ewc: 1e8, onlineEwc: 1e9, gamma: 0.8, si: 0.5 }),
  }),
  permMNIST: Object.freeze({
    task: Object.freeze({ ewc: 500, onlineEwc: 500, gamma: 0.8, si: 5 }),
    domain: Object.freeze({ ewc: 500, onlineEwc: 1000, gamma: 0.9, si: 5 }),
    class: Object.freeze({ ewc: 1, onlineEwc: 5, gamma: 1, si: 0.1 }),
  }),
  siXi: 0.1,
  lwfTemperature: 2,
});

/** The regulariser `method` with van de Ven & Tolias (2019)'s values for experiment/scenario. */
function regularizer(
  method: RegularizationMethod,
  experiment: 'splitMNIST' | 'permMNIST' = 'splitMNIST',
  scenario: Scenario = 'class',
): RegularizerConfig {
  const v = VAN_DE_VEN_2019[experiment][scenario];
  if (method === 'si') return deepFreeze({ kind: 'si', c: v.si, xi: VAN_DE_VEN_2019.siXi });
  const online = method === 'online-ewc';
  return deepFreeze({
    kind: 'ewc',
    lambda: online ? v.onlineEwc : v.ewc,
    online,
    gamma: online ? v.gamma : 1,
    fisherLabels: 'predicted',
    fisherExamples: 'all',
  } satisfies EwcConfig);
}

/**
 * Split MNIST with EWC, online EWC or SI and no replay, van de Ven & Tolias (2019)'s values;
 * with `replay` 'generative' the same penalty on top of DGR (the split-MNIST GR preset).
 */
function splitMnistRegularized(
  method: RegularizationMethod,
  scenario: Scenario = 'class',
  replay: 'none' | 'generative' = 'none',
): ExperimentConfig {
  return deepFreeze({
    ...splitMnist(replay, scenario),
    regularizer: regularizer(method, 'splitMNIST', scenario),
  });
}

/** Split MNIST with LwF (T = 2, r = 1/t as van de Ven & Tolias 2019); optionally with DGR. */
function splitMnistLwf(
  scenario: Scenario = 'class',
  replay: 'none' | 'generative' = 'none',
): ExperimentConfig {
  const lwf = { temperature: VAN_DE_VEN_2019.lwfTemperature };
  return deepFreeze({ ...splitMnist(replay, scenario), lwf });
}

/**
 * The two-domain experiment of Shin et al. §4.2 (32×32×3 inputs, domain-IL, the CNN solver of
 * svhnMnistDGR) with LwF (T = 2 as van de Ven & Tolias 2019): `replay` 'none' = LwF alone, no
 * generator; 'generative' = LwF + generative replay with the preset's DCGAN WGAN-GP, the
 * combination the paper calls compatible (§4.2).
 */
function svhnMnistLwf(replay: 'none' | 'generative' = 'none'): ExperimentConfig {
  const base = svhnMnistDGR();
  const lwf = { temperature: VAN_DE_VEN_2019.lwfTemperature };
  return deepFreeze({
    ...base,
    generator: replay === 'generative' ? base.generator : null,
    replay: { ...base.replay, mode: replay },
    lwf,
  });
}

/** Permuted MNIST (domain-IL) with EWC, online EWC or SI and no replay (van de Ven's values). */
function permutedMnistRegularized(
  method: RegularizationMethod,
  scenario: Scenario = 'domain',
): ExperimentConfig {
  const base = permutedMnistDGR();
  return deepFreeze({
    ...base,
    scenario,
    generator: null,
    replay: { ...base.replay, mode: 'none' },
    regularizer: regularizer(method, 'permMNIST', scenario),
  });
}

function positive(v: unknown, path: string): void {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
    fail(path, `must be a positive number, got ${JSON.stringify(v)}`);
  }
}

/** Validates `cfg.regularizer` and `cfg.lwf` (called by validateConfig). */
function checkRegularization(cfg: ExperimentConfig): void {
  const reg = cfg.regularizer;
  if (reg !== undefined && reg !== null) {
    if (!isPlainObject(reg))
      fail('regularizer', "must be {kind: 'ewc', ...}, {kind: 'si', ...} or null");
    if (reg.kind === 'ewc') {
      checkKeys(reg, KEYS.ewc, 'regularizer');
      positive(reg.lambda, 'regularizer.lambda');
      if (typeof reg.online !== 'boolean')
        fail(
          'regularizer.online',
          `must be true (online EWC) or false, got ${JSON.stringify(reg.online)}`,
        );
      if (typeof reg.gamma !== 'number' || !(reg.gamma > 0 && reg.gamma <= 1)) {
        fail('regularizer.gamma', `γ must be in (0, 1], got ${JSON.stringify(reg.gamma)}`);
      }
      if (!(FISHER_LABELS as readonly string[]).includes(reg.fisherLabels)) {
        const ok = FISHER_LABELS.map((m) => `'${m}'`).join(', ');
        fail(
          'regularizer.fisherLabels',
          `unknown ${JSON.stringify(reg.fisherLabels)}; use one of ${ok}`,
        );
      }
      if (reg.fisherExamples !== 'all') posInt(reg.fisherExamples, 'regularizer.fisherExamples');
    } else if (reg.kind === 'si') {
      checkKeys(reg, KEYS.si, 'regularizer');
      positive(reg.c, 'regularizer.c');
      positive(reg.xi, 'regularizer.xi');
    } else {
      const kind = JSON.stringify((reg as { kind: unknown }).kind);
      fail(
        'regularizer.kind',
        `unknown regulariser ${kind}; use 'ewc' (online: true for online EWC), 'si' or null`,
      );
    }
  }
  const lwf = cfg.lwf;
  if (lwf !== undefined && lwf !== null) {
    if (!isPlainObject(lwf)) fail('lwf', 'must be {temperature} or null');
    checkKeys(lwf, KEYS.lwf, 'lwf');
    positive(lwf.temperature, 'lwf.temperature');
  }
}
// END regularisation and LwF (issue 12)
// ------------------------------------------------------------------------------------------------
