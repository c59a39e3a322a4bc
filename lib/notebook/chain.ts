/**
 * Notebook 04 (Shin et al. 2017, §3.2 and Table 1): a chain of scholars. Scholar 1 learns MNIST
 * from real data; scholar k (k ≥ 2) is trained from scratch ONLY on the generative replay of
 * scholar k−1: its generator on x' ~ G_{k−1}, its solver on x' with the targets S_{k−1}(x') —
 * hard labels (argmax, as the paper's experiments label replay) or soft targets (softmax at a
 * temperature T, loss × T²: the paper's literal target S(x'; θ_{i−1}) of §3.1). Several solver
 * chains (hard, soft) can share one generator chain. No real data reaches scholar k.
 * A chain can be checkpointed after each generation and resumed. Also: measures of how real-like
 * a generation's samples are (a judge classifier's confidence and class shares, and a Fréchet
 * distance between judge logits of samples and of real images).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor2D } from '@tensorflow/tfjs-node';
import type { Classifier, TaskSequence } from '../engine/types';
import type { ExperimentConfig, GeneratorConfig } from '../engine/config';
import { validateConfig } from '../engine/config';
import { buildSolver, createSolverTrainer, snapshotSolver } from '../engine/solvers';
import type { Solver, SolverTrainer } from '../engine/solvers';
import { buildGenerator, createGeneratorTrainer, createWganGpTrainer } from '../engine/generators';
import { snapshotGenerator } from '../engine/generators';
import type { Generator, GeneratorLosses, GeneratorTrainer } from '../engine/generators';
import type { WganGpTrainer } from '../engine/generators';
import { Scholar, createScholar } from '../engine/scholar';
import { deriveSeed } from '../rng';
import { createProgress, type ProgressReporter } from '../engine/progress';
import { disposeBatch, labelWithSolver, mixedLossWeights, planTask } from '../engine/replay';
import type { TaskPlan } from '../engine/replay';
import { evaluate } from '../engine/eval';
import { writeFileAtomic } from '../fsutil';
import { openChainCheckpoint, type RestoredGeneration } from './chain-checkpoint';
import { classifySamples } from './gan';
import type { PlotlyFigure, PlotlyTrace } from '../figures/types';

/**
 * How a solver chain labels replayed inputs x′: `hard`, the one-hot of argmax S_{k−1}(x′) (the
 * paper's experiments); `soft`, softmax(S_{k−1}(x′) / T) with the loss × T² (the target
 * S(x′; θ_{i−1}) of §3.1, as distillation, Hinton et al. 2015). T is config.replay.temperature.
 */
export const CHAIN_TARGETS = ['hard', 'soft'] as const;
export type ChainTargets = (typeof CHAIN_TARGETS)[number];

/** Progress lines (default: every 10 s, or a live display in a notebook); false = silent. */
export type ChainProgress =
  false | { readonly everySeconds?: number; readonly write?: (line: string) => void };

export interface ChainOptions {
  /** Number of scholars (≥ 1). */
  readonly generations: number;
  /**
   * Generator training steps per generation (default config.iterations), each on
   * config.batchSize inputs. WGAN-GP: a step is `criticSteps` critic updates and one generator
   * update.
   */
  readonly generatorIterations?: number;
  /** Solver training steps per generation (default config.iterations), batch config.batchSize. */
  readonly solverIterations?: number;
  /** One solver chain per entry, all sharing one generator chain (default ['hard']). */
  readonly targets?: readonly ChainTargets[];
  /**
   * WGAN-GP: a fresh batch (real images at generation 1, replayed ones after) for every critic
   * update, as in Gulrajani et al. (2017, Algorithm 1); false: one batch for all critic updates
   * of a step, as the engine's trainSequence does. Default true; a VAE ignores it.
   */
  readonly freshCriticBatches?: boolean;
  /**
   * A folder for checkpoints: after each generation the chain so far is saved there, and a later
   * call with the same config, sequence and chain settings restores the finished generations
   * instead of training them (a different run's checkpoint is refused). Absent or null: none.
   */
  readonly checkpointDir?: string | null;
  /** Return after this generation (restored or trained), e.g. to split a long run or in tests. */
  readonly stopAfterGeneration?: number;
  readonly progress?: ChainProgress;
  /** Called after each generation is trained or restored (e.g. to print its accuracy). */
  readonly onGeneration?: (g: ChainGeneration) => void | Promise<void>;
}

/** The chain settings that change its results (recorded in, and checked against, checkpoints). */
export interface ChainSettings {
  readonly generatorIterations: number;
  readonly solverIterations: number;
  readonly targets: readonly ChainTargets[];
  readonly freshCriticBatches: boolean;
}

/** One scholar of a solver chain. */
export interface ChainScholar {
  readonly targets: ChainTargets;
  /**
   * ⟨G_k, S_k⟩, frozen. It shares G_k (and at generation 1, S_1) with the generation's other
   * scholars: free the whole chain with {@link disposeChain}, never one scholar.
   */
  readonly scholar: Scholar;
  /** Test accuracy of S_k on the sequence's task. */
  readonly accuracy: number;
}

/** One generation of the chain. */
export interface ChainGeneration {
  /** 1-based: generation 1 learned from real data, generation k from generation k−1's replay. */
  readonly generation: number;
  readonly source: 'real data' | 'generative replay';
  /** One per solver chain, in the order of the targets option; at generation 1 all share S_1. */
  readonly scholars: readonly ChainScholar[];
  /** Seconds of training (when restored: those of the run that trained it). */
  readonly seconds: { readonly generator: number; readonly solvers: number };
  /** True when restored from the checkpoint instead of trained by this call. */
  readonly restored: boolean;
}

const fail = (what: string, problem: string): never => {
  throw new RangeError(`runScholarChain: ${what} ${problem}`);
};

function positiveInt(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    fail(what, `must be a positive integer, got ${String(v)}`);
  return v as number;
}

/** The validated chain settings of `opts` (defaults filled in), frozen. */
export function chainSettings(config: ExperimentConfig, opts: ChainOptions): ChainSettings {
  const targets = opts.targets ?? ['hard'];
  const valid =
    Array.isArray(targets) &&
    targets.length > 0 &&
    new Set(targets).size === targets.length &&
    targets.every((t) => (CHAIN_TARGETS as readonly unknown[]).includes(t));
  if (!valid)
    fail(
      'options.targets',
      `must be a non-empty list of distinct ${CHAIN_TARGETS.map((t) => `'${t}'`).join(', ')}, ` +
        `got ${JSON.stringify(targets)}`,
    );
  const fresh = opts.freshCriticBatches ?? true;
  if (typeof fresh !== 'boolean')
    fail('options.freshCriticBatches', `must be true or false, got ${String(fresh)}`);
  return Object.freeze({
    generatorIterations: positiveInt(
      'options.generatorIterations',
      opts.generatorIterations ?? config.iterations,
    ),
    solverIterations: positiveInt(
      'options.solverIterations',
      opts.solverIterations ?? config.iterations,
    ),
    targets: Object.freeze([...targets]),
    freshCriticBatches: fresh,
  });
}

/** The scholar of the solver chain with `targets` in generation `g`. */
export function chainScholar(g: ChainGeneration, targets: ChainTargets): ChainScholar {
  const s = g.scholars.find((c) => c.targets === targets);
  if (s === undefined)
    throw new RangeError(
      `chainScholar: generation ${g.generation} has no '${targets}' chain; it has ` +
        g.scholars.map((c) => `'${c.targets}'`).join(', '),
    );
  return s;
}

/** What a generation is trained with. */
interface ChainContext {
  readonly sequence: TaskSequence;
  readonly config: ExperimentConfig;
  readonly generator: GeneratorConfig;
  readonly settings: ChainSettings;
  readonly progress: ChainProgress;
}

/**
 * The validated context of a chain's training: `config` checked against `sequence`, the chain
 * settings of `opts`; `noGenerator` is the error when `config` has no generator.
 */
function chainContext(
  sequence: TaskSequence,
  config: ExperimentConfig,
  opts: ChainOptions,
  noGenerator: string,
): ChainContext {
  const generator = config.generator;
  if (generator === null) throw new Error(noGenerator);
  validateConfig(config, sequence);
  const settings = chainSettings(config, opts);
  return { sequence, config, generator, settings, progress: opts.progress ?? {} };
}

function progressFor(ctx: ChainContext, total: number, label: string): ProgressReporter | null {
  return ctx.progress === false ? null : createProgress({ total, label, ...ctx.progress });
}

/** Reads and frees a step's loss scalars. */
async function readScalars(
  losses: Readonly<Record<string, Scalar>>,
): Promise<Record<string, number>> {
  try {
    const out: Record<string, number> = {};
    for (const [name, l] of Object.entries(losses)) out[name] = (await l.data())[0] ?? Number.NaN;
    return out;
  } finally {
    tf.dispose(Object.values(losses));
  }
}

/**
 * One generator step on n-row batches from `draw(seed)`. With `wgan` (fresh critic batches): the
 * critic updates `criticSteps` times, each on a new batch, then the generator once (Gulrajani et
 * al. 2017, Algorithm 1). Otherwise the trainer's own step on one batch.
 */
function generatorStep(
  trainer: GeneratorTrainer,
  wgan: WganGpTrainer | null,
  draw: (seed: number) => Tensor,
  n: number,
  seed: number,
  needLoss: boolean,
): GeneratorLosses {
  const config = trainer.generator.config;
  if (wgan === null || config.kind !== 'wgan-gp') {
    const x = draw(deriveSeed(seed, 'batch'));
    try {
      return trainer.step(x, null, seed, needLoss);
    } finally {
      x.dispose();
    }
  }
  let critic: GeneratorLosses = {};
  for (let c = 0; c < config.criticSteps; c++) {
    tf.dispose(Object.values(critic));
    const x = draw(deriveSeed(seed, 'batch', c));
    try {
      critic = wgan.criticStep(x, null, deriveSeed(seed, 'critic', c));
    } finally {
      x.dispose();
    }
  }
  return { ...critic, ...wgan.generatorStep(n, deriveSeed(seed, 'generator')) };
}

/**
 * Trains generation g's generator from scratch: on real training inputs (g = 1, the engine's
 * batches of planTask) or on x′ ~ G_{g−1} (`teacher`). Returns a frozen snapshot.
 */
async function trainChainGenerator(
  ctx: ChainContext,
  g: number,
  teacher: Generator | null,
): Promise<{ generator: Generator; seconds: number }> {
  const { config, sequence } = ctx;
  const t0 = performance.now();
  const B = config.batchSize;
  const live = buildGenerator(
    ctx.generator,
    sequence.inputShape,
    deriveSeed(config.seed, 'chain-generator', g),
  );
  const fresh = ctx.generator.kind === 'wgan-gp' && ctx.settings.freshCriticBatches;
  let trainer: GeneratorTrainer | null = null;
  let real: TaskPlan | null = null;
  try {
    const wgan = fresh ? createWganGpTrainer(live) : null;
    trainer = wgan ?? createGeneratorTrainer(live);
    // Real batches come from the plan's own seeded sampler; replayed ones from `seed`.
    const plan = teacher === null ? planTask(config, sequence, 0, null, false) : null;
    real = plan;
    const draw = (seed: number): Tensor => {
      if (plan === null) return (teacher as Generator).sample(B, seed);
      const batch = plan.build(0);
      batch.solver.targets.dispose();
      return batch.solver.x;
    };
    const N = ctx.settings.generatorIterations;
    const from = g === 1 ? 'real data' : `replay of scholar ${g - 1}`;
    const progress = progressFor(ctx, N, `scholar ${g} generator (${from})`);
    for (let it = 1; it <= N; it++) {
      const due = progress !== null && progress.due(it);
      const seed = deriveSeed(config.seed, 'chain-generator-step', g, it);
      const losses = generatorStep(trainer, wgan, draw, B, seed, due);
      if (progress !== null && due) progress.report(it, await readScalars(losses));
      else tf.dispose(Object.values(losses));
    }
    return { generator: snapshotGenerator(live), seconds: (performance.now() - t0) / 1000 };
  } finally {
    trainer?.dispose();
    real?.dispose();
    live.dispose();
  }
}

/**
 * Trains generation g's solvers from scratch, all from the same initial weights. g = 1: one
 * solver on real (x, y) (the engine's planTask batches). g ≥ 2: one solver per chain of
 * `teacher`, each on the same x′ ~ G_{g−1} with the targets of its own teacher S_{g−1}: the loss of
 * §3.1 with r = 0 (mixedLossWeights: 1/B per row, × T² for soft targets). Returns frozen snapshots.
 */
async function trainChainSolvers(
  ctx: ChainContext,
  g: number,
  teacher: ChainGeneration | null,
): Promise<{ solvers: Solver[]; seconds: number }> {
  const { config, sequence } = ctx;
  const t0 = performance.now();
  const B = config.batchSize;
  const T = config.replay.temperature;
  const teachers = teacher?.scholars ?? [];
  const n = teacher === null ? 1 : teachers.length;
  const keep: Tensor[] = [];
  const trainers: SolverTrainer[] = [];
  const real = teacher === null ? planTask(config, sequence, 0, null, false) : null;
  const N = ctx.settings.solverIterations;
  const what =
    teacher === null
      ? 'real data'
      : `${teachers.map((t) => t.targets).join(' and ')} targets from scholar ${g - 1}`;
  try {
    for (let v = 0; v < n; v++) {
      const seed = deriveSeed(config.seed, 'chain-solver', g);
      const solver = buildSolver(config.solver, sequence.inputShape, sequence.numOutputs, seed);
      try {
        trainers.push(createSolverTrainer(solver));
      } catch (err) {
        solver.dispose();
        throw err;
      }
    }
    // The replayed rows' weights and inverse temperatures, per solver chain.
    const rows = teachers.map(({ targets, scholar }) => {
      const soft = targets === 'soft';
      const weights = tf.tensor1d(mixedLossWeights(0, 0, B, soft ? T : null));
      const invTemperature = soft ? (tf.fill([B, 1], 1 / T) as Tensor2D) : null;
      keep.push(weights, ...(invTemperature === null ? [] : [invTemperature]));
      return { soft, weights, invTemperature, labeller: scholar.solver };
    });
    const G = teachers[0]?.scholar.generator ?? null;
    const progress = progressFor(ctx, N, `scholar ${g} solver${n > 1 ? 's' : ''} (${what})`);
    for (let it = 1; it <= N; it++) {
      const due = progress !== null && progress.due(it);
      const losses: Record<string, Scalar> = {};
      const keepLoss = (name: string, l: Scalar | null): void => {
        if (l !== null) losses[name] = l;
      };
      if (real !== null) {
        const batch = real.build(it);
        try {
          keepLoss('solver', (trainers[0] as SolverTrainer).step(batch.solver, due));
        } finally {
          disposeBatch(batch);
        }
      } else {
        const x = (G as Generator).sample(B, deriveSeed(config.seed, 'chain-replay', g, it));
        try {
          rows.forEach((r, v) => {
            const targets = tf.tidy(() => labelWithSolver(r.labeller, x, null, r.soft ? T : null));
            const { weights, invTemperature } = r;
            try {
              const step = (trainers[v] as SolverTrainer).step(
                { x, targets, weights, mask: null, invTemperature },
                due,
              );
              keepLoss(`solver ${(teachers[v] as ChainScholar).targets}`, step);
            } finally {
              targets.dispose();
            }
          });
        } finally {
          x.dispose();
        }
      }
      if (progress !== null && due) progress.report(it, await readScalars(losses));
      else tf.dispose(Object.values(losses));
    }
    return {
      solvers: trainers.map((t) => snapshotSolver(t.solver)),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    tf.dispose(keep);
    real?.dispose();
    for (const t of trainers) {
      t.dispose();
      t.solver.dispose();
    }
  }
}

/** Trains generation g (g = 1 from real data, else from `teacher`'s replay); frozen result. */
async function trainGeneration(
  ctx: ChainContext,
  g: number,
  teacher: ChainGeneration | null,
): Promise<ChainGeneration> {
  const G = teacher?.scholars[0]?.scholar.generator ?? null;
  const gen = await trainChainGenerator(ctx, g, G);
  try {
    const sol = await trainChainSolvers(ctx, g, teacher);
    return await chainGeneration(
      ctx.sequence,
      g,
      gen.generator,
      ctx.settings.targets.map((_, v) => (sol.solvers[v] ?? sol.solvers[0]) as Solver),
      ctx.settings.targets,
      { generator: gen.seconds, solvers: sol.seconds },
      false,
    );
  } catch (err) {
    gen.generator.dispose();
    throw err;
  }
}

/**
 * A generation from its frozen generator and one frozen solver per chain (in the order of
 * `targets`; the same solver may serve several chains), with each solver's test accuracy.
 */
async function chainGeneration(
  sequence: TaskSequence,
  g: number,
  generator: Generator,
  solvers: readonly Solver[],
  targets: readonly ChainTargets[],
  seconds: ChainGeneration['seconds'],
  restored: boolean,
): Promise<ChainGeneration> {
  const accuracy = new Map<Solver, number>();
  for (const s of solvers)
    if (!accuracy.has(s)) accuracy.set(s, (await evaluate(s, sequence))[0] as number);
  return Object.freeze({
    generation: g,
    source: g === 1 ? 'real data' : 'generative replay',
    scholars: Object.freeze(
      solvers.map((s, v) =>
        Object.freeze({
          targets: targets[v] as ChainTargets,
          scholar: createScholar(generator, s),
          accuracy: accuracy.get(s) as number,
        }),
      ),
    ),
    seconds: Object.freeze({ ...seconds }),
    restored,
  });
}

/**
 * The chain of Shin et al. §3.2: scholar 1 trained on the single task of `sequence` (real data),
 * then scholars 2..generations, each from scratch on the previous one's replay only, with the
 * models of `config` and the budgets and solver chains of `opts` ({@link ChainOptions}). With
 * `checkpointDir`, finished generations are saved and, on a later call, restored. Returns frozen
 * generations in order; the caller frees them with {@link disposeChain}.
 */
export async function runScholarChain(
  sequence: TaskSequence,
  config: ExperimentConfig,
  opts: ChainOptions,
): Promise<ChainGeneration[]> {
  const generations = positiveInt('options.generations', opts.generations);
  const stop = opts.stopAfterGeneration ?? generations;
  if (!Number.isInteger(stop) || stop < 1 || stop > generations)
    fail('options.stopAfterGeneration', `must be an integer in 1..${generations}, got ${stop}`);
  if (sequence.tasks.length !== 1)
    fail(
      'sequence',
      'must hold exactly one task (all of MNIST, e.g. splitMnist with classesPerTask 10); ' +
        `it has ${sequence.tasks.length}`,
    );
  const ctx = chainContext(
    sequence,
    config,
    opts,
    'runScholarChain: config.generator is null; every scholar needs a generator',
  );
  const { settings } = ctx;
  const ck =
    opts.checkpointDir === undefined || opts.checkpointDir === null
      ? null
      : openChainCheckpoint(opts.checkpointDir, config, sequence, settings);
  const chain: ChainGeneration[] = [];
  let ok = false;
  try {
    const restored = ck === null ? [] : await ck.restore(stop);
    try {
      while (restored.length > 0) {
        const { generation, generator: G, solvers, seconds } = restored[0] as RestoredGeneration;
        const g = await chainGeneration(
          sequence,
          generation,
          G,
          solvers,
          settings.targets,
          seconds,
          true,
        );
        chain.push(g);
        restored.shift();
        await opts.onGeneration?.(g);
      }
    } finally {
      // What could not join the chain (an evaluation failed) is freed here.
      for (const m of new Set(restored.flatMap((r) => [r.generator, ...r.solvers]))) m.dispose();
    }
    for (let g = chain.length + 1; g <= stop; g++) {
      const next = await trainGeneration(ctx, g, chain[g - 2] ?? null);
      chain.push(next);
      if (ck !== null) await ck.save(chain);
      await opts.onGeneration?.(next);
    }
    ok = true;
    return chain;
  } finally {
    if (!ok) disposeChain(chain);
  }
}

/** Frees every generator and solver of a chain (each once, though scholars share them). */
export function disposeChain(chain: readonly ChainGeneration[]): void {
  const models = new Set<{ dispose(): void }>();
  for (const g of chain)
    for (const { scholar } of g.scholars) {
      if (scholar.generator !== null) models.add(scholar.generator);
      models.add(scholar.solver);
    }
  for (const m of models) m.dispose();
}

/** Test accuracy of each generation's scholar in the solver chain `targets`. */
export function chainAccuracy(chain: readonly ChainGeneration[], targets: ChainTargets): number[] {
  return chain.map((g) => chainScholar(g, targets).accuracy);
}

/** A solver chain trained again on a finished chain's generators ({@link rerunSolverChains}). */
export interface SolverChainRerun {
  readonly targets: ChainTargets;
  readonly solverIterations: number;
  /** Test accuracy per generation; generation 1 is the finished chain's S_1 (real data). */
  readonly accuracy: readonly number[];
  /**
   * Training seconds per generation, of all the rerun's solver chains together (they train in one
   * loop on the same x′); 0 for generation 1, which is reused.
   */
  readonly seconds: readonly number[];
  /** True when read back from the record a finished rerun left in `checkpointDir`. */
  readonly restored: boolean;
}

const RERUN_KIND = 'dgr-solver-rerun';

/** What a finished rerun leaves in the chain's checkpoint folder. */
interface RerunRecord {
  readonly kind: typeof RERUN_KIND;
  /** The chain it was trained on: its first solver chain's accuracy per generation. */
  readonly chain: readonly number[];
  readonly reruns: readonly Omit<SolverChainRerun, 'restored'>[];
}

function rerunFile(dir: string, settings: ChainSettings): string {
  const name = `solver-rerun-${settings.solverIterations}-${settings.targets.join('+')}.json`;
  return path.join(dir, name);
}

/** The rerun recorded in `file` for `chain`, or null when there is none. */
function readRerun(file: string, chain: readonly number[]): SolverChainRerun[] | null {
  if (!fs.existsSync(file)) return null;
  const bad = (problem: string): never => {
    throw new Error(`rerunSolverChains: ${file} ${problem}; delete it to train the rerun again`);
  };
  let rec: RerunRecord;
  try {
    rec = JSON.parse(fs.readFileSync(file, 'utf8')) as RerunRecord;
  } catch (err) {
    return bad(`is not readable JSON (${(err as Error).message})`);
  }
  const numbers = (xs: unknown): boolean =>
    Array.isArray(xs) && xs.length === chain.length && xs.every((x) => Number.isFinite(x));
  if (rec?.kind !== RERUN_KIND || !Array.isArray(rec.reruns) || !numbers(rec.chain))
    return bad('is not a solver-rerun record of this chain');
  if (rec.chain.some((a, k) => a !== chain[k]))
    return bad(
      "belongs to another chain (its scholars' accuracies differ: pass the chain's own " +
        'checkpoint folder)',
    );
  for (const r of rec.reruns)
    if (!numbers(r.accuracy) || !numbers(r.seconds))
      bad('has a rerun without one number per generation');
  return rec.reruns.map((r) => Object.freeze({ ...r, restored: true }));
}

/**
 * The solver chains of `targets` trained again, from scratch, with `solverIterations` steps per
 * scholar, on the generators G_1 … G_{n−1} of the finished `chain` and from its scholar 1 (trained
 * on real data). The generator chain does not depend on the solvers, so this measures what a
 * larger solver budget changes without training the generators again. The seeds are those of
 * {@link runScholarChain}: at the chain's own budget the accuracies are the chain's. `chain` is
 * not changed or freed; the new solvers are freed before this returns. With `checkpointDir`, a
 * finished rerun is kept and read back (an interrupted one trains again from its first student).
 */
export async function rerunSolverChains(
  sequence: TaskSequence,
  config: ExperimentConfig,
  chain: readonly ChainGeneration[],
  opts: {
    readonly solverIterations: number;
    readonly targets?: readonly ChainTargets[];
    readonly progress?: ChainProgress;
    /**
     * The chain's own checkpoint folder: a finished rerun's numbers are kept there and read back
     * by a later call with the same budget and targets. Absent or null: nothing is kept.
     */
    readonly checkpointDir?: string | null;
  },
): Promise<SolverChainRerun[]> {
  const first = chain[0];
  if (first === undefined || first.generation !== 1)
    fail('chain', 'must start with generation 1 (the scholar that learned from real data)');
  const ctx = chainContext(
    sequence,
    config,
    { ...opts, generations: chain.length, generatorIterations: 1 },
    'rerunSolverChains: config.generator is null; the chain needs its generators',
  );
  const { settings } = ctx;
  const { targets } = settings;
  const chainRecord = chain.map((g) => g.scholars[0]?.accuracy ?? Number.NaN);
  const file =
    opts.checkpointDir === undefined || opts.checkpointDir === null
      ? null
      : rerunFile(opts.checkpointDir, settings);
  const kept = file === null ? null : readRerun(file, chainRecord);
  if (kept !== null) return kept;
  const s1 = (first as ChainGeneration).scholars[0] as ChainScholar;
  const G = (g: ChainGeneration): Generator => g.scholars[0]?.scholar.generator as Generator;
  // The rerun's own solvers (generation 1's S_1 and every generator belong to `chain`).
  const freeStudents = (g: ChainGeneration): void => {
    if (g.generation > 1) for (const c of g.scholars) c.scholar.solver.dispose();
  };
  let teacher = await chainGeneration(
    sequence,
    1,
    G(first as ChainGeneration),
    targets.map(() => s1.scholar.solver),
    targets,
    { generator: 0, solvers: 0 },
    true,
  );
  const accuracy = targets.map(() => [s1.accuracy]);
  const seconds = targets.map(() => [0]);
  try {
    for (const next of chain.slice(1)) {
      const sol = await trainChainSolvers(ctx, next.generation, teacher);
      const trained = await chainGeneration(
        sequence,
        next.generation,
        G(next),
        sol.solvers,
        targets,
        { generator: 0, solvers: sol.seconds },
        false,
      ).catch((err: unknown) => {
        for (const s of sol.solvers) s.dispose();
        throw err;
      });
      freeStudents(teacher);
      teacher = trained;
      trained.scholars.forEach((c, v) => {
        accuracy[v]?.push(c.accuracy);
        seconds[v]?.push(sol.seconds);
      });
    }
  } finally {
    freeStudents(teacher);
  }
  const reruns = targets.map((t, v) => ({
    targets: t,
    solverIterations: settings.solverIterations,
    accuracy: accuracy[v] as number[],
    seconds: seconds[v] as number[],
  }));
  if (file !== null) {
    const rec: RerunRecord = { kind: RERUN_KIND, chain: chainRecord, reruns };
    writeFileAtomic(file, JSON.stringify(rec, null, 1));
  }
  return reruns.map((r) =>
    Object.freeze({
      ...r,
      accuracy: Object.freeze(r.accuracy),
      seconds: Object.freeze(r.seconds),
      restored: false,
    }),
  );
}

// ------------------------------------------------------------------------------ sample quality

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations.
 * Returns eigenvalues and eigenvectors (columns of `vectors`, row-major n×n). For small n (≤ ~100).
 */
export function symmetricEigen(
  a: ArrayLike<number>,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n)
    throw new RangeError(`symmetricEigen: need an n×n matrix (n = ${n}), got ${a.length} values`);
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) off += (A[p * n + q] as number) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = ((A[q * n + q] as number) - (A[p * n + p] as number)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p] as number;
          const akq = A[k * n + q] as number;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k] as number;
          const aqk = A[q * n + k] as number;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p] as number;
          const vkq = V[k * n + q] as number;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i] as number;
  return { values, vectors: V };
}

/** Mean [d] and covariance [d×d] (unbiased) of n rows of d features (row-major). */
function meanCov(
  x: ArrayLike<number>,
  n: number,
  d: number,
): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (x[i * d + j] as number) / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const a = (x[i * d + j] as number) - (mean[j] as number);
      for (let k = j; k < d; k++)
        cov[j * d + k] =
          (cov[j * d + k] as number) + a * ((x[i * d + k] as number) - (mean[k] as number));
    }
  }
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = (cov[j * d + k] as number) / Math.max(1, n - 1);
      cov[j * d + k] = v;
      cov[k * d + j] = v;
    }
  }
  return { mean, cov };
}

/** Symmetric PSD square root via the eigen-decomposition (negative eigenvalues clipped to 0). */
function sqrtPsd(m: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(0, values[k] as number));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = (vectors[i * d + k] as number) * s;
      for (let j = 0; j < d; j++)
        out[i * d + j] = (out[i * d + j] as number) + vik * (vectors[j * d + k] as number);
    }
  }
  return out;
}

function matmulSq(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < d; j++)
        out[i * d + j] = (out[i * d + j] as number) + aik * (b[k * d + j] as number);
    }
  return out;
}

/**
 * Fréchet distance between Gaussians fitted to two sets of d-dimensional features
 * (rows of `a` [na×d] and `b` [nb×d], row-major), as in FID (Heusel et al. 2017):
 * ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa^{1/2} Σb Σa^{1/2})^{1/2}). 0 for identical sets.
 */
export function frechetDistance(
  a: ArrayLike<number>,
  na: number,
  b: ArrayLike<number>,
  nb: number,
  d: number,
): number {
  if (!Number.isInteger(d) || d < 1)
    throw new RangeError(`frechetDistance: d must be a positive integer, got ${d}`);
  if (a.length !== na * d || b.length !== nb * d)
    throw new RangeError(
      `frechetDistance: expected ${na}×${d} and ${nb}×${d} values, got ${a.length} and ${b.length}`,
    );
  if (na < 2 || nb < 2) throw new RangeError('frechetDistance: need at least 2 rows in each set');
  const A = meanCov(a, na, d);
  const B = meanCov(b, nb, d);
  let dist = 0;
  for (let j = 0; j < d; j++) dist += ((A.mean[j] as number) - (B.mean[j] as number)) ** 2;
  let tr = 0;
  for (let j = 0; j < d; j++) tr += (A.cov[j * d + j] as number) + (B.cov[j * d + j] as number);
  const sa = sqrtPsd(A.cov, d);
  const m = matmulSq(matmulSq(sa, B.cov, d), sa, d);
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      const v = ((m[i * d + j] as number) + (m[j * d + i] as number)) / 2;
      m[i * d + j] = v;
      m[j * d + i] = v;
    }
  const { values } = symmetricEigen(m, d);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(0, v));
  return Math.max(0, dist + tr - 2 * trSqrt);
}

/** How a judge classifier sees a generation's samples. */
export interface SampleQuality {
  /**
   * Mean top softmax probability of the judge on the samples (1 = every sample looks like a clear
   * digit to it).
   */
  readonly judgeConfidence: number;
  /** Share of samples per class by the judge's argmax (sums to 1). */
  readonly classShares: readonly number[];
  /**
   * Entropy of classShares divided by log(#classes): 1 = all classes equally often,
   * 0 = one class only.
   */
  readonly classBalance: number;
  /**
   * Fréchet distance between judge logits of the samples and of the real images (0 = same Gaussian
   * statistics).
   */
  readonly frechetLogits: number;
}

/** Judge logits [n, C] read from the device. */
async function logitsOf(
  judge: Classifier,
  x: Tensor,
): Promise<{ data: Float32Array; n: number; d: number }> {
  const z = judge.predict(x);
  try {
    const [n, d] = z.shape;
    return { data: (await z.data()) as Float32Array, n, d };
  } finally {
    z.dispose();
  }
}

/**
 * Sample quality of generated inputs `samples` [n, ...] as seen by a fixed `judge` (e.g. scholar
 * 1's solver, trained on real data), against real inputs `real` [m, ...]. Reads the device a few
 * times; disposes nothing it was given.
 */
export async function sampleQuality(
  judge: Classifier,
  samples: Tensor,
  real: Tensor,
): Promise<SampleQuality> {
  const cls = await classifySamples(judge, samples);
  const n = samples.shape[0];
  const shares = cls.counts.map((c) => c / n);
  const C = shares.length;
  const entropy = -shares.reduce((s, p) => (p > 0 ? s + p * Math.log(p) : s), 0);
  const a = await logitsOf(judge, samples);
  const b = await logitsOf(judge, real);
  return Object.freeze({
    judgeConfidence: cls.meanConfidence,
    classShares: Object.freeze(shares),
    classBalance: C > 1 ? entropy / Math.log(C) : 1,
    frechetLogits: frechetDistance(a.data, a.n, b.data, b.n, a.d),
  });
}

/** Share of inputs x [n, ...] on which two classifiers give the same argmax. */
export async function labelAgreement(a: Classifier, b: Classifier, x: Tensor): Promise<number> {
  const same = tf.tidy(
    () =>
      tf.mean(
        tf.cast(tf.equal(tf.argMax(a.predict(x), 1), tf.argMax(b.predict(x), 1)), 'float32'),
      ) as Scalar,
  );
  try {
    return ((await same.data()) as Float32Array)[0] as number;
  } finally {
    same.dispose();
  }
}

/** n samples x' [n, ...inputShape] of a scholar's generator (kept; the caller disposes). */
export function generatorSamples(scholar: Scholar, n: number, seed: number): Tensor {
  if (scholar.generator === null) throw new Error('generatorSamples: the scholar has no generator');
  return scholar.generator.sample(n, seed);
}

/**
 * One solver chain's test accuracy per generation (fractions in [0, 1]), for
 * {@link chainDriftFigure}.
 */
export interface SolverChainAccuracy {
  readonly name: string;
  readonly accuracy: readonly number[];
}

/**
 * Accuracy and sample drift along a chain of scholars: one line per solver chain (test accuracy
 * in %, left axis) and one dashed line per generator chain (Fréchet distance of its samples to
 * real images in the judge's logits, right axis), against the generation.
 */
export function chainDriftFigure(
  generations: readonly number[],
  solverChains: readonly SolverChainAccuracy[],
  quality: Readonly<Record<string, readonly SampleQuality[]>>,
  title = 'Chain of scholars: accuracy and sample drift per generation',
): PlotlyFigure {
  const x = [...generations];
  const line = (name: string, y: readonly number[], extra = {}): PlotlyTrace => {
    if (y.length !== x.length)
      throw new RangeError(
        `chainDriftFigure: ${name} has ${y.length} values for ${x.length} generations`,
      );
    return { type: 'scatter', mode: 'lines+markers', name, x, y: [...y], ...extra };
  };
  const data = [
    ...solverChains.map((c) =>
      line(
        `${c.name}: test accuracy (%)`,
        c.accuracy.map((a) => 100 * a),
      ),
    ),
    ...Object.entries(quality).map(([name, qs]) =>
      line(
        `${name}: Fréchet distance of G samples`,
        qs.map((q) => q.frechetLogits),
        { yaxis: 'y2', line: { dash: 'dash' } },
      ),
    ),
  ];
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'scholar (generation)' }, dtick: 1 },
      yaxis: { title: { text: 'test accuracy (%)' } },
      yaxis2: {
        title: { text: 'Fréchet distance to real (judge logits)' },
        overlaying: 'y',
        side: 'right',
      },
      width: 760,
      height: 460,
      legend: { orientation: 'h', y: -0.25 },
    },
  };
}
