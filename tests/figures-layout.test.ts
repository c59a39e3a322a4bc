import { test } from 'node:test';
import assert from 'node:assert/strict';
import { abbreviateLongColumns, tableToHtml, tableToText, tableToCsv } from '../lib/figures/table';
import { MAX_FIGURE_WIDTH, panelGrid, shortTaskLabels } from '../lib/figures/panels';
import { fitScale } from '../lib/figures/grid';
import { accuracyHeatmapsFigure, describeMetrics } from '../lib/notebook/experiments';

const LONG_A = 'MNIST (resized to 32×32×3) → Colour-MNIST-32 (synthetic, derived from MNIST)';
const LONG_B = 'Colour-MNIST-32 (synthetic, derived from MNIST) → MNIST (resized to 32×32×3)';
const rows = [
  { order: LONG_A, method: 'None', acc: 0.5 },
  { order: LONG_A, method: 'Exact replay', acc: 0.75 },
  { order: LONG_B, method: 'None', acc: 0.25 },
];

test('long repeated names become a short key explained under the table; CSV keeps them', () => {
  const { table, keys } = abbreviateLongColumns(rows);
  assert.deepEqual(
    table.rows.map((r) => r[0]),
    ['A', 'A', 'B'],
  );
  assert.deepEqual(keys, [
    {
      column: 'order',
      entries: [
        ['A', LONG_A],
        ['B', LONG_B],
      ],
    },
  ]);
  assert.deepEqual(
    table.rows.map((r) => r[1]),
    ['None', 'Exact replay', 'None'],
    'short texts stay',
  );
  const html = tableToHtml(rows);
  assert.ok(
    html.includes('<td>A</td>') &&
      html.includes(`<p>order: A = ${LONG_A.replace(/→/g, '→')}; B = `),
  );
  const text = tableToText(rows).split('\n');
  assert.ok(
    text.every((l) => l.length < 100) || text.at(-1)!.startsWith('order: A = '),
    text.join('\n'),
  );
  assert.match(tableToText(rows).split('\n')[1]!, /^\s*A\s+None\s+0.5$/);
  assert.ok(tableToCsv(rows).includes(LONG_A), 'CSV has the full names');
  // unique long texts (one per row) are not abbreviated: there is nothing to save
  const unique = abbreviateLongColumns([{ n: LONG_A }, { n: LONG_B }]);
  assert.equal(unique.keys.length, 0);
  assert.equal(abbreviateLongColumns(rows, 0).keys.length, 0, '0 turns it off');
  assert.ok(
    tableToHtml(rows, { abbreviateOver: 0 }).includes(`<td>${LONG_A}</td>`),
    'abbreviateOver 0 keeps the text',
  );
});

test(
  'panelGrid: any number of panels fits 960 px; ' + 'rows are balanced; panels do not overlap',
  () => {
    for (let n = 1; n <= 12; n++) {
      const g = panelGrid(n);
      assert.ok(g.width <= MAX_FIGURE_WIDTH, `n = ${n}: width ${g.width}`);
      assert.equal(
        g.rows * g.cols >= n && (g.rows - 1) * g.cols < n,
        true,
        `n = ${n}: ${g.rows}×${g.cols}`,
      );
      const panelPx = (g.domain(0).x[1] - g.domain(0).x[0]) * (g.width - g.margin.l - g.margin.r);
      assert.ok(panelPx >= 169, `n = ${n}: panels ${panelPx.toFixed(0)} px wide`);
      for (let k = 1; k < n; k++) {
        const a = g.domain(k - 1);
        const b = g.domain(k);
        const sameRow = g.cell(k).row === g.cell(k - 1).row;
        assert.ok(
          sameRow ? b.x[0] > a.x[1] : b.y[1] < a.y[0],
          `n = ${n}: panels ${k - 1} and ${k} overlap`,
        );
      }
    }
    assert.deepEqual(
      [5, 4, 3].map((n) => [panelGrid(n).rows, panelGrid(n).cols]),
      [
        [2, 3],
        [1, 4],
        [1, 3],
      ],
    );
    assert.throws(() => panelGrid(0), /positive integer/);
  },
);

test('shortTaskLabels drops a common first word, else numbers the tasks', () => {
  assert.deepEqual(shortTaskLabels(['permutation 0', 'permutation 1']), ['0', '1']);
  assert.deepEqual(shortTaskLabels(['digits 0/1', 'digits 2/3']), ['0/1', '2/3']);
  assert.deepEqual(shortTaskLabels(['MNIST (resized)', 'Colour-MNIST-32 (synthetic)']), [
    'T1',
    'T2',
  ]);
});

test('accuracyHeatmapsFigure: 5 panels in 2 rows under 960 px, one colour bar, short ticks', () => {
  const acc = [
    [1, 0],
    [0.5, 1],
  ];
  const panels = Array.from({ length: 5 }, (_, k) => ({
    title: `m${k}`,
    accuracy: acc,
    taskNames: ['permutation 0', 'permutation 1'],
  }));
  const f = accuracyHeatmapsFigure(panels, 'R');
  assert.ok((f.layout?.width ?? 0) <= 960);
  assert.equal(
    f.data.filter((t) => t.coloraxis === 'coloraxis').length,
    5,
    'all panels share one colour axis',
  );
  assert.equal(
    f.data.some((t) => t.showscale === true),
    false,
  );
  assert.deepEqual(f.data[0]?.x, ['0', '1']);
  const y = (k: number): number[] =>
    (f.layout?.[`yaxis${k === 0 ? '' : k + 1}`] as { domain: number[] }).domain;
  assert.ok((y(3)[1] ?? 1) < (y(0)[0] ?? 0), 'panel 4 is on the second row');
});

test('describeMetrics names a missing forward transfer instead of printing NaN', () => {
  const text = describeMetrics({
    averageAccuracy: 0.93176,
    backwardTransfer: -0.0671,
    forwardTransfer: Number.NaN,
    forgetting: 0.0671,
  });
  assert.equal(
    text,
    'average accuracy 93.18%, backward transfer −6.71 points, forgetting 6.71 points; ' +
      "forward transfer not measured (it needs the untrained model's accuracy on each task)",
  );
  assert.ok(
    !describeMetrics({
      averageAccuracy: 1,
      backwardTransfer: 0,
      forwardTransfer: 0.1,
      forgetting: 0,
    }).includes('NaN'),
  );
});

test('fitScale: image grids shrink by whole pixels to fit the output area', () => {
  assert.equal(
    fitScale({ cols: 12, w: 28, padding: 1, scale: 2 }, 960),
    2,
    '12 × 29 × 2 = 698 px fits',
  );
  assert.equal(
    fitScale({ cols: 20, w: 28, padding: 1, scale: 3 }, 960),
    1,
    '20 × 29 × 2 = 1162 px does not',
  );
  assert.equal(fitScale({ cols: 40, w: 28, padding: 1, scale: 1 }, 960), 1, 'never below 1');
});
