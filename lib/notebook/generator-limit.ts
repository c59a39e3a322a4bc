/**
 * Notebook 08 (Shin et al. 2017, §4): is the generator the only limit of generative replay? The
 * paper argues that replay is limited only by the quality of the generator, so that a perfect
 * generator gives what exact replay of the real data gives. We vary only the generator's training
 * budget (`ExperimentConfig.generatorIterations`; the solver's budget stays fixed), judge the last
 * generator's samples with a classifier trained separately on all of MNIST (its confidence, class
 * balance and a Fréchet distance of its logits: chain.ts `sampleQuality`), and put the quality
 * beside the final average accuracy, with exact replay (real data) as the limit.
 */
import { tf } from '../tf';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-node';
import type { Mnist } from '../data/mnist';
import type { Classifier } from '../engine/types';
import { adam, configWith, presets, type ExperimentConfig } from '../engine/config';
import { splitMnist } from '../engine/tasks';
import { trainSequence, type TrainOptions } from '../engine/train';
import { createRng } from '../rng';
import { sampleQuality, type SampleQuality } from './chain';
import { meanSd, type ReplayGrid } from './experiments';
import type { PlotlyFigure, PlotlyTrace } from '../figures/types';

// ------------------------------------------------------------------------------------ the judge

/** A classifier trained on all of MNIST, used only to judge samples. */
export interface Judge {
  /** Logits [n, 10] for images [n, 784] or [n, 28, 28, 1] in [0, 1]. */
  readonly classifier: Classifier;
  /** Its accuracy on the MNIST test set (all 10 digits). */
  readonly testAccuracy: number;
  /** The config it was trained with (a CNN solver, no replay). */
  readonly config: ExperimentConfig;
  readonly seconds: number;
  dispose(): void;
}

export interface JudgeOptions {
  /** Training iterations (batch 128). */
  readonly iterations: number;
  /** Its own seed (use one that no run of the experiment uses). */
  readonly seed: number;
  /** Training images (default: all 60,000). */
  readonly trainImages?: number;
  readonly progress?: TrainOptions['progress'];
}

/**
 * Trains the judge: a CNN (two 3×3 conv blocks of 32 and 64 channels, a 256-unit layer; Adam
 * 10⁻³, batch 128) on all ten digits of MNIST as one task, with its own seed. A network of another
 * kind than the solvers (MLPs) and trained on real data only, so it judges samples independently.
 */
export async function trainJudge(mnist: Mnist, opts: JudgeOptions): Promise<Judge> {
  const seq = splitMnist(mnist, {
    scenario: 'class',
    classesPerTask: 10,
    flatten: false,
    seed: opts.seed,
    ...(opts.trainImages === undefined ? {} : { trainPerTask: opts.trainImages }),
  });
  const config = configWith(presets.splitMnist('none'), {
    seed: opts.seed,
    iterations: opts.iterations,
    solver: {
      kind: 'cnn',
      channels: [32, 64],
      hidden: 256,
      init: 'torch',
      optimizer: adam(0.001),
    },
  });
  try {
    const r = await trainSequence(seq, config, { progress: opts.progress ?? false });
    const solver = r.scholar.solver;
    const classifier: Classifier = {
      predict: (x: Tensor): Tensor2D =>
        tf.tidy(() => solver.predict(tf.reshape(x, [x.shape[0], 28, 28, 1]))),
    };
    return Object.freeze({
      classifier,
      testAccuracy: (r.accuracy[0] as readonly number[])[0] as number,
      config,
      seconds: r.totalSeconds,
      dispose: () => r.scholar.dispose(),
    });
  } finally {
    seq.dispose();
  }
}

/**
 * n MNIST images [n, 784] in [0, 1], drawn without replacement from `split` by `seed` (all
 * digits): the real reference of the Fréchet distance (test split) and the "samples" of exact
 * replay, the perfect generator (training split). The caller disposes the tensor.
 */
export function mnistImages(
  mnist: Mnist,
  split: 'train' | 'test',
  n: number,
  seed: number,
): Tensor2D {
  const s = mnist[split];
  if (!Number.isInteger(n) || n < 2 || n > s.count)
    throw new RangeError(`mnistImages: n must be an integer in 2..${s.count}, got ${String(n)}`);
  const D = s.shape[0] * s.shape[1] * s.shape[2];
  const idx = createRng(seed).permutation(s.count).subarray(0, n);
  const out = new Float32Array(n * D);
  idx.forEach((j, i) => {
    for (let p = 0; p < D; p++) out[i * D + p] = (s.images[j * D + p] as number) / 255;
  });
  return tf.tensor2d(out, [n, D]);
}

/** The judge's view ({@link SampleQuality}) of a run's final samples against real images `real`. */
export async function gridQuality(
  judge: Classifier,
  grid: ReplayGrid,
  real: Tensor,
): Promise<SampleQuality> {
  const [n] = grid.shape;
  const x = tf.tensor2d(grid.pixels, [n, grid.pixels.length / n]);
  try {
    return await sampleQuality(judge, x, real);
  } finally {
    x.dispose();
  }
}

// ------------------------------------------------------------------------------ points and fit

/** One finished run: its generator and budget, the judged quality and the final accuracy. */
export interface LimitRun {
  /** 'VAE', 'WGAN-GP', … or 'exact' (real data: the perfect generator). */
  readonly generator: string;
  /** Generator iterations per task (null for exact replay). */
  readonly budget: number | null;
  readonly seed: number;
  /** Final average accuracy over all tasks (0..1). */
  readonly accuracy: number;
  readonly quality: SampleQuality;
}

/** Mean and sample sd over seeds. */
export interface SeedSpread {
  readonly mean: number;
  readonly sd: number;
}

/** One (generator, budget): mean ± sd over its seeds. */
export interface LimitPoint {
  readonly generator: string;
  readonly budget: number | null;
  readonly seeds: number;
  readonly accuracy: SeedSpread;
  readonly frechet: SeedSpread;
  readonly confidence: SeedSpread;
  readonly balance: SeedSpread;
}

const ms = (xs: readonly number[]): SeedSpread => {
  const { mean, sd } = meanSd(xs);
  return Object.freeze({ mean, sd });
};

/** Groups runs by (generator, budget), in order of first appearance. */
export function limitPoints(runs: readonly LimitRun[]): LimitPoint[] {
  const groups = new Map<string, LimitRun[]>();
  for (const r of runs) {
    const key = `${r.generator}|${String(r.budget)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const r0 = g[0] as LimitRun;
    return Object.freeze({
      generator: r0.generator,
      budget: r0.budget,
      seeds: g.length,
      accuracy: ms(g.map((r) => r.accuracy)),
      frechet: ms(g.map((r) => r.quality.frechetLogits)),
      confidence: ms(g.map((r) => r.quality.judgeConfidence)),
      balance: ms(g.map((r) => r.quality.classBalance)),
    });
  });
}

/**
 * Spearman's rank correlation of two equally long lists (average ranks for ties);
 * NaN below 3 values.
 */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError('spearman: lists of different lengths');
  if (a.length < 3) return Number.NaN;
  const rank = (xs: readonly number[]): number[] => {
    const order = xs.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(xs.length);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const n = a.length;
  const m = (n + 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    const x = (ra[i] as number) - m;
    const y = (rb[i] as number) - m;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da === 0 || db === 0 ? Number.NaN : num / Math.sqrt(da * db);
}

/** What the points say about the limit (accuracies 0..1, gaps in points). */
export interface LimitFit {
  /** Exact replay, the limit. */
  readonly exact: LimitPoint;
  /** The generator point with the highest mean accuracy. */
  readonly best: LimitPoint;
  /** 100 · (exact − best) mean accuracy, in points. */
  readonly gapPoints: number;
  /**
   * Spearman's ρ of Fréchet distance and accuracy over the generator points (negative: better
   * samples, higher accuracy).
   */
  readonly rho: number;
  /** Least-squares line accuracy = a + b·log10(Fréchet distance) over the generator points. */
  readonly line: { readonly a: number; readonly b: number };
  /** The line at the real data's Fréchet distance (exact replay's x): an extrapolation. */
  readonly predictedAtReal: number;
  /** Per generator: accuracy gained from its second-largest to its largest budget, in points. */
  readonly lastStep: readonly {
    readonly generator: string;
    readonly from: number;
    readonly to: number;
    readonly points: number;
  }[];
}

/** The fit of {@link LimitFit}; needs an 'exact' point and at least two generator points. */
export function limitFit(points: readonly LimitPoint[]): LimitFit {
  const exact = points.find((p) => p.generator === 'exact');
  const gen = points.filter((p) => p.generator !== 'exact');
  if (exact === undefined) throw new RangeError("limitFit: no 'exact' point");
  if (gen.length < 2) throw new RangeError('limitFit: need at least two generator points');
  const best = gen.reduce((a, b) => (b.accuracy.mean > a.accuracy.mean ? b : a));
  const lx = gen.map((p) => Math.log10(Math.max(p.frechet.mean, 1e-6)));
  const ly = gen.map((p) => p.accuracy.mean);
  const mx = lx.reduce((s, v) => s + v, 0) / lx.length;
  const my = ly.reduce((s, v) => s + v, 0) / ly.length;
  let sxy = 0;
  let sxx = 0;
  lx.forEach((x, i) => {
    sxy += (x - mx) * ((ly[i] as number) - my);
    sxx += (x - mx) ** 2;
  });
  const b = sxx === 0 ? 0 : sxy / sxx;
  const a = my - b * mx;
  const lastStep = [...new Set(gen.map((p) => p.generator))].flatMap((g) => {
    const ps = gen
      .filter((p) => p.generator === g && p.budget !== null)
      .sort((p, q) => (p.budget as number) - (q.budget as number));
    if (ps.length < 2) return [];
    const [p1, p2] = [ps[ps.length - 2] as LimitPoint, ps[ps.length - 1] as LimitPoint];
    return [
      {
        generator: g,
        from: p1.budget as number,
        to: p2.budget as number,
        points: 100 * (p2.accuracy.mean - p1.accuracy.mean),
      },
    ];
  });
  return Object.freeze({
    exact,
    best,
    gapPoints: 100 * (exact.accuracy.mean - best.accuracy.mean),
    rho: spearman(
      gen.map((p) => p.frechet.mean),
      ly,
    ),
    line: { a, b },
    predictedAtReal: a + b * Math.log10(Math.max(exact.frechet.mean, 1e-6)),
    lastStep: Object.freeze(lastStep),
  });
}

const pc = (v: number): string => `${(100 * v).toFixed(2)}%`;
const pts = (v: number): string => `${v.toFixed(2)} points`;
/** A mean accuracy ± its sd over seeds, both in percent: '91.22% ± 1.50'. */
const spreadPc = (s: SeedSpread): string => `${pc(s.mean)} ± ${(100 * s.sd).toFixed(2)}`;

/**
 * The fit as sentences for the reader: the trend (ρ), the best generator and its gap to exact
 * replay, the last budget step of each generator, and the line's value at the real data's quality.
 * `closeEnough` (points, default 2): a gap at most this large counts as reaching the limit.
 */
export function describeLimit(fit: LimitFit, closeEnough = 2): string {
  const trend =
    fit.rho <= -0.5
      ? 'Accuracy rises as the Fréchet distance falls'
      : fit.rho < 0
        ? 'Accuracy rises only weakly as the Fréchet distance falls'
        : 'Accuracy does not rise as the Fréchet distance falls';
  const b = fit.best;
  const budget = b.budget === null ? '' : ` at ${b.budget} it/task`;
  const steps = fit.lastStep
    .map(
      (s) =>
        `${s.generator} ${s.from}→${s.to} it/task: ${s.points >= 0 ? '+' : ''}${pts(s.points)}`,
    )
    .join('; ');
  const reached =
    fit.gapPoints <= closeEnough
      ? `so the best generator here reaches exact replay within ${closeEnough} points.`
      : `so replay stops ${pts(fit.gapPoints)} short of exact replay at the best ` +
        'quality reached here.';
  return [
    `${trend} (Spearman ρ = ${fit.rho.toFixed(2)} over the generator points).`,
    `The best generator, ${b.generator}${budget} (Fréchet distance ${b.frechet.mean.toFixed(2)}),`,
    `reaches ${spreadPc(b.accuracy)},`,
    `exact replay ${spreadPc(fit.exact.accuracy)}`,
    `(real images: Fréchet distance ${fit.exact.frechet.mean.toFixed(2)}): ` +
      `a gap of ${pts(fit.gapPoints)},`,
    reached,
    steps === '' ? '' : `The last budget step added: ${steps}.`,
    `The line through the generator points, accuracy against log₁₀ Fréchet distance,`,
    fit.predictedAtReal >= 1
      ? "passes 100% before the real images' distance (an extrapolation: it cannot hold there)."
      : `gives ${pc(fit.predictedAtReal)} at the real images' distance (an extrapolation).`,
  ]
    .filter((s) => s !== '')
    .join(' ');
}

/**
 * Two generators at their largest budgets compared as the paper's claim would have it: if quality
 * were the only limit, the one whose samples are closer to the real ones (smaller Fréchet
 * distance) would replay better. Says whether the judge's distance ranks them as the accuracy
 * does, with the judge's confidence and class balance beside it. `a` and `b` must be generator
 * points (not exact replay).
 */
export function describePair(a: LimitPoint, b: LimitPoint): string {
  if (a.budget === null || b.budget === null)
    throw new RangeError('describePair: compare two generators, not exact replay');
  const [near, far] = a.frechet.mean <= b.frechet.mean ? [a, b] : [b, a];
  const diff = 100 * (near.accuracy.mean - far.accuracy.mean);
  const at = (p: LimitPoint): string => `${p.generator} (${String(p.budget)} it/task)`;
  const same = diff >= 0;
  const accuracies = `(${spreadPc(near.accuracy)} vs ${spreadPc(far.accuracy)}):`;
  return [
    `${at(near)} draws samples closer to the real ones than ${at(far)}`,
    `(Fréchet distance ${near.frechet.mean.toFixed(2)} vs ${far.frechet.mean.toFixed(2)})`,
    same
      ? `and replays ${pts(diff)} better ${accuracies}`
      : `yet replays ${pts(-diff)} worse ${accuracies}`,
    same
      ? "here the judge's distance ranks the two generators as their accuracy does."
      : "the judge's distance ranks the two generators the other way round from their accuracy, " +
        'so this measure of sample quality does not decide the accuracy alone.',
    `Judge confidence ${near.confidence.mean.toFixed(3)} vs ${far.confidence.mean.toFixed(3)},`,
    `class balance ${near.balance.mean.toFixed(3)} vs ${far.balance.mean.toFixed(3)}.`,
  ].join(' ');
}

// ------------------------------------------------------------------------------------ figure

/**
 * Quality against accuracy: one marker per (generator, budget) at its mean Fréchet distance (log
 * axis) and mean final accuracy, ± sd over seeds both ways, labelled by the budget; exact replay
 * as a horizontal line (the limit) and a marker at the real images' distance.
 */
export function qualityAccuracyFigure(points: readonly LimitPoint[], title: string): PlotlyFigure {
  const exact = points.find((p) => p.generator === 'exact');
  const kinds = [...new Set(points.filter((p) => p.generator !== 'exact').map((p) => p.generator))];
  const data: PlotlyTrace[] = kinds.map((g) => {
    const ps = points
      .filter((p) => p.generator === g)
      .sort((p, q) => (p.budget ?? 0) - (q.budget ?? 0));
    return {
      type: 'scatter',
      mode: 'lines+markers+text',
      name: g,
      x: ps.map((p) => p.frechet.mean),
      y: ps.map((p) => 100 * p.accuracy.mean),
      error_x: { type: 'data', array: ps.map((p) => p.frechet.sd), visible: true, width: 2 },
      error_y: { type: 'data', array: ps.map((p) => 100 * p.accuracy.sd), visible: true, width: 2 },
      text: ps.map((p) => `${p.budget ?? ''}`),
      textposition: 'top center',
      hovertemplate: `${g}, %{text} it/task: Fréchet %{x:.2f}, accuracy %{y:.2f}%<extra></extra>`,
    };
  });
  const shapes: unknown[] = [];
  const annotations: unknown[] = [];
  if (exact !== undefined) {
    const y = 100 * exact.accuracy.mean;
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: 'exact replay (real images)',
      x: [exact.frechet.mean],
      y: [y],
      marker: { symbol: 'star', size: 12, color: 'black' },
      error_y: { type: 'data', array: [100 * exact.accuracy.sd], visible: true, width: 2 },
    });
    shapes.push({
      type: 'line',
      xref: 'paper',
      yref: 'y',
      x0: 0,
      x1: 1,
      y0: y,
      y1: y,
      line: { dash: 'dash', width: 1, color: 'black' },
    });
    annotations.push({
      text: `exact replay ${y.toFixed(1)}%`,
      xref: 'paper',
      yref: 'y',
      x: 1,
      y,
      xanchor: 'right',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 11 },
    });
  }
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: {
        title: {
          text: "Fréchet distance to real test images (judge's logits; log scale, lower is better)",
        },
        type: 'log',
        autorange: 'reversed',
      },
      yaxis: { title: { text: 'final average accuracy, 5 tasks (%)' } },
      shapes,
      annotations,
      width: 760,
      height: 460,
      legend: { orientation: 'h', y: -0.22 },
    },
  };
}
