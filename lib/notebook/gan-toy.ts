/**
 * Toy-GAN tools for notebook 01 (Shin et al. 2017, §2.2; Goodfellow et al. 2014): data whose
 * density is known, to watch a GAN learn it.
 * - Gaussian mixtures in 1-D or 2-D and a ring of Gaussians (the classic mode-collapse test);
 * - a Gaussian kernel density estimate of generator samples and a mode-coverage measure;
 * - a Plotly animation (frames + slider) of the generator's density during training, and the
 *   figures of notebook 01 §2 (the toy GAN animated, its D against the optimal D*).
 * The GANs themselves and their training loop are in gan.ts.
 */
import { tf } from '../tf';
import type { Tensor2D } from '@tensorflow/tfjs-node';
import { createRng } from '../rng';
import type { PlotlyFigure, PlotlyLayout, PlotlyTrace } from '../figures/types';

// ------------------------------------------------------------------------------------ toy data

/**
 * One isotropic Gaussian component: weight (normalised by {@link gaussianMixture}), mean,
 * standard deviation.
 */
export interface MixtureComponent {
  readonly weight: number;
  readonly mean: readonly number[];
  readonly std: number;
}

/** A mixture of isotropic Gaussians in `dim` dimensions; weights sum to 1. */
export interface GaussianMixture {
  readonly dim: number;
  readonly components: readonly MixtureComponent[];
}

/** A validated mixture (weights normalised to sum to 1). */
export function gaussianMixture(components: readonly MixtureComponent[]): GaussianMixture {
  if (!Array.isArray(components) || components.length === 0)
    throw new RangeError(
      'gaussianMixture: components must be a non-empty array of {weight, mean, std}',
    );
  const dim = (components[0] as MixtureComponent).mean.length;
  if (!(dim >= 1))
    throw new RangeError('gaussianMixture: components[0].mean must have at least one coordinate');
  let total = 0;
  components.forEach((c, i) => {
    if (c.mean.length !== dim)
      throw new RangeError(
        `gaussianMixture: components[${i}].mean has ${c.mean.length} coordinates, ` +
          `components[0] has ${dim}`,
      );
    if (!c.mean.every(Number.isFinite))
      throw new RangeError(`gaussianMixture: components[${i}].mean must be finite numbers`);
    if (!(c.std > 0) || !Number.isFinite(c.std))
      throw new RangeError(
        `gaussianMixture: components[${i}].std must be a positive number, got ${c.std}`,
      );
    if (!(c.weight > 0) || !Number.isFinite(c.weight))
      throw new RangeError(
        `gaussianMixture: components[${i}].weight must be a positive number, got ${c.weight}`,
      );
    total += c.weight;
  });
  return Object.freeze({
    dim,
    components: Object.freeze(
      components.map((c) =>
        Object.freeze({ weight: c.weight / total, mean: Object.freeze([...c.mean]), std: c.std }),
      ),
    ),
  });
}

/**
 * `modes` equal Gaussians (std `std`) evenly spaced on a circle of `radius` around `center`
 * (default: inside [0, 1]²).
 */
export function ringOfGaussians(
  modes = 8,
  radius = 0.35,
  std = 0.02,
  center: readonly [number, number] = [0.5, 0.5],
): GaussianMixture {
  if (!Number.isInteger(modes) || modes < 1)
    throw new RangeError(`ringOfGaussians: modes must be a positive integer, got ${modes}`);
  return gaussianMixture(
    Array.from({ length: modes }, (_, k) => ({
      weight: 1,
      mean: [
        center[0] + radius * Math.cos((2 * Math.PI * k) / modes),
        center[1] + radius * Math.sin((2 * Math.PI * k) / modes),
      ],
      std,
    })),
  );
}

/** n samples [n, dim] of the mixture, a pure function of `seed`. */
export function sampleMixture(m: GaussianMixture, n: number, seed: number): Tensor2D {
  if (!Number.isInteger(n) || n <= 0)
    throw new RangeError(`sampleMixture: n must be a positive integer, got ${n}`);
  const rng = createRng(seed);
  const out = new Float32Array(n * m.dim);
  for (let i = 0; i < n; i++) {
    let u = rng.next();
    let c = m.components[m.components.length - 1] as MixtureComponent;
    for (const comp of m.components) {
      if (u < comp.weight) {
        c = comp;
        break;
      }
      u -= comp.weight;
    }
    for (let j = 0; j < m.dim; j++)
      out[i * m.dim + j] = (c.mean[j] as number) + c.std * rng.normal();
  }
  return tf.tensor2d(out, [n, m.dim]);
}

/** Density p(x) of the mixture at points given row-major, `points.length / dim` rows. */
export function mixtureDensity(m: GaussianMixture, points: ArrayLike<number>): number[] {
  if (points.length % m.dim !== 0)
    throw new RangeError(
      `mixtureDensity: ${points.length} coordinates is not a multiple of dim ${m.dim}`,
    );
  const n = points.length / m.dim;
  const out = new Array<number>(n).fill(0);
  for (const c of m.components) {
    const norm = c.weight / Math.pow(Math.sqrt(2 * Math.PI) * c.std, m.dim);
    for (let i = 0; i < n; i++) {
      let d2 = 0;
      for (let j = 0; j < m.dim; j++) {
        const d = (points[i * m.dim + j] as number) - (c.mean[j] as number);
        d2 += d * d;
      }
      out[i] = (out[i] as number) + norm * Math.exp(-d2 / (2 * c.std * c.std));
    }
  }
  return out;
}

/** Evenly spaced numbers from `lo` to `hi` inclusive (`n` ≥ 2). */
export function linspace(lo: number, hi: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 2)
    throw new RangeError(`linspace: n must be an integer >= 2, got ${n}`);
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/**
 * Gaussian kernel density estimate of 1-D `samples` at `xs`. Bandwidth default:
 * Silverman's rule 1.06·σ̂·n^(−1/5) (floored at 1e-3).
 */
export function kde1d(
  samples: ArrayLike<number>,
  xs: readonly number[],
  bandwidth?: number,
): number[] {
  const n = samples.length;
  if (n === 0) throw new RangeError('kde1d: samples is empty');
  let h = bandwidth;
  if (h === undefined) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += samples[i] as number;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += ((samples[i] as number) - mean) ** 2;
    h = Math.max(1e-3, 1.06 * Math.sqrt(v / Math.max(1, n - 1)) * Math.pow(n, -0.2));
  }
  if (!(h > 0)) throw new RangeError(`kde1d: bandwidth must be positive, got ${h}`);
  const c = 1 / (n * h * Math.sqrt(2 * Math.PI));
  return xs.map((x) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const u = (x - (samples[i] as number)) / h;
      s += Math.exp(-0.5 * u * u);
    }
    return s * c;
  });
}

/** How well samples cover a mixture's modes (Metz et al. 2017's ring test). */
export interface ModeCoverage {
  /** Samples nearest to each component and within `withinStd` of its std (per component). */
  readonly perMode: readonly number[];
  /** Components holding at least `minShare` of the samples. */
  readonly covered: number;
  /**
   * Share of samples within `withinStd` standard deviations of their nearest mean ("high quality").
   */
  readonly highQuality: number;
}

/** Assigns each sample (row-major, `dim` per row) to its nearest component mean. */
export function modeCoverage(
  m: GaussianMixture,
  samples: ArrayLike<number>,
  opts: { readonly withinStd?: number; readonly minShare?: number } = {},
): ModeCoverage {
  const within = opts.withinStd ?? 3;
  const minShare = opts.minShare ?? 0.02;
  if (samples.length % m.dim !== 0 || samples.length === 0)
    throw new RangeError(
      `modeCoverage: ${samples.length} coordinates is not a positive multiple of dim ${m.dim}`,
    );
  const n = samples.length / m.dim;
  const perMode = new Array<number>(m.components.length).fill(0);
  let good = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestD = Infinity;
    m.components.forEach((c, k) => {
      let d2 = 0;
      for (let j = 0; j < m.dim; j++)
        d2 += ((samples[i * m.dim + j] as number) - (c.mean[j] as number)) ** 2;
      if (d2 < bestD) {
        bestD = d2;
        best = k;
      }
    });
    const c = m.components[best] as MixtureComponent;
    if (Math.sqrt(bestD) <= within * c.std) {
      perMode[best] = (perMode[best] as number) + 1;
      good++;
    }
  }
  return Object.freeze({
    perMode: Object.freeze(perMode),
    covered: perMode.filter((c) => c >= minShare * n).length,
    highQuality: good / n,
  });
}

// ---------------------------------------------------------------------------------- animation

/**
 * One animation frame: a name (slider label) and its traces (same order and count in every frame).
 */
export interface AnimationFrame {
  readonly name: string;
  readonly data: readonly PlotlyTrace[];
}

/**
 * A Plotly animation: `frames` with a slider and a play button. The figure's
 * own data is the LAST frame, so a static rendering (PNG) shows the end state.
 * Fix the axis ranges in `layout` so frames are comparable.
 */
export function animatedFigure(
  frames: readonly AnimationFrame[],
  layout: PlotlyLayout,
  opts: { readonly frameMs?: number; readonly sliderPrefix?: string } = {},
): PlotlyFigure {
  if (frames.length === 0) throw new RangeError('animatedFigure: frames is empty');
  const n = (frames[0] as AnimationFrame).data.length;
  frames.forEach((f, i) => {
    if (f.data.length !== n)
      throw new RangeError(
        `animatedFigure: frame ${i} (${f.name}) has ${f.data.length} traces, frame 0 has ${n}`,
      );
  });
  const ms = opts.frameMs ?? 400;
  const last = frames[frames.length - 1] as AnimationFrame;
  const marginB = 110;
  return {
    data: last.data,
    frames: frames.map((f) => ({ name: f.name, data: f.data })),
    layout: {
      ...layout,
      margin: { ...(layout.margin ?? {}), b: marginB },
      updatemenus: [
        {
          type: 'buttons',
          showactive: false,
          x: 0,
          y: -0.18,
          xanchor: 'left',
          yanchor: 'top',
          buttons: [
            {
              label: '▶ play',
              method: 'animate',
              args: [
                null,
                {
                  fromcurrent: false,
                  frame: { duration: ms, redraw: true },
                  transition: { duration: 0 },
                },
              ],
            },
            {
              label: '❚❚ pause',
              method: 'animate',
              args: [
                [null],
                {
                  mode: 'immediate',
                  frame: { duration: 0, redraw: false },
                  transition: { duration: 0 },
                },
              ],
            },
          ],
        },
      ],
      sliders: [
        {
          active: frames.length - 1,
          x: 0.2,
          len: 0.8,
          y: -0.12,
          yanchor: 'top',
          currentvalue: { prefix: opts.sliderPrefix ?? '' },
          steps: frames.map((f) => ({
            label: f.name,
            method: 'animate',
            args: [
              [f.name],
              {
                mode: 'immediate',
                frame: { duration: 0, redraw: true },
                transition: { duration: 0 },
              },
            ],
          })),
        },
      ],
    },
  };
}

// ------------------------------------------------------------------------------------- figures

/** Rounded to 4 decimals: the figure's JSON stays small and the curves look the same. */
function round4(v: readonly number[]): number[] {
  return v.map((y) => Math.round(y * 1e4) / 1e4);
}

function checkLength(what: string, v: readonly number[], n: number): void {
  if (v.length !== n)
    throw new RangeError(`${what} has ${v.length} values for a grid of ${n} points`);
}

/** A line over the grid, y rounded, with its style (colour, dash, axis). */
function gridLine(
  grid: readonly number[],
  name: string,
  y: readonly number[],
  style: PlotlyTrace,
): PlotlyTrace {
  return { type: 'scatter', mode: 'lines', name, x: grid, y: round4(y), ...style };
}

/** One frame of the toy-GAN animation: the generator's density and D(x) on the grid. */
export interface ToyGanFrame {
  /** Training iteration of the snapshot (the slider label). */
  readonly iteration: number;
  /** p_g on the grid (a KDE of the snapshot's samples, {@link kde1d}). */
  readonly pG: readonly number[];
  /** The discriminator's D(x) on the grid. */
  readonly d: readonly number[];
}

/**
 * Notebook 01 §2, a toy GAN learning a 1-D density: p_data (black) and p_g (crimson) on the
 * left axis, D(x) (dotted, right axis) on `grid`, one animation frame per snapshot.
 */
export function toyGanAnimation(
  grid: readonly number[],
  pData: readonly number[],
  frames: readonly ToyGanFrame[],
): PlotlyFigure {
  checkLength('toyGanAnimation: pData', pData, grid.length);
  const data = gridLine(grid, 'p_data(x)', pData, { line: { color: 'black' } });
  const toFrame = (f: ToyGanFrame): AnimationFrame => {
    checkLength(`toyGanAnimation: frame ${f.iteration} pG`, f.pG, grid.length);
    checkLength(`toyGanAnimation: frame ${f.iteration} d`, f.d, grid.length);
    const pG = gridLine(grid, 'p_g(x), KDE of 500 samples', f.pG, { line: { color: 'crimson' } });
    const dash = { yaxis: 'y2', line: { color: 'royalblue', dash: 'dot' } };
    return { name: String(f.iteration), data: [data, pG, gridLine(grid, 'D(x)', f.d, dash)] };
  };
  const layout: PlotlyLayout = {
    title: { text: 'Toy GAN: generator density and discriminator during training' },
    width: 760,
    height: 460,
    xaxis: { title: { text: 'x' }, range: [-4, 4] },
    yaxis: { title: { text: 'density' }, range: [0, 1.6] },
    yaxis2: { title: { text: 'D(x)' }, overlaying: 'y', side: 'right', range: [0, 1] },
    legend: { x: 0.01, y: 0.99 },
  };
  return animatedFigure(frames.map(toFrame), layout, { sliderPrefix: 'iteration ' });
}

/** The curves of {@link optimalDiscriminatorFigure}, each on the same grid. */
export interface DiscriminatorCurves {
  readonly pData: readonly number[];
  readonly pG: readonly number[];
  /** D*(x) = p_data(x) / (p_data(x) + p_g(x)). */
  readonly dStar: readonly number[];
  /** The trained discriminator's D(x). */
  readonly dNow: readonly number[];
}

/**
 * Notebook 01 §2: the optimal discriminator D* (black) against the trained D (blue), with the
 * mixture (p_data + p_g) / 2 that D is trained on dotted on the right axis.
 */
export function optimalDiscriminatorFigure(
  grid: readonly number[],
  c: DiscriminatorCurves,
): PlotlyFigure {
  for (const k of ['pData', 'pG', 'dStar', 'dNow'] as const)
    checkLength(`optimalDiscriminatorFigure: ${k}`, c[k], grid.length);
  const mixture = c.pData.map((p, i) => (p + (c.pG[i] as number)) / 2);
  return {
    data: [
      gridLine(grid, 'D*(x) = p_data / (p_data + p_g)', c.dStar, { line: { color: 'black' } }),
      gridLine(grid, 'trained D(x)', c.dNow, { line: { color: 'royalblue' } }),
      gridLine(grid, '(p_data + p_g) / 2 (where the comparison matters)', mixture, {
        yaxis: 'y2',
        line: { color: 'grey', dash: 'dot' },
      }),
    ],
    layout: {
      title: { text: 'Optimal vs trained discriminator after training' },
      width: 760,
      height: 420,
      xaxis: { title: { text: 'x' } },
      yaxis: { title: { text: 'probability "real"' }, range: [0, 1] },
      yaxis2: {
        title: { text: '(p_data + p_g) / 2' },
        overlaying: 'y',
        side: 'right',
        showgrid: false,
      },
      legend: { x: 0.01, y: -0.2, orientation: 'h' },
    },
  };
}
