/**
 * Notebook 05 (Shin et al. 2017, §4.1, permuted MNIST): sentences and tables computed from the
 * runs — generative against exact replay over seeds, where two methods differ task by task, and
 * the parts of the distillation loss (why it rises from task to task), and the budget probe that
 * chose the paper profile's iterations. No training here: the runs come from `runExperiment`
 * (experiments.ts), the probe from scripts/exp-permuted.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AccuracyMatrix } from '../engine/types';
import { displayPath, projectRoot } from '../engine/results';
import type { TableRow } from '../figures/table';
import type { LossPoint } from '../engine/train';
import { meanSd } from './experiments';

const pct = (v: number): string => (100 * v).toFixed(2);

function checkAccuracies(where: string, xs: readonly number[]): void {
  if (xs.length === 0) throw new RangeError(`${where}: no accuracies given (one per seed)`);
  for (const v of xs)
    if (!(v >= 0 && v <= 1))
      throw new RangeError(`${where}: accuracies must be fractions in [0, 1], got ${v}`);
}

/**
 * Generative against exact replay: the gap of the means, and whether it is within `maxPoints` over
 * at least `minSeeds` seeds each.
 */
export interface ReplayGap {
  /** Mean exact − mean generative, in points (negative: generative is above). */
  readonly gapPoints: number;
  /** Points beyond `maxPoints` (0 when within). */
  readonly shortPoints: number;
  readonly seeds: number;
  /** gap ≤ maxPoints and both sides have ≥ minSeeds seeds. */
  readonly holds: boolean;
  /** The comparison as a sentence, computed from the numbers. */
  readonly sentence: string;
}

/**
 * Compares generative replay's final average accuracies (one per seed, fractions) with exact
 * replay's: mean ± sd of each, the gap in points, and whether it is at most `maxPoints` with at
 * least `minSeeds` seeds on each side.
 */
export function replayGap(
  generative: readonly number[],
  exact: readonly number[],
  maxPoints: number,
  minSeeds = 3,
  label = 'Generative replay',
): ReplayGap {
  checkAccuracies('replayGap: generative', generative);
  checkAccuracies('replayGap: exact', exact);
  if (!(maxPoints >= 0)) throw new RangeError(`replayGap: maxPoints must be ≥ 0, got ${maxPoints}`);
  const g = meanSd(generative);
  const e = meanSd(exact);
  const gapPoints = 100 * (e.mean - g.mean);
  const shortPoints = Math.max(0, gapPoints - maxPoints);
  const seeds = Math.min(g.n, e.n);
  const holds = shortPoints === 0 && seeds >= minSeeds;
  const ms = (m: { mean: number; sd: number; n: number }): string =>
    `${pct(m.mean)} ± ${pct(m.sd)} % (sd over ${m.n} seed${m.n === 1 ? '' : 's'})`;
  const where =
    gapPoints <= 0
      ? `${(-gapPoints).toFixed(2)} points above exact replay`
      : `${gapPoints.toFixed(2)} points below exact replay`;
  const verdict =
    shortPoints > 0
      ? `more than ${maxPoints} points: ${shortPoints.toFixed(2)} points too many.`
      : seeds < minSeeds
        ? `within ${maxPoints} points, but over ${seeds} seed${seeds === 1 ? '' : 's'}, ` +
          `not ${minSeeds}.`
        : `within ${maxPoints} points over ${seeds} seeds.`;
  const sentence = `${label}: ${ms(g)}, exact replay: ${ms(e)}; ${where}, ${verdict}`;
  return Object.freeze({ gapPoints, shortPoints, seeds, holds, sentence });
}

/**
 * Where two runs differ after the last task, in points (a − b): on the earlier tasks (the mean of
 * R[T][j], j < T, what is remembered) and on the last task (what was just learned).
 */
export function finalRowDifference(
  a: AccuracyMatrix,
  b: AccuracyMatrix,
): { readonly oldTasks: number; readonly lastTask: number } {
  const ra = a[a.length - 1];
  const rb = b[b.length - 1];
  if (ra === undefined || rb === undefined || ra.length !== rb.length || ra.length < 2)
    throw new RangeError(
      'finalRowDifference: both accuracy matrices need the same number (≥ 2) of tasks',
    );
  const T = ra.length;
  let old = 0;
  for (let j = 0; j < T - 1; j++) old += (ra[j] as number) - (rb[j] as number);
  return {
    oldTasks: (100 * old) / (T - 1),
    lastTask: 100 * ((ra[T - 1] as number) - (rb[T - 1] as number)),
  };
}

/** One row of {@link distillationLossParts}. */
export interface DistillationLossRow {
  readonly task: number;
  /** r = 1/t, the weight of the current task's data. */
  readonly r: number;
  /** (1 − r)·T², the weight of the replayed rows' soft cross-entropy in the solver's loss. */
  readonly replayWeight: number;
  /** The solver's loss at the task's last iteration (one batch). */
  readonly loss: number;
  /**
   * loss / replayWeight: the soft cross-entropy per replayed row, in nats (the real rows' share is
   * small).
   */
  readonly perReplayedRow: number;
}

/**
 * The solver's loss with soft targets, L = r·CE(real) + (1 − r)·T²·CE(x′, softmax(z′/T)), taken
 * apart at the last recorded iteration of each task from the second on (needs the run's losses,
 * i.e. progress lines): the weight (1 − r)·T² of the replayed term and the loss divided by it. A
 * cross-entropy against soft targets cannot fall below the targets' entropy, so the loss of a
 * distilling solver never goes to 0 and grows with the weight.
 */
export function distillationLossParts(
  losses: readonly LossPoint[],
  temperature: number,
  ratio: (task: number) => number = (k) => 1 / (k + 1),
): DistillationLossRow[] {
  if (!(temperature > 0))
    throw new RangeError(`distillationLossParts: temperature must be > 0, got ${temperature}`);
  const lastOf = new Map<number, LossPoint>();
  for (const p of losses) {
    const seen = lastOf.get(p.task);
    if (seen === undefined || p.iteration >= seen.iteration) lastOf.set(p.task, p);
  }
  const tasks = [...lastOf.keys()].filter((k) => k > 0).sort((a, b) => a - b);
  if (tasks.length === 0)
    throw new RangeError(
      'distillationLossParts: no losses after the first task (run with progress lines on)',
    );
  return tasks.map((k) => {
    const p = lastOf.get(k) as LossPoint;
    const loss = p.losses.solver;
    if (loss === undefined)
      throw new RangeError(`distillationLossParts: task ${k + 1} has no solver loss recorded`);
    const r = ratio(k);
    const replayWeight = (1 - r) * temperature * temperature;
    return { task: k + 1, r, replayWeight, loss, perReplayedRow: loss / replayWeight };
  });
}

// ------------------------------------------------------------------------------------ the probe

/**
 * The budget probe of the paper profile (scripts/exp-permuted.ts), under results/investigations.
 */
export const PERMUTED_PROBE_FILE = 'permuted-mnist-wgan-gp-2026-12-01.jsonl';

/** One line of the probe: a 2-task run forked at `iterations` per task. */
export interface BudgetProbeLine {
  readonly iterations: number;
  readonly variant: 'none' | 'exact' | 'gr-hard' | 'gr-soft';
  /** Accuracy on tasks 1 and 2 after task 1. */
  readonly afterTask1: readonly number[];
  /** Accuracy on tasks 1 and 2 after task 2. */
  readonly afterTask2: readonly number[];
  /** Their mean after task 2. */
  readonly avg: number;
}

/** Reads the probe's lines (default: the committed file); a damaged line is an error naming it. */
export function loadBudgetProbe(
  file: string = path.join(projectRoot(), 'results', 'investigations', PERMUTED_PROBE_FILE),
): BudgetProbeLine[] {
  if (!fs.existsSync(file))
    throw new Error(
      `loadBudgetProbe: ${displayPath(file)} is missing; run scripts/exp-permuted.ts`,
    );
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const o = JSON.parse(l) as BudgetProbeLine;
      if (!Number.isInteger(o.iterations) || !Array.isArray(o.afterTask2) || !(o.avg >= 0))
        throw new Error(
          `loadBudgetProbe: line ${i + 1} of ${displayPath(file)} is not a probe line`,
        );
      return o;
    });
}

/**
 * One row per budget: task 1 after its own training, the average after task 2 with exact replay
 * and with generative replay (hard, soft), and generative (hard) − exact in points.
 */
export function budgetProbeRows(lines: readonly BudgetProbeLine[]): TableRow[] {
  const budgets = [...new Set(lines.map((l) => l.iterations))].sort((a, b) => a - b);
  return budgets.map((b) => {
    const at = (v: BudgetProbeLine['variant']): BudgetProbeLine | undefined =>
      lines.find((l) => l.iterations === b && l.variant === v);
    const first = lines.find((l) => l.iterations === b) as BudgetProbeLine;
    const exact = at('exact');
    const hard = at('gr-hard');
    const soft = at('gr-soft');
    const cell = (l: BudgetProbeLine | undefined): string => (l === undefined ? '—' : pct(l.avg));
    return {
      'iterations/task': b,
      'task 1 after task 1 (%)': pct(first.afterTask1[0] as number),
      'exact (%)': cell(exact),
      'GR WGAN-GP, hard (%)': cell(hard),
      'GR WGAN-GP, soft (%)': cell(soft),
      'hard − exact (points)':
        exact === undefined || hard === undefined ? '—' : (100 * (hard.avg - exact.avg)).toFixed(2),
    };
  });
}
