/**
 * Run checkpoints of `trainSequence`: after each task the scholar's parameters, the Adam moments
 * and the run's record (accuracy rows, curves, losses, seconds per task) are saved with
 * {@link saveCheckpoint}; a later call with the same checkpoint folder resumes after the last
 * saved task and ends with the same accuracy matrix as an uninterrupted run.
 *
 * A checkpoint records the full identity of its run: the experiment config, the sequence's shape,
 * tasks and builder config ({@link SequenceIdentity}: seeds, class order, subsample sizes, domains,
 * data-file checksums) and a sha256 of the task data itself. Resuming with anything different is
 * refused, naming each differing field (checkpoint → this run). The record is checked against
 * itself (completedTasks = accuracy rows = seconds entries) before anything is restored.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import type { AccuracyMatrix, TaskSequence } from './types';
import { type ExperimentConfig, generatorUpdatesForTask } from './config';
import type { SolverTrainer } from './solvers';
import type { GeneratorTrainer } from './generators';
import type { Regularizer } from './regularizers';
import type { Adam, ParamSet } from './nn';
import type { CurvePoint, LossPoint } from './train';
import {
  CheckpointError,
  type Json,
  damagedFix,
  findCheckpoint,
  loadCheckpoint,
  readCheckpointManifest,
  saveCheckpoint,
} from './checkpoint';

const RUN_KIND = 'dgr-run';
const MANIFEST = 'manifest.json';

/** The record of a run after `completedTasks` tasks. */
export interface RunRecord {
  readonly completedTasks: number;
  /** Rows 0..completedTasks-1 of R. */
  readonly accuracy: AccuracyMatrix;
  readonly curves: readonly CurvePoint[];
  readonly losses: readonly LossPoint[];
  /** Seconds of training per task (NaN where not known). */
  readonly taskSeconds: readonly number[];
  /**
   * Set when the first task was read from the shared first-task checkpoint instead of this run's
   * own: the checkpoint folder name of the run that trained it.
   */
  readonly firstTaskFrom?: string;
}

/** The trainers whose parameters and Adam state a run checkpoint holds. */
export interface RunModel {
  readonly solverT: SolverTrainer;
  readonly genT: GeneratorTrainer | null;
  /** EWC's Fisher and anchors or SI's importance, saved after each task (issue 12). */
  readonly regularizer?: Regularizer | null;
}

/** Checkpoint tensors of the regulariser's state (issue 12). */
const REGULARIZER_PREFIX = 'regularizer/';

/** The checkpoint folder of one run (see {@link openRunCheckpoint}). */
export interface RunCheckpoint {
  /** Absolute path of the checkpoint folder. */
  readonly dir: string;
  /** Restores `model` from the checkpoint and returns its record; null when there is none. */
  resume(model: RunModel): Promise<RunRecord | null>;
  /** Saves `model` and `record`, atomically replacing the previous checkpoint. */
  save(model: RunModel, record: RunRecord): Promise<void>;
}

interface RunMeta {
  readonly kind: string;
  /** First-task checkpoints only: the folder name of the run that trained the task. */
  readonly madeBy?: string;
  /** A run's own checkpoint, when its first task was read from the first-task cache. */
  readonly firstTaskFrom?: string;
  readonly config: Json;
  readonly sequence: Json;
  readonly completedTasks: number;
  readonly accuracy: Json;
  readonly curves: Json;
  readonly losses: Json;
  readonly taskSeconds: Json;
  readonly adamSteps: Json;
}

const toJson = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json;

const stringOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * Checks, before any training, that `dir` can hold this run's checkpoint: a folder holding a
 * checkpoint, an empty folder, or a path that can be created in a writable folder.
 */
export function checkCheckpointDir(dir: unknown): string {
  const fix =
    'pass as checkpointDir a new or empty folder, or one holding a checkpoint of this run';
  if (typeof dir !== 'string' || dir.trim() === '') {
    throw new CheckpointError(
      String(dir),
      `checkpointDir must be a folder path, got ${JSON.stringify(dir)}`,
      fix,
    );
  }
  const target = path.resolve(dir);
  let st: fs.Stats | null;
  try {
    st = fs.statSync(target);
  } catch {
    st = null;
  }
  if (st !== null && !st.isDirectory())
    throw new CheckpointError(target, 'is a file, not a folder', fix);
  // The same rule as saveCheckpoint's: a folder without a manifest must be empty (a copy a crash
  // left renamed aside beside it does not make other files there safe to replace).
  if (st !== null) {
    if (!fs.existsSync(path.join(target, MANIFEST)) && fs.readdirSync(target).length > 0) {
      throw new CheckpointError(
        target,
        `is a folder with other files and no checkpoint (${MANIFEST}); ` +
          'saving a checkpoint there would replace them',
        fix,
      );
    }
  }
  // The folder that must be writable: the parent (the checkpoint is swapped in by renames).
  let parent = path.dirname(target);
  while (!fs.existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
  if (!fs.statSync(parent).isDirectory()) {
    throw new CheckpointError(target, `cannot be created: ${parent} is a file, not a folder`, fix);
  }
  try {
    fs.accessSync(parent, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new CheckpointError(
      target,
      `cannot be written: ${parent} is not writable`,
      `make ${parent} writable (chmod u+w) or ${fix}`,
    );
  }
  return target;
}

/** sha256 of each task's labels and first inputs: a run is never resumed on other data. */
function dataSha256(sequence: TaskSequence): string {
  const hash = createHash('sha256');
  const add = (t: Tensor): void => {
    const v = t.dataSync();
    hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  };
  for (const task of sequence.tasks) {
    for (const d of [task.train, task.test]) {
      add(d.y);
      const first = d.x.slice(0, Math.min(8, d.count));
      try {
        add(first);
      } finally {
        first.dispose();
      }
    }
  }
  return hash.digest('hex');
}

/** What a checkpoint records of the sequence (compared on resume). */
export function sequenceMeta(sequence: TaskSequence): Json {
  return toJson({
    name: sequence.name,
    scenario: sequence.scenario,
    numOutputs: sequence.numOutputs,
    inputShape: [...sequence.inputShape],
    tasks: sequence.tasks.map((t) => ({
      name: t.name,
      classes: [...t.classes],
      train: t.train.count,
      test: t.test.count,
    })),
    identity: sequence.identity ?? null,
    dataSha256: dataSha256(sequence),
  });
}

function show(v: Json | undefined): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  if (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) return `${v.slice(0, 12)}…`;
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

const isObject = (v: Json | undefined): v is { readonly [key: string]: Json } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The differing leaves of two JSON values, as "where: old → new". */
function jsonDiff(a: Json | undefined, b: Json | undefined, where: string): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => jsonDiff(a[k], b[k], `${where}.${k}`));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((x: Json, i: number) => jsonDiff(x, b[i] as Json, `${where}[${i}]`));
  }
  return [`${where}: ${show(a)} → ${show(b)}`];
}

/**
 * The part of a config that decides the first task: everything but replay and LwF (on task 1 there
 * is no previous scholar, so trainSequence trains as with replay mode 'none' and no LwF; see
 * planTask) and with `generatorIterations` as task 1's count. Two runs whose first-task
 * configs are equal train their first task bit for bit alike (tested): e.g. none / noise / exact
 * replay / LwF, or generative replay with hard or soft targets, with or without LwF, at any r.
 */
export function firstTaskConfig(config: ExperimentConfig): Json {
  const { replay: _replay, lwf: _lwf, generatorIterations: _gi, ...rest } = config;
  void [_replay, _lwf, _gi];
  return toJson({ ...rest, generatorIterations: generatorUpdatesForTask(config, 0) });
}

/** Folder name, under a first-task cache, of a first task's identity (config and sequence). */
function firstTaskKey(identity: Readonly<Record<string, Json>>): string {
  const hash = createHash('sha256').update(JSON.stringify(identity)).digest('hex');
  return `first-task-${hash.slice(0, 16)}`;
}

/** Checks the run record of a checkpoint against itself and the sequence. */
function checkRunMeta(meta: Json, file: string, numTasks: number, dir: string): RunMeta {
  const bad = (problem: string): never => {
    throw new CheckpointError(file, `invalid run record: ${problem}`, damagedFix(dir));
  };
  if (!isObject(meta)) return bad('meta is not an object');
  const m = meta as unknown as RunMeta;
  const n = m.completedTasks;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > numTasks) {
    return bad(`meta.completedTasks is ${show(n)}, not a task count 1..${numTasks}`);
  }
  const acc = m.accuracy;
  if (!Array.isArray(acc)) return bad(`meta.accuracy is ${show(acc)}, not a list of rows`);
  if (acc.length !== n) {
    bad(
      `meta.completedTasks is ${n} but meta.accuracy has ${acc.length} rows ` +
        '(one per finished task)',
    );
  }
  acc.forEach((row: Json, i: number) => {
    const ok =
      Array.isArray(row) &&
      row.length === numTasks &&
      row.every((x: Json) => typeof x === 'number' && x >= 0 && x <= 1);
    if (!ok) bad(`meta.accuracy[${i}] is ${show(row)}, not ${numTasks} accuracies in [0, 1]`);
  });
  const secs = m.taskSeconds;
  if (
    !Array.isArray(secs) ||
    secs.length !== n ||
    !secs.every((s: Json) => s === null || typeof s === 'number')
  ) {
    bad(`meta.taskSeconds is ${show(secs)}, not ${n} numbers (one per finished task)`);
  }
  if (!Array.isArray(m.curves)) bad(`meta.curves is ${show(m.curves)}, not a list`);
  if (!Array.isArray(m.losses)) bad(`meta.losses is ${show(m.losses)}, not a list`);
  const steps = m.adamSteps;
  if (
    !isObject(steps) ||
    !Object.values(steps).every((s) => Number.isInteger(s) && (s as number) >= 0)
  ) {
    bad(`meta.adamSteps is ${show(steps)}, not step counts by optimizer`);
  }
  return m;
}

/** Flat copies of parameters and Adam moments (the caller disposes them). */
function paramTensors(prefix: string, p: ParamSet, opt: Adam | undefined): Record<string, Tensor> {
  const out: Record<string, Tensor> = { [`${prefix}/params`]: p.readFlat() };
  if (opt !== undefined) {
    out[`${prefix}/adam_m`] = opt.m.readFlat();
    out[`${prefix}/adam_v`] = opt.v.readFlat();
  }
  return out;
}

function restoreParams(
  tensors: Readonly<Record<string, Tensor>>,
  prefix: string,
  p: ParamSet,
  opt: Adam | undefined,
  steps: number,
  file: string,
): void {
  const w = tensors[`${prefix}/params`];
  if (w === undefined || w.size !== p.size) {
    throw new CheckpointError(
      file,
      `${prefix}/params is missing or has ${w?.size ?? 0} values, ` +
        `the model has ${p.size}; the checkpoint belongs to another model`,
      damagedFix(path.dirname(file)),
    );
  }
  p.assignFlat(w, `checkpoint ${prefix}/params`);
  if (opt !== undefined) {
    const m = tensors[`${prefix}/adam_m`];
    const v = tensors[`${prefix}/adam_v`];
    if (m === undefined || v === undefined) {
      throw new CheckpointError(
        file,
        `${prefix} Adam moments are missing`,
        damagedFix(path.dirname(file)),
      );
    }
    opt.restore(m, v, steps);
  }
}

/**
 * Refuses a checkpoint that is not of `kind` or whose meta differs from `identity` (each key of
 * `identity`, e.g. config and sequence, compared with the same key of `meta`): a CheckpointError
 * for `target` naming every differing field (checkpoint → this run) and the fix. `file` is the
 * manifest that was read, `what` names the kind for people ("a training run").
 */
export function checkRunIdentity(
  target: string,
  file: string,
  meta: Json,
  kind: string,
  what: string,
  identity: Readonly<Record<string, Json>>,
): void {
  if (!isObject(meta) || meta.kind !== kind) {
    const found = isObject(meta) ? show(meta.kind) : show(meta);
    throw new CheckpointError(
      file,
      `holds a checkpoint of kind ${found}, not ${what} ("${kind}")`,
      `pass another checkpointDir, or delete ${target}`,
    );
  }
  const keys = Object.keys(identity);
  const diffs = keys.flatMap((k) => jsonDiff(meta[k], identity[k], k));
  if (diffs.length === 0) return;
  const shown = diffs
    .slice(0, 12)
    .concat(diffs.length > 12 ? [`… and ${diffs.length - 12} more`] : []);
  const fields = keys.map((k) => `meta.${k}`);
  const listed =
    fields.length > 1 ? `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}` : fields.join('');
  throw new CheckpointError(
    target,
    `holds a checkpoint of a different run: its ${listed} must equal ` +
      `this run's, and differ in (checkpoint → this run):\n  ${shown.join('\n  ')}`,
    `to keep that checkpoint, pass another checkpointDir for this run; to start this run ` +
      `afresh here, delete ${target}; to resume it, run again with its settings`,
  );
}

/**
 * The checkpoint folder `dir` of a run of `config` on `sequence`. Checks the folder first (a
 * CheckpointError naming it and the fix, before any training) and computes the run's identity.
 *
 * With `firstTask` (a cache folder, and the training options that shape what a task records, e.g.
 * curve settings), the state after the first task is also kept in that folder under a key of
 * {@link firstTaskConfig}, the options and the sequence, and a run without a checkpoint of its own
 * starts from a matching one: e.g. LwF + generative replay reuses the first task (generator
 * included) of generative replay alone, which it would have trained bit for bit alike.
 */
export function openRunCheckpoint(
  dir: string,
  config: ExperimentConfig,
  sequence: TaskSequence,
  firstTask?: { readonly cache: string; readonly options: Json },
): RunCheckpoint {
  const target = checkCheckpointDir(dir);
  const identity = { config: toJson(config), sequence: sequenceMeta(sequence) };
  const firstIdentity = {
    config: firstTaskConfig(config),
    options: firstTask?.options ?? null,
    sequence: identity.sequence,
  };
  const shared =
    firstTask === undefined
      ? null
      : checkCheckpointDir(path.join(firstTask.cache, firstTaskKey(firstIdentity)));
  const numTasks = sequence.tasks.length;

  async function restoreFrom(
    folder: string,
    model: RunModel,
    expected: Readonly<Record<string, Json>>,
  ): Promise<RunRecord> {
    const ck = await loadCheckpoint<Json>(folder);
    try {
      const file = path.join(ck.readFrom, MANIFEST);
      const meta = ck.meta;
      checkRunIdentity(folder, file, meta, RUN_KIND, 'a training run', expected);
      const m = checkRunMeta(meta, file, numTasks, ck.readFrom);
      if (folder === shared && m.completedTasks !== 1) {
        throw new CheckpointError(
          file,
          `a first-task checkpoint records ${m.completedTasks} tasks, not 1`,
          damagedFix(ck.readFrom),
        );
      }
      const steps = m.adamSteps as Readonly<Record<string, number>>;
      const { solverT, genT } = model;
      restoreParams(
        ck.tensors,
        'solver',
        solverT.solver.params,
        solverT.optimizer,
        steps.solver ?? 0,
        file,
      );
      if (genT !== null) {
        for (const [name, p] of Object.entries(genT.generator.params)) {
          const key = `generator/${name}`;
          restoreParams(ck.tensors, key, p, genT.optimizers[name], steps[key] ?? 0, file);
        }
      }
      const reg = model.regularizer ?? null;
      if (reg !== null) {
        const state: Record<string, Tensor> = {};
        for (const [name, t] of Object.entries(ck.tensors)) {
          if (name.startsWith(REGULARIZER_PREFIX)) state[name.slice(REGULARIZER_PREFIX.length)] = t;
        }
        try {
          reg.restore(state, `checkpoint ${REGULARIZER_PREFIX}`);
        } catch (e) {
          throw new CheckpointError(file, (e as Error).message, damagedFix(path.dirname(file)));
        }
      }
      const madeBy = folder === shared ? stringOrNull(m.madeBy) : sharedFirstTask(m);
      return {
        completedTasks: m.completedTasks,
        accuracy: m.accuracy as unknown as AccuracyMatrix,
        curves: m.curves as unknown as CurvePoint[],
        losses: m.losses as unknown as LossPoint[],
        taskSeconds: (m.taskSeconds as (number | null)[]).map((v) => v ?? Number.NaN),
        ...(madeBy === null ? {} : { firstTaskFrom: madeBy }),
      };
    } finally {
      tf.dispose(Object.values(ck.tensors));
    }
  }

  /**
   * Who trained the first task of a run read from its own checkpoint: recorded there since the
   * first-task cache exists; for a checkpoint saved before this was recorded, the cache's maker
   * when the run's first-task seconds are the cache's to the bit (copied, not trained again).
   */
  function sharedFirstTask(m: RunMeta): string | null {
    const recorded = stringOrNull(m.firstTaskFrom);
    if (recorded !== null || shared === null) return recorded;
    const found = findCheckpoint(shared);
    if (found === null) return null;
    try {
      const cached = readCheckpointManifest(found).meta as Partial<RunMeta> | null;
      const maker = stringOrNull(cached?.madeBy);
      const first = (cached?.taskSeconds as (number | null)[] | undefined)?.[0];
      const own = (m.taskSeconds as (number | null)[])[0];
      return maker !== null &&
        maker !== path.basename(target) &&
        typeof first === 'number' &&
        first === own
        ? maker
        : null;
    } catch {
      return null; // an unreadable cache is reported when it is restored from, not here
    }
  }

  async function resume(model: RunModel): Promise<RunRecord | null> {
    if (findCheckpoint(target) !== null) return restoreFrom(target, model, identity);
    if (shared !== null && findCheckpoint(shared) !== null)
      return restoreFrom(shared, model, firstIdentity);
    return null;
  }

  async function save(model: RunModel, record: RunRecord): Promise<void> {
    const { solverT, genT } = model;
    const tensors: Record<string, Tensor> = paramTensors(
      'solver',
      solverT.solver.params,
      solverT.optimizer,
    );
    const adamSteps: Record<string, number> = { solver: solverT.optimizer.steps() };
    for (const [name, t] of Object.entries(model.regularizer?.state() ?? {})) {
      tensors[`${REGULARIZER_PREFIX}${name}`] = t;
    }
    if (genT !== null) {
      for (const [name, p] of Object.entries(genT.generator.params)) {
        const opt = genT.optimizers[name];
        Object.assign(tensors, paramTensors(`generator/${name}`, p, opt));
        if (opt !== undefined) adamSteps[`generator/${name}`] = opt.steps();
      }
    }
    const meta: RunMeta = {
      kind: RUN_KIND,
      config: identity.config,
      sequence: identity.sequence,
      completedTasks: record.completedTasks,
      accuracy: toJson(record.accuracy),
      curves: toJson(record.curves),
      losses: toJson(record.losses),
      taskSeconds: record.taskSeconds.map((s) => (Number.isFinite(s) ? s : null)),
      adamSteps,
      ...(record.firstTaskFrom === undefined ? {} : { firstTaskFrom: record.firstTaskFrom }),
    };
    try {
      await saveCheckpoint(target, { meta: meta as unknown as Json, tensors });
      // The first task, for runs that would train it alike (kept; never replaced).
      if (shared !== null && record.completedTasks === 1 && findCheckpoint(shared) === null) {
        const first: RunMeta & { options: Json } = {
          ...meta,
          config: firstIdentity.config,
          options: firstIdentity.options,
          madeBy: path.basename(target),
        };
        await saveCheckpoint(shared, { meta: first as unknown as Json, tensors });
      }
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }

  return Object.freeze({ dir: target, resume, save });
}
