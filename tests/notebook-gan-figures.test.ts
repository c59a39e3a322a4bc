/**
 * Tests of notebook 01's figure builders (lib/notebook/gan-toy.ts, lib/notebook/gan.ts): trace
 * count and names, axis titles, sizes that fit the notebook, rounded curves, and inputs of the
 * wrong length rejected. Pure functions: no training.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  optimalDiscriminatorFigure,
  toyGanAnimation,
  type ToyGanFrame,
} from '../lib/notebook/gan-toy';
import {
  ganLossFigure,
  generatorGradientFigure,
  sampleClassesFigure,
  wganLossFigure,
  type GanLossPoint,
} from '../lib/notebook/gan';
import type { PlotlyFigure, PlotlyLayout } from '../lib/figures';

const names = (f: PlotlyFigure): (string | undefined)[] => f.data.map((t) => t.name);
const axisTitle = (layout: PlotlyLayout | undefined, axis: string): unknown =>
  (layout?.[axis] as { title?: { text?: string } } | undefined)?.title?.text;
const fits = (f: PlotlyFigure): void => {
  assert.ok((f.layout?.width ?? Infinity) <= 1000, `width ${f.layout?.width}`);
  assert.ok((f.layout?.height ?? Infinity) <= 600, `height ${f.layout?.height}`);
};

test('generatorGradientFigure: the minimax and non-saturating gradient sizes against D', () => {
  const d = [0.25, 0.5, 0.75];
  const f = generatorGradientFigure(d, { minimax: d, nonSaturating: d.map((v) => 1 - v) });
  assert.equal(f.data.length, 2);
  assert.match(String(f.data[0]?.name), /^minimax/);
  assert.match(String(f.data[1]?.name), /^non-saturating/);
  assert.deepEqual(f.data[1]?.y, [0.75, 0.5, 0.25]);
  assert.equal(axisTitle(f.layout, 'xaxis'), 'D(G(z)): how real D finds the fake');
  fits(f);
  assert.throws(
    () => generatorGradientFigure(d, { minimax: d, nonSaturating: [1] }),
    /nonSaturating has 1 values/,
  );
});

test('toyGanAnimation: one frame per snapshot, three rounded curves, D on the right axis', () => {
  const grid = [-1, 0, 1];
  const frames: ToyGanFrame[] = [0, 10, 20].map((it) => ({
    iteration: it,
    pG: [0.123456, 0.2, 0.3],
    d: [0.5, 0.5, 0.5],
  }));
  const f = toyGanAnimation(grid, [0.1, 0.2, 0.3], frames);
  assert.equal(f.frames?.length, 3);
  assert.deepEqual(names(f), ['p_data(x)', 'p_g(x), KDE of 500 samples', 'D(x)']);
  assert.deepEqual(f.data[1]?.y, [0.1235, 0.2, 0.3]);
  assert.equal(f.data[2]?.yaxis, 'y2');
  assert.equal(axisTitle(f.layout, 'yaxis'), 'density');
  assert.equal(axisTitle(f.layout, 'yaxis2'), 'D(x)');
  fits(f);
  assert.throws(
    () => toyGanAnimation(grid, [0.1, 0.2, 0.3], [{ iteration: 5, pG: [1], d: [0, 0, 0] }]),
    /frame 5 pG has 1 values for a grid of 3 points/,
  );
});

test('optimalDiscriminatorFigure: D*, trained D and the mixture (p_data + p_g) / 2', () => {
  const grid = [0, 1];
  const f = optimalDiscriminatorFigure(grid, {
    pData: [0.2, 0.4],
    pG: [0.4, 0.2],
    dStar: [1 / 3, 2 / 3],
    dNow: [0.5, 0.5],
  });
  assert.equal(f.data.length, 3);
  assert.match(String(f.data[0]?.name), /^D\*\(x\)/);
  assert.equal(f.data[1]?.name, 'trained D(x)');
  assert.deepEqual(f.data[2]?.y, [0.3, 0.3]);
  assert.deepEqual(f.data[0]?.y, [0.3333, 0.6667]);
  assert.equal(axisTitle(f.layout, 'yaxis2'), '(p_data + p_g) / 2');
  fits(f);
  assert.throws(
    () => optimalDiscriminatorFigure(grid, { pData: [1], pG: [1, 1], dStar: [1, 1], dNow: [1, 1] }),
    /pData has 1 values/,
  );
});

const losses: GanLossPoint[] = [
  { iteration: 10, losses: { discriminator: 1.2, generator: 0.8 } },
  { iteration: 20, losses: { discriminator: 1.3, generator: 0.7 } },
];

test('ganLossFigure: one line per loss and log 4 dashed over the recorded iterations', () => {
  const f = ganLossFigure(losses, 'Toy GAN losses', 'log 4 (equilibrium)');
  assert.deepEqual(names(f), ['discriminator', 'generator', 'log 4 (equilibrium)']);
  assert.deepEqual(f.data[2]?.x, [0, 20]);
  assert.deepEqual(f.data[2]?.y, [Math.log(4), Math.log(4)]);
  assert.deepEqual(f.layout?.title, { text: 'Toy GAN losses' });
  assert.equal(axisTitle(f.layout, 'xaxis'), 'iteration');
  assert.equal(axisTitle(f.layout, 'yaxis'), 'loss');
  fits(f);
  assert.throws(() => ganLossFigure([], 't', 'log 4'), /no losses recorded/);
});

test('wganLossFigure: critic, generator, gp and the Wasserstein estimate', () => {
  const points: GanLossPoint[] = [
    { iteration: 1, losses: { critic: -2, generator: 1, gp: 0.1 } },
    { iteration: 2, losses: { critic: -1, generator: 2, gp: 0.2 } },
  ];
  const f = wganLossFigure(points, [3, 3]);
  assert.equal(f.data.length, 4);
  assert.deepEqual(names(f).slice(0, 3), ['critic', 'generator', 'gp']);
  assert.match(String(f.data[3]?.name), /^Wasserstein estimate/);
  assert.deepEqual(f.data[3]?.x, [1, 2]);
  assert.deepEqual(f.data[3]?.y, [3, 3]);
  assert.equal(axisTitle(f.layout, 'xaxis'), 'iteration (generator steps)');
  fits(f);
  assert.throws(() => wganLossFigure(points, [3]), /1 estimates for 2 loss points/);
});

test('sampleClassesFigure: one bar trace per source, shares per digit summing to 1', () => {
  const counts = (top: number): number[] =>
    Array.from({ length: 10 }, (_, k) => (k === top ? 7 : 1));
  const classes = (top: number) => ({
    counts: counts(top),
    meanConfidence: 0.8,
    confidentShare: 0.5,
    threshold: 0.9,
  });
  const f = sampleClassesFigure({ real: classes(0), GAN: classes(3) });
  assert.deepEqual(names(f), ['real', 'GAN']);
  assert.equal(f.data[0]?.type, 'bar');
  assert.deepEqual(f.data[1]?.x, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const y = f.data[1]?.y as number[];
  assert.ok(Math.abs(y.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.equal(y[3], 7 / 16);
  assert.equal(f.layout?.barmode, 'group');
  assert.equal(axisTitle(f.layout, 'yaxis'), 'share of samples');
  fits(f);
});
