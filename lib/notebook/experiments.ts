/**
 * Notebooks 05–07 (Shin et al. 2017, §4: permuted MNIST, new domains, new classes): the experiments
 * that run several replay methods side by side — each run's results saved under its name — and the
 * figures and tables that compare them (per-task accuracy curves, accuracy-matrix heatmaps,
 * mean ± sd tables, published reference numbers, replayed samples labelled by the solver).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../tf';
import { writeFileAtomic } from '../fsutil';
import type { AccuracyMatrix, Scenario, TaskSequence } from '../engine/types';
import { taskEndsOf, type ExperimentConfig } from '../engine/config';

export { taskEndsOf };
import type { CurvePoint, LossPoint, TrainOptions, TrainResult } from '../engine/train';
import { trainSequence } from '../engine/train';
import type { Scholar } from '../engine/scholar';
import { activeOutputs } from '../engine/masks';
import { computeMetrics, type Metrics } from '../engine/eval';
import {
  defaultResultsRoot,
  displayPath,
  projectRoot,
  runName,
  runNameParts,
  saveResults,
  type RunResults,
} from '../engine/results';
import { deriveSeed } from '../rng';
import type { Json } from '../engine/checkpoint';
import { activeProfile, type ProfileName } from '../profile';
import type { TrainingTime } from '../report';
import { showImageGrid } from '../figures/grid';
import { writeTableCsv, type TableRow } from '../figures/table';
import type { PlotlyFigure, PlotlyTrace } from '../figures/types';
import { panelGrid, shortTaskLabels } from '../figures/panels';

/**
 * Where a profile's results go: the project's results folder for 'default' and 'paper';
 * `.scratch/results-quick` for 'quick' (never mixed with committed results).
 */
export function resultsRootFor(profile: ProfileName = activeProfile()): string {
  const root = defaultResultsRoot();
  if (profile !== 'quick' || process.env.DGR_RESULTS_DIR !== undefined) return root;
  return path.join(path.dirname(root), '.scratch', 'results-quick');
}

/**
 * Replayed samples of one task end: images and the solver's labels (plain arrays: no tensors to
 * dispose).
 */
export interface ReplayGrid {
  /** Task just finished (0-based). */
  readonly task: number;
  /** [n, h, w, c]. */
  readonly shape: readonly [number, number, number, number];
  /** n·h·w·c pixels in [0, 1]. */
  readonly pixels: Float32Array;
  /** The solver's label of each sample, y' = argmax over the outputs seen so far. */
  readonly labels: readonly number[];
}

/**
 * Accuracy on every task during training: x = iterations since the start, perTask[j][p] = accuracy
 * on task j at point p.
 */
export interface CurveSeries {
  readonly x: readonly number[];
  readonly perTask: readonly (readonly number[])[];
}

/** One finished run (no tensors). */
export interface ExperimentRun {
  /** Display name of the method, e.g. 'GR (VAE)'. */
  readonly label: string;
  readonly runName: string;
  readonly scenario: Scenario;
  readonly seed: number;
  /** Iterations per task (`config.iterations`). */
  readonly iterations: number;
  /**
   * Where each task's training ends, in iterations since the start (the x of the curves): the
   * sum of each task's loop length, `iterations` per task unless the solver's and the
   * generator's budgets are both smaller on a task (see `taskIterations`).
   */
  readonly taskEnds: readonly number[];
  readonly taskNames: readonly string[];
  readonly accuracy: AccuracyMatrix;
  readonly metrics: Metrics;
  readonly curves: CurveSeries;
  /** After each task, if samplesPerTask > 0 and the scholar has a generator. */
  readonly samples: readonly ReplayGrid[];
  /**
   * Wall-clock seconds of the run (training and evaluation); for tasks restored from a checkpoint,
   * their recorded training seconds; a first task reused from another run counts 0 here (it is
   * that run's time).
   */
  readonly seconds: number;
  /** Where the results were saved. */
  readonly resultsDir: string;
  /**
   * Tasks restored from a checkpoint instead of trained in this call (0 = trained from the start).
   */
  readonly resumedTasks: number;
  /** The checkpoint folder name of the run whose first task this run reused, else null. */
  readonly firstTaskFrom: string | null;
  /**
   * Losses read during training: whenever a progress line was due (none with `progress: false`).
   */
  readonly losses: readonly LossPoint[];
  /** `finalSamples` samples of the last generator (task = the last task), else null. */
  readonly finalSamples: ReplayGrid | null;
}

/**
 * How many tasks at the start of a run another run trained (its first task, shared: 0 or 1). They
 * count among `resumedTasks` but are that run's training time, not this one's.
 */
function sharedTasks(r: { readonly firstTaskFrom: string | null }): number {
  return r.firstTaskFrom === null ? 0 : 1;
}

/**
 * What of a run this call did not train, for a run's printed line: `''` when it trained every
 * task, else e.g. `', first task shared with another run, 1 task read from its checkpoint'`.
 */
export function resumeNote(run: Pick<ExperimentRun, 'resumedTasks' | 'firstTaskFrom'>): string {
  const shared = sharedTasks(run);
  const own = run.resumedTasks - shared;
  const parts: string[] = [];
  if (shared > 0) parts.push('first task shared with another run');
  if (own > 0) parts.push(`${own} task${own === 1 ? '' : 's'} read from its checkpoint`);
  return parts.map((p) => `, ${p}`).join('');
}

export interface RunExperimentOptions {
  /** Display name of the method. */
  readonly label: string;
  /** Accuracy on all tasks every K iterations (TrainOptions.curveEvery). */
  readonly curveEvery: number;
  /** Test examples per task for curve points (default 500). */
  readonly curveMaxPerTask?: number;
  /** Replayed samples to keep after each task (default 0: none). */
  readonly samplesPerTask?: number;
  /**
   * Samples to draw from the final scholar's generator after the last task, labelled by its
   * solver over every output seen (default 0: none). Drawn after training or after restoring a
   * finished run from its checkpoint, with their own seed; e.g. ~1000+ for a Fréchet distance.
   */
  readonly finalSamples?: number;
  /** Image shape of one input for the sample grids (default [28, 28, 1]). */
  readonly imageShape?: readonly [number, number, number];
  /** Results folder (default {@link resultsRootFor}). */
  readonly resultsRoot?: string;
  readonly progress?: TrainOptions['progress'];
  /**
   * Checkpoint after every task and resume from there when run again with the same config:
   * `true` = in {@link checkpointDirFor}, a string = in that folder, `false` = no checkpoints.
   * Default: `true` in the paper and default profiles (an interrupted run loses at most one
   * task), `false` in the quick profile (the tests always train).
   */
  readonly checkpoint?: boolean | string;
  /**
   * Keep each run's first task in a shared folder and start a run from the first task of an
   * earlier run that trained it alike (TrainOptions.firstTaskCache; e.g. LwF + GR from GR's, GR
   * with soft targets from GR with hard ones, exact replay from no replay): `true` =
   * `.scratch/checkpoints/first-tasks/` (with checkpoints in {@link checkpointDirFor} only), a
   * string = that folder, `false` = always train the first task. Default `true`.
   */
  readonly shareFirstTask?: boolean | string;
}

/**
 * Where a run's checkpoint lives: `.scratch/checkpoints/<run name>-<hash>` in the repository, the
 * hash taken over the whole config and the sequence's name, so two configs that share a run name
 * never share a folder.
 */
export function checkpointDirFor(sequence: TaskSequence, config: ExperimentConfig): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ config, sequence: sequence.name }))
    .digest('hex')
    .slice(0, 10);
  const name = `${runName(runNameParts(config, sequence))}-${hash}`;
  return path.join(projectRoot(), '.scratch', 'checkpoints', name);
}

/**
 * The replayed samples of task `task` of the run checkpointed in `dir` (pixels stored exactly):
 * `replay-samples/<run folder>/t<task>.json` beside the checkpoint folder, which each task's
 * checkpoint replaces whole. Folders written before 2026-12-02 kept them inside it, where only
 * the last task's survived; those are still read.
 */
const samplesFile = (dir: string, task: number): string =>
  path.join(path.dirname(dir), 'replay-samples', path.basename(dir), `t${task}.json`);
const legacySamplesFile = (dir: string, task: number): string =>
  path.join(dir, `replay-samples-t${task}.json`);

function saveReplayGrid(dir: string, g: ReplayGrid): void {
  const bytes = Buffer.from(g.pixels.buffer, g.pixels.byteOffset, g.pixels.byteLength);
  const body = { task: g.task, shape: g.shape, labels: g.labels, pixels: bytes.toString('base64') };
  const file = samplesFile(dir, g.task);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(body));
}

function loadReplayGrid(dir: string, task: number): ReplayGrid | null {
  const file = [samplesFile(dir, task), legacySamplesFile(dir, task)].find((f) => fs.existsSync(f));
  if (file === undefined) return null;
  const body = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    task: number;
    shape: [number, number, number, number];
    labels: number[];
    pixels: string;
  };
  const buf = Buffer.from(body.pixels, 'base64');
  const pixels = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  if (pixels.length !== body.shape.reduce((a, b) => a * b, 1))
    throw new RangeError(`${displayPath(file)}: pixel count does not match shape; delete the file`);
  return Object.freeze({ task: body.task, shape: body.shape, pixels, labels: body.labels });
}

/** Curve points as series for figures. */
export function curveSeries(points: readonly CurvePoint[]): CurveSeries {
  const T = points[0]?.accuracy.length ?? 0;
  return Object.freeze({
    x: Object.freeze(points.map((p) => p.globalIteration)),
    perTask: Object.freeze(
      Array.from({ length: T }, (_, j) =>
        Object.freeze(points.map((p) => p.accuracy[j] as number)),
      ),
    ),
  });
}

/**
 * Curve series stored by {@link runExperiment} in a run's saved results (keys `iteration`, `task0`,
 * `task1`, ...).
 */
export function curveSeriesFromResults(
  results: Pick<RunResults, 'curves' | 'taskNames' | 'runName'>,
): CurveSeries {
  const c = results.curves;
  if (c === undefined || c.iteration === undefined)
    throw new RangeError(`curveSeriesFromResults: run ${results.runName} has no saved curves`);
  const num = (xs: readonly (number | null)[]): number[] =>
    xs.map((v) => (v === null ? Number.NaN : v));
  return Object.freeze({
    x: num(c.iteration),
    perTask: results.taskNames.map((_, j) => num(c[`task${j}`] ?? [])),
  });
}

/**
 * Output units seen up to task k (the union of each task's training outputs): the labels a replayed
 * sample may get.
 */
export function seenOutputs(sequence: TaskSequence, k: number): number[] {
  const set = new Set<number>();
  for (let t = 0; t <= k; t++) for (const c of activeOutputs(sequence, t, 'train')) set.add(c);
  return [...set].sort((a, b) => a - b);
}

/**
 * `draw` applied to the scholar after the first task of `config` on `sequence`, restored from the
 * first-task cache without training; null when the cache does not hold that first task.
 */
async function firstTaskGrid(
  sequence: TaskSequence,
  config: ExperimentConfig,
  cache: string,
  curves: Pick<TrainOptions, 'curveEvery' | 'curveMaxPerTask'>,
  draw: (scholar: Scholar) => Promise<ReplayGrid>,
): Promise<ReplayGrid | null> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-first-task-'));
  try {
    const opts = { ...curves, progress: false as const, restoreOnly: true, firstTaskCache: cache };
    const r = await trainSequence(sequence, config, { ...opts, checkpointDir: `${tmp}/run` });
    try {
      return r.firstTaskFrom === null ? null : await draw(r.scholar);
    } finally {
      r.scholar.dispose();
    }
  } catch (e) {
    if (e instanceof RangeError && /restoreOnly/.test(e.message)) return null;
    throw e;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Trains `config` on `sequence` with the engine's trainSequence (accuracy curves every
 * `curveEvery` iterations; after each task, optionally, `samplesPerTask` replayed samples
 * x' ~ G labelled by the solver), saves the results under the run's name (accuracy matrix,
 * metrics, config, curves) and returns a tensor-free summary.
 */
export async function runExperiment(
  sequence: TaskSequence,
  config: ExperimentConfig,
  opts: RunExperimentOptions,
): Promise<ExperimentRun> {
  const nSamples = opts.samplesPerTask ?? 0;
  if (!Number.isInteger(nSamples) || nSamples < 0)
    throw new RangeError(
      `runExperiment: samplesPerTask must be a non-negative integer, got ${String(nSamples)}`,
    );
  const nFinal = opts.finalSamples ?? 0;
  if (!Number.isInteger(nFinal) || nFinal < 0)
    throw new RangeError(
      `runExperiment: finalSamples must be a non-negative integer, got ${String(nFinal)}`,
    );
  const imageShape = opts.imageShape ?? [28, 28, 1];
  const ck = opts.checkpoint ?? activeProfile() !== 'quick';
  const ckptDir = ck === false ? undefined : ck === true ? checkpointDirFor(sequence, config) : ck;
  const share = opts.shareFirstTask ?? true;
  const firstTaskCache =
    ckptDir === undefined || share === false
      ? undefined
      : typeof share === 'string'
        ? share
        : ck === true
          ? path.join(path.dirname(ckptDir), 'first-tasks')
          : undefined;
  const samples: ReplayGrid[] = [];
  const curveOptions = {
    curveEvery: opts.curveEvery,
    curveMaxPerTask: opts.curveMaxPerTask ?? 500,
  };
  const gridOf =
    (task: number) =>
    (scholar: Scholar): Promise<ReplayGrid> =>
      replayGridOf(scholar, nSamples, imageShape, {
        task,
        seed: deriveSeed(config.seed, 'shown-replay', task),
        activeUnits: seenOutputs(sequence, task),
      });
  const t0 = performance.now();
  const result = await trainSequence(sequence, config, {
    ...curveOptions,
    progress: opts.progress ?? false,
    ...(ckptDir === undefined ? {} : { checkpointDir: ckptDir }),
    ...(firstTaskCache === undefined ? {} : { firstTaskCache }),
    onTaskEnd: async ({ taskIndex, scholar }) => {
      if (nSamples === 0 || scholar.generator === null) return;
      const grid = await gridOf(taskIndex)(scholar);
      samples.push(grid);
      if (ckptDir !== undefined) saveReplayGrid(ckptDir, grid);
    },
  });
  // Tasks restored from the checkpoint: their replayed samples were saved beside it.
  if (ckptDir !== undefined && nSamples > 0 && config.generator !== null) {
    const restored: ReplayGrid[] = [];
    const from = result.firstTaskFrom;
    for (let k = 0; k < result.resumedTasks; k++) {
      let g = loadReplayGrid(ckptDir, k);
      if (g === null && k === 0) {
        // A first task reused from another run: its samples are beside that run's checkpoint.
        if (from !== null) g = loadReplayGrid(path.join(path.dirname(ckptDir), from), 0);
        // Not kept (an older checkpoint, or a run without samples): drawn again from the scholar
        // after the first task when the first-task cache holds it — the same samples, same seed.
        if (g === null && firstTaskCache !== undefined)
          g = await firstTaskGrid(sequence, config, firstTaskCache, curveOptions, gridOf(0));
        // Kept beside this run's checkpoint from now on.
        if (g !== null) saveReplayGrid(ckptDir, g);
      }
      if (g !== null) restored.push(g);
    }
    samples.unshift(...restored);
  }
  let finalSamples: ReplayGrid | null = null;
  try {
    const last = result.accuracy.length - 1;
    if (nFinal > 0 && result.scholar.generator !== null)
      finalSamples = await replayGridOf(result.scholar, nFinal, imageShape, {
        task: last,
        seed: deriveSeed(config.seed, 'final-samples', last),
        activeUnits: seenOutputs(sequence, last),
      });
  } finally {
    result.scholar.dispose();
  }
  // A first task reused from another run is that run's time, not counted again here.
  const restoredSeconds = result.taskSeconds
    .slice(sharedTasks(result), result.resumedTasks)
    .reduce((a, b) => a + b, 0);
  const seconds = restoredSeconds + (performance.now() - t0) / 1000;
  const name = runName(runNameParts(config, sequence));
  const taskNames = sequence.tasks.map((t) => t.name);
  const curves = curveSeries(result.curves);
  const saved: Record<string, number[]> = { iteration: [...curves.x] };
  curves.perTask.forEach((ys, j) => (saved[`task${j}`] = [...ys]));
  const resultsDir = await saveResults(
    {
      runName: name,
      taskNames,
      accuracy: result.accuracy,
      config: { ...config, label: opts.label, seconds } as unknown as Json,
      curves: saved,
    },
    { root: opts.resultsRoot ?? resultsRootFor() },
  );
  return Object.freeze({
    label: opts.label,
    runName: name,
    scenario: sequence.scenario,
    seed: config.seed,
    iterations: config.iterations,
    taskEnds: taskEndsOf(config, sequence.tasks.length),
    taskNames,
    accuracy: result.accuracy,
    metrics: computeMetrics(result.accuracy),
    curves,
    samples: Object.freeze(samples),
    seconds,
    resultsDir,
    resumedTasks: result.resumedTasks,
    firstTaskFrom: result.firstTaskFrom,
    losses: result.losses,
    finalSamples,
  });
}

/** n samples of a scholar's generator labelled by its solver, read into a {@link ReplayGrid}. */
async function replayGridOf(
  scholar: TrainResult['scholar'],
  n: number,
  imageShape: readonly [number, number, number],
  o: { readonly task: number; readonly seed: number; readonly activeUnits: readonly number[] },
): Promise<ReplayGrid> {
  const s = scholar.sample(n, { seed: o.seed, activeUnits: o.activeUnits });
  try {
    return Object.freeze({
      task: o.task,
      shape: [n, ...imageShape] as [number, number, number, number],
      pixels: (await s.x.data()) as Float32Array,
      labels: Array.from(await s.y.data()),
    });
  } finally {
    tf.dispose([s.x, s.y, ...(s.probs === null ? [] : [s.probs])]);
  }
}

// ------------------------------------------------------------------------------------ statistics

/** A training run as a notebook's closing line counts it (see {@link runTimeLine}). */
export interface TimedRun {
  /**
   * Seconds of training; for a run read back from its checkpoint, those of the run that trained it.
   */
  readonly seconds: number;
  /** Read back (in whole or in part) from a checkpoint instead of trained by this execution. */
  readonly restored: boolean;
}

/**
 * A run as counted: a {@link TimedRun}, or an {@link ExperimentRun}, restored when any of its own
 * tasks came from its checkpoint (a first task shared with another run is that run's training).
 */
export type Timed = TimedRun | Pick<ExperimentRun, 'seconds' | 'resumedTasks' | 'firstTaskFrom'>;

const restoredOf = (r: Timed): boolean =>
  'restored' in r ? r.restored : r.resumedTasks > sharedTasks(r);

/** Runs as a summary's `training` (see `saveSummary`). */
export function trainingTime(runs: readonly Timed[]): TrainingTime {
  return {
    seconds: runs.reduce((a, r) => a + r.seconds, 0),
    runs: runs.length,
    restored: runs.filter(restoredOf).length,
  };
}

/**
 * A notebook's closing line: how long this execution took, in which profile, and — when training
 * runs were read back from checkpoints — how long their training took when it ran, so that a
 * re-executed notebook does not look as if the paper's budgets took a minute.
 * `startedAt` and `now` are `performance.now()` values.
 */
export function runTimeLine(
  startedAt: number,
  runs: readonly Timed[] = [],
  profile: string = activeProfile(),
  now: number = performance.now(),
): string {
  if (!Number.isFinite(startedAt) || !(now >= startedAt))
    throw new RangeError(
      `runTimeLine: startedAt (${startedAt}) must be a time before now (${now})`,
    );
  const own =
    `notebook run time ${((now - startedAt) / 60000).toFixed(1)} min ` + `(profile ${profile})`;
  const t = trainingTime(runs);
  if (t.restored === 0) return own;
  const minutes = t.seconds / 60;
  const restored = t.restored;
  const runsText = runs.length === 1 ? 'the training run' : `the ${runs.length} training runs`;
  return (
    `${own}; ${runsText} shown took ${minutes.toFixed(1)} min of training when they ran ` +
    `(${restored} read back from their checkpoints in this execution)`
  );
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanSd(xs: readonly number[]): {
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
} {
  const n = xs.length;
  if (n === 0) return { mean: Number.NaN, sd: Number.NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean, sd, n };
}

/** "90.12 ± 0.34" (values × scale); a single value has no ± part. */
export function formatMeanSd(xs: readonly number[], scale = 100, digits = 2): string {
  const { mean, sd, n } = meanSd(xs);
  if (n === 0) return '—';
  return n === 1
    ? (mean * scale).toFixed(digits)
    : `${(mean * scale).toFixed(digits)} ± ${(sd * scale).toFixed(digits)}`;
}

/**
 * The metrics of one run as a sentence for the reader, in % and points: "average accuracy 93.18%,
 * backward transfer −6.71 points, forgetting 6.71 points; forward transfer not measured (no
 * accuracies of the untrained model were given)". A metric that is NaN is named, not printed raw.
 */
export function describeMetrics(m: Metrics): string {
  const pts = (v: number): string => `${v < 0 ? '−' : ''}${Math.abs(100 * v).toFixed(2)} points`;
  const parts = [`average accuracy ${(100 * m.averageAccuracy).toFixed(2)}%`];
  if (Number.isFinite(m.backwardTransfer))
    parts.push(`backward transfer ${pts(m.backwardTransfer)}`);
  if (Number.isFinite(m.forgetting)) parts.push(`forgetting ${pts(m.forgetting)}`);
  const fwt = Number.isFinite(m.forwardTransfer)
    ? `, forward transfer ${pts(m.forwardTransfer)}`
    : "; forward transfer not measured (it needs the untrained model's accuracy on each task)";
  return parts.join(', ') + fwt;
}

/**
 * One table row per (label, scenario, iterations): seeds, average accuracy, backward transfer and
 * forgetting as mean ± sd over the runs' seeds (in %), and the mean training seconds.
 */
export function summaryRows(runs: readonly ExperimentRun[]): TableRow[] {
  const groups = new Map<string, ExperimentRun[]>();
  for (const r of runs) {
    const key = `${r.label}|${r.scenario}|${r.iterations}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const r0 = g[0] as ExperimentRun;
    return {
      method: r0.label,
      scenario: r0.scenario,
      'iterations/task': r0.iterations,
      seeds: g.length,
      'average accuracy (%)': formatMeanSd(g.map((r) => r.metrics.averageAccuracy)),
      'backward transfer (%)': formatMeanSd(g.map((r) => r.metrics.backwardTransfer)),
      'forgetting (%)': formatMeanSd(g.map((r) => r.metrics.forgetting)),
      'seconds/run': Math.round(meanSd(g.map((r) => r.seconds)).mean),
    };
  });
}

/** Writes a table as `<root>/<name>/summary.csv` (atomically); returns the file. */
export function saveSummaryCsv(
  rows: readonly TableRow[],
  name: string,
  root: string = resultsRootFor(),
): string {
  if (!/^[A-Za-z0-9_.=-]+$/.test(name) || name.startsWith('.'))
    throw new TypeError(
      `saveSummaryCsv: name must be letters, digits, '_', '.', '-' or '=', ` +
        `got ${JSON.stringify(name)}`,
    );
  return writeTableCsv(rows, path.join(root, name, 'summary.csv'));
}

// ------------------------------------------------------------------------------------ references

// The published numbers (with source and spread kind) live in ./references.ts.
export { SPLIT_MNIST_CLASS_IL_REFERENCES } from './references';
export type { ReferenceResult } from './references';

// ------------------------------------------------------------------------------------ figures

const pct = (v: number): number => Math.round(v * 1000) / 10;

/** Per-task test accuracy during sequential training, with dotted lines at task boundaries. */
export function accuracyCurvesFigure(
  run: Pick<ExperimentRun, 'curves' | 'taskNames' | 'taskEnds'>,
  title: string,
): PlotlyFigure {
  const T = run.taskNames.length;
  const data: PlotlyTrace[] = run.curves.perTask.map((ys, j) => ({
    type: 'scatter',
    mode: 'lines',
    name: run.taskNames[j] as string,
    x: [...run.curves.x],
    y: ys.map(pct),
  }));
  const shapes = Array.from({ length: T - 1 }, (_, k) => ({
    type: 'line',
    xref: 'x',
    yref: 'paper',
    x0: run.taskEnds[k] as number,
    x1: run.taskEnds[k] as number,
    y0: 0,
    y1: 1,
    line: { dash: 'dot', width: 1, color: 'grey' },
  }));
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'training iteration (all tasks so far)' } },
      yaxis: { title: { text: 'test accuracy on the task (%)' }, range: [0, 102] },
      shapes,
      width: 760,
      height: 380,
      legend: { orientation: 'h', y: -0.25 },
    },
  };
}

/** Average accuracy over the tasks seen so far, one line per run, during training. */
export function averageCurvesFigure(
  runs: readonly Pick<ExperimentRun, 'curves' | 'label' | 'taskEnds'>[],
  title: string,
): PlotlyFigure {
  const data: PlotlyTrace[] = runs.map((r) => {
    const ys = r.curves.x.map((x, p) => {
      // Tasks begun by iteration x: a point at a task's end still belongs to that task.
      const begun = r.taskEnds.filter((end) => end < x).length + 1;
      const seen = Math.min(r.curves.perTask.length, begun);
      let s = 0;
      for (let j = 0; j < seen; j++) s += (r.curves.perTask[j] as readonly number[])[p] as number;
      return pct(s / seen);
    });
    return { type: 'scatter', mode: 'lines', name: r.label, x: [...r.curves.x], y: ys };
  });
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'training iteration (all tasks so far)' } },
      yaxis: { title: { text: 'average accuracy on tasks seen so far (%)' }, range: [0, 102] },
      width: 760,
      height: 400,
    },
  };
}

/**
 * Accuracy matrices as heatmaps, wrapped into rows that fit a JupyterLab output area
 * (figures/panels.ts), with one shared colour bar: row i = after training task i, column j =
 * task j, cell = R[i][j] in %, printed in the cell. Tick labels are short (task names without
 * their common first word, else T1, T2, ... explained under the figure); hovering shows the full
 * names.
 */
export function accuracyHeatmapsFigure(
  panels: readonly {
    readonly title: string;
    readonly accuracy: AccuracyMatrix;
    readonly taskNames: readonly string[];
  }[],
  title: string,
): PlotlyFigure {
  if (panels.length === 0) throw new RangeError('accuracyHeatmapsFigure: no panels');
  const grid = panelGrid(panels.length);
  const data: PlotlyTrace[] = [];
  const annotations: unknown[] = [];
  const notes = new Set<string>();
  const layoutAxes: Record<string, unknown> = {};
  panels.forEach((p, k) => {
    const ax = k === 0 ? '' : String(k + 1);
    const labels = shortTaskLabels(p.taskNames);
    if (labels[0] === 'T1') notes.add(p.taskNames.map((t, j) => `T${j + 1} = ${t}`).join(', '));
    const { x, y } = grid.domain(k);
    const { row, col } = grid.cell(k);
    const bottom = row === grid.rows - 1 || k + grid.cols >= panels.length;
    data.push({
      type: 'heatmap',
      x: labels,
      y: labels.slice(0, p.accuracy.length),
      z: p.accuracy.map((r) => r.map(pct)),
      coloraxis: 'coloraxis',
      texttemplate: '%{z:.0f}',
      customdata: p.accuracy.map((r, i) => r.map((_, j) => [p.taskNames[i], p.taskNames[j]])),
      xaxis: `x${ax}`,
      yaxis: `y${ax}`,
      hovertemplate: 'after %{customdata[0]}, on %{customdata[1]}: %{z:.1f}%<extra></extra>',
    });
    layoutAxes[`xaxis${ax}`] = {
      type: 'category',
      domain: x,
      anchor: `y${ax}`,
      tickangle: 0,
      ...(bottom ? { title: { text: 'evaluated task' } } : {}),
    };
    layoutAxes[`yaxis${ax}`] = {
      type: 'category',
      domain: y,
      anchor: `x${ax}`,
      autorange: 'reversed',
      showticklabels: col === 0,
      ...(col === 0 ? { title: { text: 'trained up to' } } : {}),
    };
    annotations.push({
      text: p.title,
      x: (x[0] + x[1]) / 2,
      y: y[1],
      yshift: 4,
      xref: 'paper',
      yref: 'paper',
      xanchor: 'center',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 12 },
    });
  });
  for (const note of notes)
    annotations.push({
      text: note,
      x: 0,
      y: 0,
      yshift: -grid.margin.b + 4,
      xref: 'paper',
      yref: 'paper',
      xanchor: 'left',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 10 },
    });
  const layout = {
    title: { text: title },
    width: grid.width,
    height: grid.height,
    margin: { ...grid.margin },
    coloraxis: {
      cmin: 0,
      cmax: 100,
      colorscale: 'Viridis',
      colorbar: { title: { text: '%' }, thickness: 14 },
    },
    annotations,
    ...layoutAxes,
  };
  return { data, layout };
}

/** The first `n` samples of a replay grid with their labels (all of them if it has fewer). */
export function firstSamples(grid: ReplayGrid, n: number): ReplayGrid {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`firstSamples: n must be a whole number ≥ 0, got ${String(n)}`);
  const [m, h, w, c] = grid.shape;
  const k = Math.min(n, m);
  return {
    ...grid,
    shape: [k, h, w, c],
    pixels: grid.pixels.subarray(0, k * h * w * c),
    labels: grid.labels.slice(0, k),
  };
}

/**
 * The replayed samples after task `task` (0-based) from the first of `runs` that kept them, with
 * that run's seed; null if none did (samples are kept only for runs with `samplesPerTask` > 0).
 */
export function samplesAfterTask(
  runs: readonly Pick<ExperimentRun, 'samples' | 'seed'>[],
  task: number,
): { readonly grid: ReplayGrid; readonly seed: number } | null {
  if (!Number.isInteger(task) || task < 0)
    throw new RangeError(`samplesAfterTask: task must be a task index ≥ 0, got ${String(task)}`);
  for (const r of runs) {
    const grid = r.samples.find((g) => g.task === task);
    if (grid !== undefined) return { grid, seed: r.seed };
  }
  return null;
}

/** Shows a run's replayed samples after one task as an image grid with the solver's labels. */
export async function showReplayGrid(
  grid: ReplayGrid,
  opts: { readonly cols?: number; readonly scale?: number; readonly title?: string } = {},
): Promise<void> {
  const images = tf.tensor4d(grid.pixels, [...grid.shape]);
  try {
    await showImageGrid(images, {
      cols: opts.cols ?? grid.shape[0],
      scale: opts.scale ?? 1,
      labels: grid.labels,
      ...(opts.title !== undefined ? { title: opts.title } : {}),
    });
  } finally {
    images.dispose();
  }
}
