/**
 * The scholar H = ⟨G, S⟩ (Shin et al. 2017, §3.1): a generator G producing
 * real-like inputs and a solver S labelling them. `sample(n)` is what the
 * *next* scholar replays: x' ~ G, y' = S(x') (hard labels, or soft targets at
 * a temperature). {@link snapshotScholar} freezes a scholar into separate,
 * non-trainable variables: training the new scholar cannot change it.
 */
import { tf } from '../tf';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';
import type { Generator } from './generators';
import { buildGenerator, snapshotGenerator } from './generators';
import type { Solver } from './solvers';
import { buildSolver, snapshotSolver } from './solvers';
import type { GeneratorConfig, SolverConfig } from './config';
import type { ParamSet } from './nn';
import { CheckpointError, Json, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { logitMask } from './masks';
import { maskedLogits, targetsFromLogits } from './replay';

export interface ReplaySample {
  /** Generated inputs [n, ...inputShape]. */
  readonly x: Tensor;
  /** Hard labels [n] int32: the solver's argmax over `activeUnits` (or all units). */
  readonly y: Tensor1D;
  /**
   * Soft targets [n, numOutputs]: softmax(logits / T) over the active units (zeros elsewhere); only
   * with `temperature`.
   */
  readonly probs: Tensor2D | null;
}

export interface SampleOptions {
  /** Seed of the generator noise (required: sampling is reproducible). */
  readonly seed: number;
  /** Output units the labels may use (class-IL: classes seen so far); default all. */
  readonly activeUnits?: readonly number[];
  /** If given, also return soft targets softmax(logits / temperature). */
  readonly temperature?: number;
}

export interface Scholar {
  /** Null for a solver-only scholar (replay mode none/noise/exact without a generator). */
  readonly generator: Generator | null;
  readonly solver: Solver;
  /** True for a frozen snapshot. */
  readonly frozen: boolean;
  /** Draws n inputs from G and labels them with S. Caller disposes the tensors. */
  sample(n: number, opts: SampleOptions): ReplaySample;
  dispose(): void;
}

/** ⟨G, S⟩ from a generator (or null) and a solver whose input shapes agree. */
export function createScholar(generator: Generator | null, solver: Solver): Scholar {
  if (generator !== null && generator.inputShape.join(',') !== solver.inputShape.join(',')) {
    throw new Error(
      `createScholar: generator input shape [${generator.inputShape.join(', ')}] does not match ` +
        `the solver's [${solver.inputShape.join(', ')}]`,
    );
  }
  const frozen = !solver.trainable && (generator === null || !generator.trainable);
  return Object.freeze({
    generator,
    solver,
    frozen,
    sample(n: number, opts: SampleOptions): ReplaySample {
      if (generator === null)
        throw new Error('Scholar.sample: this scholar has no generator (replay mode without one)');
      const x = generator.sample(n, opts.seed);
      const [y, probs] = tf.tidy(() => {
        const z = maskedLogits(solver, x, logitMask(solver.numOutputs, opts.activeUnits));
        const yy = tf.cast(tf.argMax(z, 1), 'int32') as Tensor1D;
        return opts.temperature === undefined ? [yy] : [yy, targetsFromLogits(z, opts.temperature)];
      });
      return { x, y: y, probs: probs ?? null };
    },
    dispose(): void {
      generator?.dispose();
      solver.dispose();
    },
  });
}

/** A frozen copy of `s` (separate variables; sampling networks only). */
export function snapshotScholar(s: Scholar): Scholar {
  return createScholar(
    s.generator === null ? null : snapshotGenerator(s.generator),
    snapshotSolver(s.solver),
  );
}

// ------------------------------------------------------------------------------------ save / load

const SCHOLAR_KIND = 'dgr-scholar';

/**
 * Saves a scholar's weights and model configs to `dir` (atomically, via
 * checkpoint.ts). `meta` is stored alongside (e.g. the task it finished).
 */
export async function saveScholar(dir: string, scholar: Scholar, meta: Json = null): Promise<void> {
  const tensors: Record<string, Tensor> = { 'solver/params': scholar.solver.params.readFlat() };
  if (scholar.generator !== null)
    for (const [name, p] of Object.entries(scholar.generator.params))
      tensors[`generator/${name}/params`] = p.readFlat();
  try {
    await saveCheckpoint(dir, {
      meta: {
        kind: SCHOLAR_KIND,
        frozen: scholar.frozen,
        inputShape: [...scholar.solver.inputShape],
        numOutputs: scholar.solver.numOutputs,
        solver: scholar.solver.config as unknown as Json,
        generator: (scholar.generator?.config ?? null) as unknown as Json,
        user: meta,
      },
      tensors,
    });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

interface ScholarMeta {
  readonly kind: string;
  readonly frozen: boolean;
  readonly inputShape: number[];
  readonly numOutputs: number;
  readonly solver: SolverConfig;
  readonly generator: GeneratorConfig | null;
  readonly user: Json;
}

/**
 * Loads a scholar saved by {@link saveScholar}: rebuilds the models from the
 * stored configs and fills in the weights. A saved frozen snapshot loads as a
 * frozen snapshot; a live scholar loads as a live (trainable) one. Throws a
 * CheckpointError for a missing, corrupt or mismatched checkpoint.
 */
export async function loadScholar(dir: string): Promise<{ scholar: Scholar; meta: Json }> {
  const ck = await loadCheckpoint<Json>(dir, { expect: { meta: { kind: SCHOLAR_KIND } } });
  const m = ck.meta as unknown as ScholarMeta;
  const file = ck.readFrom;
  const take = (name: string, p: ParamSet): void => {
    const t = ck.tensors[name];
    if (t === undefined)
      throw new CheckpointError(
        file,
        `tensor ${name} is missing; the checkpoint does not match its own model config`,
      );
    if (t.size !== p.size || t.dtype !== 'float32')
      throw new CheckpointError(
        file,
        `tensor ${name} has ${t.size} ${t.dtype} values, the model needs ${p.size} float32`,
      );
    p.assignFlat(t, `loadScholar(${name})`);
  };
  const built: { solver: Solver | null; generator: Generator | null } = {
    solver: null,
    generator: null,
  };
  try {
    const solver = buildSolver(m.solver, m.inputShape, m.numOutputs, 0);
    built.solver = solver;
    take('solver/params', solver.params);
    if (m.generator !== null) {
      const gen = buildGenerator(m.generator, m.inputShape, 0);
      built.generator = gen;
      for (const [name, p] of Object.entries(gen.params)) {
        if (ck.tensors[`generator/${name}/params`] !== undefined || !m.frozen)
          take(`generator/${name}/params`, p);
      }
    }
    const live = createScholar(built.generator, solver);
    if (!m.frozen) return { scholar: live, meta: m.user };
    const frozen = snapshotScholar(live);
    live.dispose();
    return { scholar: frozen, meta: m.user };
  } catch (err) {
    built.solver?.dispose();
    built.generator?.dispose();
    throw err;
  } finally {
    tf.dispose(Object.values(ck.tensors));
  }
}
