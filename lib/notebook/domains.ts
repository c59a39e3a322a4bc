/**
 * Small helpers for the experiment notebooks 05 (independent tasks, Shin et al. 2017 §4.1) and
 * 06 (new domains, §4.2): the name of a domain sequence made from the domains actually used, the
 * per-domain accuracy figure, the first domain's accuracy before and after the second task over
 * seeds and the share of exact replay's gain a method recovers (06's results), a sentence
 * comparing generative with exact replay, the published permuted-MNIST reference numbers
 * (re-exported from ./references), and per-iteration timing for planning a run. Runs, learning
 * curves, heatmaps and replay grids come from ./experiments (`runExperiment` & co., which
 * checkpoints and resumes); no training loop lives here.
 */
import type { PlotlyFigure } from '../figures/types';
import type { DomainInfo } from '../data/digits32';
import type { ImageSplit } from '../data/mnist';
import type { AccuracyMatrix, TaskSequence } from '../engine/types';
import type { ExperimentConfig } from '../engine/config';
import { configWith } from '../engine/config';
import { trainSequence } from '../engine/train';
import { checkAccuracyMatrix } from '../engine/eval';
import { displayPath, projectRoot } from '../engine/results';
import { defaultDataRoot } from '../data/registry';
import type { TableRow } from '../figures/table';
import { type ExperimentRun, formatMeanSd, meanSd } from './experiments';

/** MNIST resized to 32×32×3 (grey copied to three channels), the first domain of §4.2. */
export const MNIST32_DOMAIN: DomainInfo = Object.freeze({
  id: 'mnist-32x32x3',
  name: 'MNIST-32x32x3',
  label: 'MNIST (resized to 32×32×3)',
  description:
    'MNIST digits bilinearly resized to 32×32 and copied to three channels, ' +
    'so one conv solver reads both domains',
  isStandIn: false,
});

/**
 * A sequence name (usable in run names: letters, digits, '_') made from the ids of the domains
 * actually used, e.g. ['mnist-32x32x3', 'colour-mnist-32'] → 'mnist32x32x3_to_colourmnist32'.
 */
export function domainSequenceName(domains: readonly Pick<DomainInfo, 'id'>[]): string {
  if (domains.length === 0)
    throw new RangeError(
      'domainSequenceName: domains is empty; pass the domains in training order',
    );
  const parts = domains.map((d, i) => {
    const s = String(d.id)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '');
    if (s === '')
      throw new RangeError(
        `domainSequenceName: domains[${i}].id ${JSON.stringify(d.id)} has no letters or digits`,
      );
    return s;
  });
  return parts.join('_to_');
}

// ---------------------------------------------------------------------------------------------
// Figures, tables and sentences (learning curves, heatmaps, replay grids: lib/notebook/compare.ts)

/**
 * Accuracy (%) on each domain after each task, grouped by method (the bars of a two-domain
 * experiment, Shin et al. 2017 §4.2). `domainLabels[j]` names task j's domain.
 */
export function domainAccuracyFigure(
  runs: readonly { readonly method: string; readonly accuracy: AccuracyMatrix }[],
  domainLabels: readonly string[],
  opts: { readonly title: string; readonly width?: number; readonly height?: number },
): PlotlyFigure {
  if (runs.length === 0) throw new RangeError('domainAccuracyFigure: no runs given');
  // A two-level category axis: the method below, the stage (after task k) above it, both
  // horizontal, so long method names wrap instead of being rotated and clipped.
  const methodOf: string[] = [];
  const stageOf: string[] = [];
  const ys: number[][] = domainLabels.map(() => []);
  for (const r of runs) {
    checkAccuracyMatrix(r.accuracy, `domainAccuracyFigure(${r.method})`);
    if ((r.accuracy[0] as readonly number[]).length !== domainLabels.length)
      throw new RangeError(
        'domainAccuracyFigure: ' +
          `run ${r.method} has ${(r.accuracy[0] as readonly number[]).length} tasks, ` +
          `${domainLabels.length} domain labels given`,
      );
    r.accuracy.forEach((row, i) => {
      methodOf.push(r.method.replace(' + ', '<br>+ '));
      stageOf.push(`task ${i + 1}`);
      row.forEach((a, j) => (ys[j] as number[]).push(100 * a));
    });
  }
  return {
    data: domainLabels.map((label, j) => ({
      type: 'bar',
      name: `test on ${label}`,
      x: [methodOf, stageOf],
      y: ys[j] as number[],
    })),
    layout: {
      title: { text: opts.title },
      barmode: 'group',
      xaxis: {
        title: { text: 'method, and the task after which the solver is tested' },
        tickfont: { size: 11 },
      },
      yaxis: { title: { text: 'test accuracy (%)' }, range: [0, 100] },
      legend: { orientation: 'h', x: 0, y: 1.0, yanchor: 'bottom' },
      margin: { t: 110, b: 110 },
      width: opts.width ?? 820,
      height: opts.height ?? 480,
    },
  };
}

/**
 * A sentence comparing generative replay with exact replay against a target gap in points,
 * built from the measured accuracies (fractions in [0, 1]).
 */
export function targetSentence(generative: number, exact: number, targetPoints: number): string {
  for (const [n, v] of [
    ['generative', generative],
    ['exact', exact],
  ] as const) {
    if (!(v >= 0 && v <= 1))
      throw new RangeError(`targetSentence: ${n} must be an accuracy in [0, 1], got ${v}`);
  }
  const gap = 100 * (exact - generative);
  const g = (100 * generative).toFixed(2);
  const e = (100 * exact).toFixed(2);
  if (gap <= targetPoints) {
    const how = gap <= 0 ? `${(-gap).toFixed(2)} points above` : `${gap.toFixed(2)} points below`;
    return (
      `Target met: generative replay's final average accuracy (${g} %) is ${how} exact replay's ` +
      `(${e} %), within the target of ${targetPoints} points.`
    );
  }
  return (
    `Target missed: generative replay's final average accuracy (${g} %) is ${gap.toFixed(2)} ` +
    `points below exact replay's (${e} %); the target was at most ${targetPoints} points, ` +
    `so we fall short by ${(gap - targetPoints).toFixed(2)} points.`
  );
}

// ---------------------------------------------------------------------------------------------
// The first domain before and after the second (notebook 06, §4.2)

/** Runs of one method (one per seed) on one two-domain order, tensor-free. */
type DomainRuns = readonly Pick<ExperimentRun, 'label' | 'accuracy' | 'metrics' | 'seed'>[];

function firstDomain(run: DomainRuns[number], row: 0 | 1): number {
  const v = run.accuracy[row]?.[0];
  if (v === undefined)
    throw new RangeError(
      `firstDomain: run '${run.label}' (seed ${run.seed}) has no accuracy after task ${row + 1}`,
    );
  return v;
}

/**
 * The first domain's accuracy R[0][0] after its own task and R[1][0] after the second task,
 * and the second domain's R[1][1], as means over the runs (seeds) of one method (fractions).
 */
export function firstDomainStats(runs: DomainRuns): {
  readonly afterOwn: number;
  readonly afterSecond: number;
  readonly secondAfterSecond: number;
  readonly seeds: number;
} {
  if (runs.length === 0) throw new RangeError('firstDomainStats: no runs given');
  return {
    afterOwn: meanSd(runs.map((r) => firstDomain(r, 0))).mean,
    afterSecond: meanSd(runs.map((r) => firstDomain(r, 1))).mean,
    secondAfterSecond: meanSd(runs.map((r) => r.accuracy[1]?.[1] ?? Number.NaN)).mean,
    seeds: runs.length,
  };
}

/** {@link firstDomainStats} of each method, keyed by the runs' labels. */
export function firstDomainStatsByMethod(
  runs: DomainRuns,
): Readonly<Record<string, ReturnType<typeof firstDomainStats>>> {
  const labels = [...new Set(runs.map((r) => r.label))];
  return Object.freeze(
    Object.fromEntries(labels.map((l) => [l, firstDomainStats(runs.filter((r) => r.label === l))])),
  );
}

/**
 * The share of exact replay's gain over no replay that a method recovers on the first domain
 * after the second task: (method − none) / (exact − none). 1 = as good as exact replay, 0 = no
 * better than no replay, below 0 = worse. NaN when exact replay does not beat no replay (then
 * there is nothing to recover).
 */
export function recoveredShare(method: number, none: number, exact: number): number {
  for (const [n, v] of [
    ['method', method],
    ['none', none],
    ['exact', exact],
  ] as const) {
    if (!(v >= 0 && v <= 1))
      throw new RangeError(`recoveredShare: ${n} must be an accuracy in [0, 1], got ${v}`);
  }
  return exact > none ? (method - none) / (exact - none) : Number.NaN;
}

/**
 * One table row per method (runs grouped by label, in order of appearance): seeds, the first
 * domain after its own task and after the second, the second domain after it, and the final
 * average accuracy, each as mean ± sd over seeds in %.
 */
export function firstDomainRows(runs: DomainRuns): TableRow[] {
  const groups = new Map<string, DomainRuns[number][]>();
  for (const r of runs) groups.set(r.label, [...(groups.get(r.label) ?? []), r]);
  return [...groups.entries()].map(([label, g]) => ({
    method: label,
    seeds: g.length,
    'first domain, after its task (%)': formatMeanSd(g.map((r) => firstDomain(r, 0))),
    'first domain, after the second (%)': formatMeanSd(g.map((r) => firstDomain(r, 1))),
    'second domain (%)': formatMeanSd(g.map((r) => r.accuracy[1]?.[1] ?? Number.NaN)),
    'average (%)': formatMeanSd(g.map((r) => r.metrics.averageAccuracy)),
  }));
}

/**
 * The mean accuracy matrix of several runs of one method (seeds) on the same sequence.
 */
export function meanAccuracyMatrix(runs: readonly Pick<ExperimentRun, 'accuracy'>[]): number[][] {
  const first = runs[0];
  if (first === undefined) throw new RangeError('meanAccuracyMatrix: no runs given');
  return first.accuracy.map((row, i) =>
    row.map((_, j) => meanSd(runs.map((r) => r.accuracy[i]?.[j] ?? Number.NaN)).mean),
  );
}

/**
 * `text` with the data folder and the repository written as the reader sees them
 * (`data/svhn`, not the absolute path of the machine that ran the notebook), e.g. the reason
 * `loadSecondDomain` gives.
 */
export function withoutMachinePaths(text: string): string {
  let out = text;
  for (const root of [defaultDataRoot(), projectRoot()])
    out = out.split(root).join(displayPath(root));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Published reference numbers: van de Ven & Tolias 2018 (arXiv:1809.10635), Table 4, permuted
// MNIST, domain-incremental, mean ± SEM over 20 seeds; kept in ./references.ts with the others.

export { PERMUTED_MNIST_DOMAIN_IL_REFERENCES } from './references';

// ---------------------------------------------------------------------------------------------
// Timing

/**
 * Seconds per training iteration of `config` on `sequence`, measured on a short run of
 * `iterations` iterations per task (evaluation excluded; the first iterations include warm-up,
 * so short runs overestimate): one number per task, because replay (from the second task on)
 * makes iterations dearer. Used to plan how many iterations fit a time budget.
 */
export async function secondsPerIteration(
  sequence: TaskSequence,
  config: ExperimentConfig,
  iterations: number,
): Promise<number[]> {
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new RangeError(
      `secondsPerIteration: iterations must be a positive integer, got ${iterations}`,
    );
  const r = await trainSequence(sequence, configWith(config, { iterations }), { progress: false });
  r.scholar.dispose();
  return r.taskSeconds.map((s) => s / iterations);
}

// ---------------------------------------------------------------------------------------------
// Permuted MNIST: seeing replayed samples

/**
 * The inverse of a permutation: `inv[perm[i]] = i`. Permuted MNIST shows task t's image as
 * x_perm[i] = x[perm[i]] (tasks.ts `permutedMnist`), so gathering x_perm at `inv` restores x —
 * the way to look at what a generator trained on permuted digits draws.
 */
export function inversePermutation(perm: ArrayLike<number>): Int32Array {
  const n = perm.length;
  const inv = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = perm[i] as number;
    if (!Number.isInteger(p) || p < 0 || p >= n || inv[p] !== -1)
      throw new RangeError(
        `inversePermutation: not a permutation of 0..${n - 1} (entry ${i} is ${p})`,
      );
    inv[p] = i;
  }
  return inv;
}

/**
 * `n` examples of a split starting at `start` (views, no copy). Notebook 06 takes MNIST from the
 * end of each split, because the stand-in Colour-MNIST-32 is rendered from the *first* MNIST
 * images: the two domains then never show the same handwritten digit (the default stand-in,
 * synthetic printed digits, shares no images with MNIST).
 */
export function examplesFrom(split: ImageSplit, start: number, n: number): ImageSplit {
  if (
    !Number.isInteger(start) ||
    !Number.isInteger(n) ||
    start < 0 ||
    n < 0 ||
    start + n > split.count
  ) {
    throw new RangeError(
      `examplesFrom: need integers 0 <= start and start + n <= ${split.count} ` +
        `(the split's size); got start ${start}, n ${n}`,
    );
  }
  const per = split.shape[0] * split.shape[1] * split.shape[2];
  return {
    ...split,
    count: n,
    images: split.images.subarray(start * per, (start + n) * per),
    labels: split.labels.subarray(start, start + n),
  };
}
