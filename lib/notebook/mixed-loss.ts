/**
 * Notebook 03 (the mixed loss, Shin et al. 2017 §3.1, eq. 1 and 2): the
 * importance ratio r of the new task, swept over a task sequence, and the
 * weight each task ends up with under a schedule of ratios (r = 1/t).
 *
 * The new solver minimises
 *   L_train(θ_i) = r·E_{(x,y)~D_i}[L(S(x;θ_i), y)]
 *                  + (1−r)·E_{x'~G_{i−1}}[L(S(x';θ_i), S(x';θ_{i−1}))]
 * and the new generator learns from real and replayed inputs mixed at the
 * same ratio; both are trained by the engine's trainSequence.
 *
 * Figures of the notebook: accuracy against r (ratioSweepFigure), the old classes among the new
 * generator's samples against 1 − r (oldShareFigure), task weights per schedule
 * (taskWeightsFigure).
 */
import type { Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import type { ExperimentConfig } from '../engine/config';
import { configWith } from '../engine/config';
import type { AccuracyMatrix, Task, TaskSequence } from '../engine/types';
import type { PlotlyFigure, PlotlyTrace } from '../figures/types';
import { activeOutputs } from '../engine/masks';
import { runName, type RunNameParts } from '../engine/results';
import { trainSequence } from '../engine/train';
import { runNameParts } from '../engine/results';
import { deriveSeed } from '../rng';
import { meanSd } from './experiments';

/**
 * The weight of each task in what the solver is trained on after task t,
 * given the ratio r_k used when task k (0-based) was learned. The first task
 * has no replay (weight 1 whatever r_0 says); afterwards task k gets r_k and
 * the replayed part (1 − r_k) keeps the proportions the previous scholar was
 * trained on — assuming G and S reproduce their training mixture exactly:
 *
 *   w^(0) = [1],   w^(k) = [(1 − r_k)·w^(k−1), r_k].
 *
 * With r_k = 1/(k+1) (r = 1/t) every task gets 1/t; with a constant r the
 * oldest tasks decay geometrically, task j (j ≥ 1) as r·(1 − r)^(t−1−j).
 * Returns one weight per task (length = ratios.length), summing to 1.
 */
export function effectiveTaskWeights(ratios: readonly number[]): number[] {
  if (!Array.isArray(ratios) || ratios.length === 0)
    throw new RangeError('effectiveTaskWeights: ratios needs one r per task (at least one)');
  ratios.forEach((r, k) => {
    if (typeof r !== 'number' || !(r >= 0 && r <= 1))
      throw new RangeError(
        `effectiveTaskWeights: ratios[${k}] = ${String(r)} is not a ratio in [0, 1]`,
      );
  });
  let w = [1];
  for (let k = 1; k < ratios.length; k++) {
    const r = ratios[k] as number;
    w = [...w.map((v) => (1 - r) * v), r];
  }
  return w;
}

/**
 * The first `n` tasks of `sequence` as a sequence of their own (same name,
 * scenario, inputs and outputs; the tensors are shared, not copied).
 * `dispose()` frees the whole original sequence.
 */
export function firstTasks(sequence: TaskSequence, n: number): TaskSequence {
  if (!Number.isInteger(n) || n < 1 || n > sequence.tasks.length) {
    throw new RangeError(
      `firstTasks: n must be an integer in 1..${sequence.tasks.length}, got ${String(n)}`,
    );
  }
  return Object.freeze({
    name: sequence.name,
    scenario: sequence.scenario,
    inputShape: sequence.inputShape,
    numOutputs: sequence.numOutputs,
    tasks: Object.freeze(sequence.tasks.slice(0, n)),
    dispose: () => sequence.dispose(),
  });
}

/** The outcome of one value of r. */
export interface RatioRun {
  readonly ratio: number;
  /** Run name (results.ts), with `extra` settings added. */
  readonly runName: string;
  readonly config: ExperimentConfig;
  /** R[i][j] of the run (test accuracy on task j after task i). */
  readonly accuracy: AccuracyMatrix;
  /** Mean accuracy on the earlier tasks after the last task. */
  readonly oldAccuracy: number;
  /** Accuracy on the last task after training it. */
  readonly newAccuracy: number;
  /**
   * Share of the final scholar's samples its solver labels as a class of an earlier task
   * (class-IL/task-IL), NaN in domain-IL.
   */
  readonly oldShareOfSamples: number;
  /**
   * A few samples of the final scholar (x [k, ...inputShape], labels) when asked for; the caller
   * disposes `x`.
   */
  readonly samples: { readonly x: Tensor; readonly labels: readonly number[] } | null;
  /** Training seconds per task. */
  readonly taskSeconds: readonly number[];
}

export interface RatioSweepOptions {
  /**
   * Samples drawn from each final scholar to measure the old-class share (default 1000; 0 = skip).
   */
  readonly shareSamples?: number;
  /** Keep this many samples per run for display (default 0). */
  readonly keepSamples?: number;
  /** Extra run-name settings, e.g. { tasks: 2, it: 2000 }. */
  readonly extra?: RunNameParts['extra'];
  /** Called after each run (e.g. to print progress). */
  readonly onRun?: (run: RatioRun, index: number) => void;
}

/**
 * Trains `sequence` with generative replay once per ratio r (each a complete
 * trainSequence run of `configWith(base, { replay: { ratio: r } })`, nothing
 * shared between runs; the first task does not depend on r, so with the same
 * seed every run trains the same first scholar). Returns one record per r, in
 * the order given.
 */
export async function runRatioSweep(
  sequence: TaskSequence,
  base: ExperimentConfig,
  ratios: readonly number[],
  opts: RatioSweepOptions = {},
): Promise<RatioRun[]> {
  if (ratios.length === 0)
    throw new RangeError('runRatioSweep: ratios is empty; give at least one r in [0, 1]');
  if (sequence.tasks.length < 2)
    throw new RangeError(
      `runRatioSweep: the sequence has ${sequence.tasks.length} task(s); ` +
        'r only matters from the second task on',
    );
  ratios.forEach((r, i) => {
    if (typeof r !== 'number' || !(r >= 0 && r <= 1))
      throw new RangeError(`runRatioSweep: ratios[${i}] = ${String(r)} is not a ratio in [0, 1]`);
  });
  const shareSamples = opts.shareSamples ?? 1000;
  const keep = opts.keepSamples ?? 0;
  for (const [name, v] of [
    ['shareSamples', shareSamples],
    ['keepSamples', keep],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`runRatioSweep: ${name} must be an integer >= 0, got ${String(v)}`);
  }
  const last = sequence.tasks.length - 1;
  const seen = activeOutputs(sequence, last, 'train');
  const oldClasses = new Set(sequence.tasks.slice(0, last).flatMap((t) => t.classes));
  const runs: RatioRun[] = [];
  for (const [index, ratio] of ratios.entries()) {
    const config = configWith(base, { replay: { ratio } });
    const res = await trainSequence(sequence, config, { progress: false });
    try {
      const R = res.accuracy;
      const row = R[R.length - 1] as readonly number[];
      const olds = row.slice(0, last);
      let share = Number.NaN;
      if (shareSamples > 0 && sequence.scenario !== 'domain' && res.scholar.generator !== null) {
        const s = res.scholar.sample(shareSamples, {
          seed: deriveSeed(config.seed, 'sweep-share'),
          activeUnits: seen,
        });
        const labels = Array.from(await s.y.data());
        tf.dispose([s.x, s.y]);
        share = labels.filter((c) => oldClasses.has(c)).length / labels.length;
      }
      let samples: RatioRun['samples'] = null;
      if (keep > 0 && res.scholar.generator !== null) {
        const s = res.scholar.sample(keep, {
          seed: deriveSeed(config.seed, 'sweep-show'),
          activeUnits: seen,
        });
        samples = { x: s.x, labels: Array.from(await s.y.data()) };
        s.y.dispose();
      }
      const parts = runNameParts(config, sequence);
      const run: RatioRun = Object.freeze({
        ratio,
        runName: runName({ ...parts, extra: { ...(parts.extra ?? {}), ...(opts.extra ?? {}) } }),
        config,
        accuracy: R,
        oldAccuracy: olds.reduce((a, b) => a + b, 0) / olds.length,
        newAccuracy: row[last] as number,
        oldShareOfSamples: share,
        samples,
        taskSeconds: res.taskSeconds,
      });
      runs.push(run);
      opts.onRun?.(run, index);
    } finally {
      res.scholar.dispose();
    }
  }
  return runs;
}

/** Mean, sample standard deviation (0 for one value) and count: `meanSd` of notebook/compare. */
export type MeanSd = ReturnType<typeof meanSd>;

/** One value of r over several seeds. */
export interface RatioStats {
  readonly ratio: number;
  readonly seeds: number;
  readonly oldAccuracy: MeanSd;
  readonly newAccuracy: MeanSd;
  /** (old + new) / 2 per seed, then mean ± sd. */
  readonly average: MeanSd;
  readonly oldShareOfSamples: MeanSd;
}

/**
 * Mean ± sd per r of several sweeps (one per seed, each over the same ratios in the same order,
 * as `runRatioSweep` returns them).
 */
export function ratioSweepStats(sweeps: readonly (readonly RatioRun[])[]): RatioStats[] {
  if (sweeps.length === 0)
    throw new RangeError('ratioSweepStats: no sweeps; give one runRatioSweep result per seed');
  const first = sweeps[0] as readonly RatioRun[];
  sweeps.forEach((s, k) => {
    if (
      s.length !== first.length ||
      s.some((run, i) => run.ratio !== (first[i] as RatioRun).ratio)
    ) {
      throw new RangeError(
        `ratioSweepStats: sweep ${k} has ratios [${s.map((r) => r.ratio).join(', ')}], ` +
          `sweep 0 has [${first.map((r) => r.ratio).join(', ')}]; ` +
          'run every seed over the same ratios',
      );
    }
  });
  return first.map((run, i) => {
    const at = sweeps.map((s) => s[i] as RatioRun);
    return Object.freeze({
      ratio: run.ratio,
      seeds: sweeps.length,
      oldAccuracy: meanSd(at.map((r) => r.oldAccuracy)),
      newAccuracy: meanSd(at.map((r) => r.newAccuracy)),
      average: meanSd(at.map((r) => (r.oldAccuracy + r.newAccuracy) / 2)),
      oldShareOfSamples: meanSd(at.map((r) => r.oldShareOfSamples)),
    });
  });
}

const pctText = (v: number): string => `${(100 * v).toFixed(1)}%`;
const ptsText = (v: number): string => `${(100 * v).toFixed(1)}`;

/**
 * What the sweep shows about the old task for 0 < r < 1, in sentences computed from the numbers:
 * the range of its mean accuracy, the largest seed-to-seed sd, and whether the means move
 * steadily with r (monotone, and the total change larger than twice the largest sd) or not.
 */
export function describeRatioSweep(stats: readonly RatioStats[]): string {
  const inner = stats
    .filter((s) => s.ratio > 0 && s.ratio < 1)
    .slice()
    .sort((a, b) => a.ratio - b.ratio);
  if (inner.length < 2)
    throw new RangeError('describeRatioSweep: needs at least two ratios strictly between 0 and 1');
  const means = inner.map((s) => s.oldAccuracy.mean);
  const maxSd = Math.max(...inner.map((s) => s.oldAccuracy.sd));
  const lo = Math.min(...means);
  const hi = Math.max(...means);
  const diffs = means.slice(1).map((m, i) => m - (means[i] as number));
  const rising = diffs.every((d) => d >= 0);
  const falling = diffs.every((d) => d <= 0);
  const change = (means.at(-1) as number) - (means[0] as number);
  const r0 = (inner[0] as RatioStats).ratio;
  const r1 = (inner.at(-1) as RatioStats).ratio;
  const n = (inner[0] as RatioStats).seeds;
  let text =
    `For r from ${r0} to ${r1} the old task keeps ${pctText(lo)} to ${pctText(hi)} ` +
    `(mean of ${n} seed${n === 1 ? '' : 's'})`;
  if (n < 2) return `${text}; with one seed there is no spread to compare the differences with.`;
  text += `, and seeds differ by up to ${ptsText(maxSd)} points (sd).`;
  if ((rising || falling) && Math.abs(change) > 2 * maxSd) {
    return (
      `${text} The old-task accuracy ${rising ? 'rises' : 'falls'} steadily with r, ` +
      `by ${ptsText(Math.abs(change))} points over that range: more than twice the seed-to-seed sd.`
    );
  }
  const spread = hi - lo;
  return (
    `${text} The means ` +
    `${rising || falling ? 'move in one direction' : 'do not move in one direction'} ` +
    `and span ${ptsText(spread)} points, ${spread > 2 * maxSd ? 'more' : 'no more'} than twice ` +
    'the seed-to-seed sd: inside (0, 1) this sweep shows ' +
    `${rising || falling ? 'a trend that the seeds do not resolve' : 'no steady trade-off with r'}.`
  );
}

// ------------------------------------------------------------------------------------ figures

/** A line with markers through mean values at `xs`, ± sd as error bars. */
function meanSdLine(
  name: string,
  xs: readonly number[],
  values: readonly MeanSd[],
  dash = 'solid',
): PlotlyTrace {
  return {
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: xs,
    y: values.map((m) => m.mean),
    error_y: { type: 'data', array: values.map((m) => m.sd), visible: true },
    line: { dash },
  };
}

function checkSweepFigure(
  where: string,
  stats: readonly RatioStats[],
  tasks: readonly unknown[],
): void {
  if (stats.length === 0) throw new RangeError(`${where}: no ratios (stats is empty)`);
  if (tasks.length < 2) throw new RangeError(`${where}: needs the sequence's tasks (at least two)`);
}

/**
 * Accuracy after the last task against r (notebook 03): the old tasks, the new task and their
 * average, mean ± sd over seeds, with r = 1/t (t = number of tasks) marked by a dashed line.
 * `tasks` are the sequence's tasks (their names label the lines); `sequence` starts the title,
 * e.g. 'Split MNIST (class-IL)'.
 */
export function ratioSweepFigure(
  stats: readonly RatioStats[],
  tasks: readonly Pick<Task, 'name'>[],
  sequence: string,
): PlotlyFigure {
  checkSweepFigure('ratioSweepFigure', stats, tasks);
  const t = tasks.length;
  const olds = tasks.slice(0, -1).map((task) => task.name);
  const oldName = `old task (${olds.join(', ')})`;
  const newName = `new task (${(tasks.at(-1) as Pick<Task, 'name'>).name})`;
  const xs = stats.map((s) => s.ratio);
  const [old, nu, average] = [
    stats.map((s) => s.oldAccuracy),
    stats.map((s) => s.newAccuracy),
    stats.map((s) => s.average),
  ];
  const spread = `mean ± sd, ${(stats[0] as RatioStats).seeds} seeds`;
  const title = `${sequence}, ${t} tasks: accuracy after task ${t} vs. r (${spread})`;
  return {
    data: [
      meanSdLine(oldName, xs, old),
      meanSdLine(newName, xs, nu),
      meanSdLine('average', xs, average, 'dot'),
    ],
    layout: {
      title: { text: title },
      xaxis: { title: { text: "r (weight of the new task's real data)" } },
      yaxis: { title: { text: 'test accuracy' }, range: [0, 1.05] },
      shapes: [
        {
          type: 'line',
          x0: 1 / t,
          x1: 1 / t,
          yref: 'paper',
          y0: 0,
          y1: 1,
          line: { dash: 'dash', color: 'grey' },
        },
      ],
      annotations: [
        { x: 1 / t, y: 0.05, text: `r = 1/t (t = ${t})`, showarrow: false, xanchor: 'left' },
      ],
      width: 760,
      height: 420,
    },
  };
}

/**
 * The share of the last generator's samples that the final solver labels as an old class,
 * against r, mean ± sd over seeds, beside the line 1 − r that a perfect generator and solver
 * would give (notebook 03). `tasks` are the sequence's tasks (the old ones name the classes).
 */
export function oldShareFigure(
  stats: readonly RatioStats[],
  tasks: readonly Pick<Task, 'classes'>[],
): PlotlyFigure {
  checkSweepFigure('oldShareFigure', stats, tasks);
  const old = tasks.slice(0, -1).flatMap((task) => task.classes);
  const xs = stats.map((s) => s.ratio);
  const ideal = xs.map((r) => ({ mean: 1 - r, sd: 0, n: 1 }));
  const shares = stats.map((s) => s.oldShareOfSamples);
  const { error_y: _none, ...perfect } = meanSdLine('1 − r', xs, ideal, 'dash');
  return {
    data: [meanSdLine(`G_${tasks.length} samples labelled ${old.join('/')}`, xs, shares), perfect],
    layout: {
      title: { text: "Old-task digits among the new generator's samples vs. r" },
      xaxis: { title: { text: 'r' } },
      yaxis: { title: { text: `share labelled ${old.join(' or ')}` }, range: [0, 1.05] },
      width: 640,
      height: 380,
    },
  };
}

/**
 * The weight of each task in the training loss after the last task (notebook 03): one bar group
 * per task j = 1..T, one bar per schedule, e.g. `effectiveTaskWeights` of r = 1/t and of a
 * constant r. Every schedule needs one weight per task.
 */
export function taskWeightsFigure(
  schedules: readonly { readonly name: string; readonly weights: readonly number[] }[],
): PlotlyFigure {
  const T = schedules[0]?.weights.length ?? 0;
  if (T === 0 || schedules.some((s) => s.weights.length !== T))
    throw new RangeError(
      'taskWeightsFigure: every schedule needs the same non-zero number of weights',
    );
  const taskNums = Array.from({ length: T }, (_, j) => j + 1);
  return {
    data: schedules.map((s) => ({ type: 'bar', name: s.name, x: taskNums, y: s.weights })),
    layout: {
      title: { text: `Weight of each task in the training loss after ${T} tasks` },
      barmode: 'group',
      xaxis: { title: { text: 'task j' }, dtick: 1 },
      yaxis: { title: { text: 'effective weight' } },
      width: 720,
      height: 400,
    },
  };
}
