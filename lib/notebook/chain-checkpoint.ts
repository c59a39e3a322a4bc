/**
 * Checkpoints of a chain of scholars (notebook 04, lib/notebook/chain.ts): after each generation
 * the chain so far — every generation's frozen generator, the solver of each solver chain, their
 * test accuracy and training seconds — is saved atomically to one folder with the engine's
 * {@link saveCheckpoint}. A later run with the same config, sequence and chain settings restores
 * the finished generations and trains only the next ones; generation k+1 depends only on
 * generation k's frozen models and on seeds, so a resumed chain ends with the same weights as an
 * uninterrupted one. A checkpoint of another run is refused naming each differing field
 * ({@link checkRunIdentity}, as for trainSequence's run checkpoints).
 */
import * as path from 'node:path';
import type { Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import type { TaskSequence } from '../engine/types';
import type { ExperimentConfig, GeneratorConfig } from '../engine/config';
import { buildGenerator, snapshotGenerator, type Generator } from '../engine/generators';
import { buildSolver, snapshotSolver, type Solver } from '../engine/solvers';
import type { ParamSet } from '../engine/nn';
import {
  CheckpointError,
  damagedFix,
  findCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type Json,
} from '../engine/checkpoint';
import { checkCheckpointDir, checkRunIdentity, sequenceMeta } from '../engine/run-checkpoint';
import type { ChainGeneration, ChainSettings } from './chain';

const CHAIN_KIND = 'dgr-chain';

/** A generation read back from a checkpoint: frozen models, one solver per solver chain. */
export interface RestoredGeneration {
  readonly generation: number;
  readonly generator: Generator;
  /** In the order of the chain's targets (the same solver may serve several chains). */
  readonly solvers: readonly Solver[];
  readonly seconds: ChainGeneration['seconds'];
}

/** The checkpoint folder of one chain. */
export interface ChainCheckpoint {
  /** Absolute path of the folder. */
  readonly dir: string;
  /** The first `max` finished generations (frozen); [] when the folder holds no checkpoint. */
  restore(max: number): Promise<RestoredGeneration[]>;
  /** Saves the chain so far, atomically replacing the previous checkpoint. */
  save(chain: readonly ChainGeneration[]): Promise<void>;
}

/** What the manifest's meta records of one generation. */
interface GenerationRecord {
  readonly generation: number;
  /** Checkpoint tensors of the frozen generator, by parameter-set name. */
  readonly generator: Readonly<Record<string, string>>;
  /** Per solver chain (order of the targets): its solver's tensor and test accuracy. */
  readonly solvers: readonly {
    readonly targets: string;
    readonly tensor: string;
    readonly accuracy: number;
  }[];
  readonly seconds: ChainGeneration['seconds'];
}

const toJson = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json;

/**
 * A frozen copy of a freshly built model after `fill` wrote its weights; the built one is freed.
 */
function frozenCopy<M extends { dispose(): void }>(
  built: M,
  fill: (m: M) => void,
  freeze: (m: M) => M,
): M {
  try {
    fill(built);
    return freeze(built);
  } finally {
    built.dispose();
  }
}

/**
 * The checkpoint folder `dir` of a chain of `config` on `sequence` with `settings`. Checks the
 * folder first (a CheckpointError naming it and the fix, before any training).
 */
export function openChainCheckpoint(
  dir: string,
  config: ExperimentConfig,
  sequence: TaskSequence,
  settings: ChainSettings,
): ChainCheckpoint {
  const target = checkCheckpointDir(dir);
  const identity = {
    config: toJson(config),
    sequence: sequenceMeta(sequence),
    chain: toJson(settings),
  };

  async function restore(max: number): Promise<RestoredGeneration[]> {
    if (findCheckpoint(target) === null) return [];
    const ck = await loadCheckpoint<Json>(target);
    const file = path.join(ck.readFrom, 'manifest.json');
    const bad = (problem: string): never => {
      throw new CheckpointError(file, `invalid chain record: ${problem}`, damagedFix(ck.readFrom));
    };
    const out: RestoredGeneration[] = [];
    let ok = false;
    try {
      checkRunIdentity(target, file, ck.meta, CHAIN_KIND, 'a chain of scholars', identity);
      const records = (ck.meta as { generations?: Json }).generations;
      if (!Array.isArray(records)) return bad('meta.generations is not a list');
      const take = (name: string, p: ParamSet | undefined): void => {
        const t = ck.tensors[name];
        if (p === undefined || t === undefined || t.size !== p.size)
          bad(`tensor ${name} is missing or does not fit this run's model (${p?.size} values)`);
        (p as ParamSet).assignFlat(t as Tensor, `checkpoint ${name}`);
      };
      for (const [i, rec] of (records as GenerationRecord[]).slice(0, max).entries()) {
        const where = `generations[${i}]`;
        if (rec.generation !== i + 1) bad(`${where}.generation is not ${i + 1}`);
        if (rec.solvers?.length !== settings.targets.length)
          bad(`${where} does not hold ${settings.targets.length} solvers`);
        const generator = frozenCopy(
          buildGenerator(config.generator as GeneratorConfig, sequence.inputShape, 0),
          (g) => Object.entries(rec.generator ?? {}).forEach(([k, t]) => take(t, g.params[k])),
          snapshotGenerator,
        );
        const byTensor = new Map<string, Solver>();
        const solvers: Solver[] = [];
        out.push({ generation: i + 1, generator, solvers, seconds: Object.freeze(rec.seconds) });
        for (const [v, s] of rec.solvers.entries()) {
          if (s.targets !== settings.targets[v])
            bad(`${where}.solvers[${v}] is '${s.targets}', not '${settings.targets[v]}'`);
          const solver =
            byTensor.get(s.tensor) ??
            frozenCopy(
              buildSolver(config.solver, sequence.inputShape, sequence.numOutputs, 0),
              (m) => take(s.tensor, m.params),
              snapshotSolver,
            );
          byTensor.set(s.tensor, solver);
          solvers.push(solver);
        }
      }
      ok = true;
      return out;
    } finally {
      tf.dispose(Object.values(ck.tensors));
      if (!ok)
        for (const m of new Set(out.flatMap((r) => [r.generator, ...r.solvers]))) m.dispose();
    }
  }

  async function save(chain: readonly ChainGeneration[]): Promise<void> {
    const tensors: Record<string, Tensor> = {};
    const records: GenerationRecord[] = chain.map((g) => {
      const k = g.generation;
      const first = g.scholars[0]?.scholar.generator ?? null;
      if (first === null) throw new Error(`chain checkpoint: generation ${k} has no generator`);
      const generator: Record<string, string> = {};
      for (const [name, p] of Object.entries(first.params)) {
        const tensor = `generation-${k}/generator/${name}`;
        generator[name] = tensor;
        tensors[tensor] = p.readFlat();
      }
      const names = new Map<Solver, string>();
      const solvers = g.scholars.map(({ targets, scholar, accuracy }) => {
        let tensor = names.get(scholar.solver);
        if (tensor === undefined) {
          tensor = `generation-${k}/solver-${names.size}`;
          names.set(scholar.solver, tensor);
          tensors[tensor] = scholar.solver.params.readFlat();
        }
        return { targets, tensor, accuracy };
      });
      return { generation: k, generator, solvers, seconds: g.seconds };
    });
    try {
      await saveCheckpoint(target, {
        meta: { kind: CHAIN_KIND, ...identity, generations: toJson(records) },
        tensors,
      });
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }

  return Object.freeze({ dir: target, restore, save });
}
