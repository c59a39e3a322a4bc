/**
 * Tests of lib/figures: MIME bundles, tslab display routing, image grids,
 * tables, export names, Chromium discovery, and (when Chromium is installed)
 * real static rendering and export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../lib/tf';
import {
  ChromiumMissingError,
  PLOTLY_MIME,
  autoExportName,
  checkExportName,
  createFigures,
  figureBundle,
  findChromium,
  formatNumber,
  imageGridPng,
  kernelDisplay,
  labelGridText,
  normalizeTable,
  showImageGrid,
  showTable,
  standaloneHtml,
  tableToCsv,
  tableToHtml,
  tableToText,
  toPlainFigure,
  type MimeBundle,
  type PlotlyFigure,
} from '../lib/figures';
import { tempDirs } from './tmp';

const FIG: PlotlyFigure = {
  data: [
    { type: 'scatter', name: 'solver', x: [1, 2, 3], y: new Float32Array([0.5, 0.25, NaN]) },
    { type: 'bar', x: ['a', 'b'], y: [1, 2] },
  ],
  layout: { title: { text: 'Accuracy' }, width: 400, height: 300 },
};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const tmpDir = tempDirs('dgr-fig-test-');
const collect = (): { sink: (b: MimeBundle) => void; out: MimeBundle[] } => {
  const out: MimeBundle[] = [];
  return { sink: (b) => out.push(b), out };
};

test(
  'toPlainFigure turns typed arrays into arrays and NaN into null, ' + 'and rejects non-figures',
  () => {
    const plain = toPlainFigure(FIG);
    assert.deepEqual(plain.data[0]?.y, [0.5, 0.25, null]);
    assert.deepEqual(plain.data[1]?.x, ['a', 'b']);
    assert.throws(
      () => toPlainFigure({ x: [1] } as unknown as PlotlyFigure),
      /figure: expected a Plotly figure/,
    );
  },
);

test('figureBundle carries Plotly JSON, PNG and text in ONE bundle', () => {
  const png = new Uint8Array([...PNG_SIGNATURE, 1, 2, 3, 250]);
  const b = figureBundle(FIG, png, { pngSize: { width: 400, height: 300 } });
  assert.deepEqual(Object.keys(b.data), [PLOTLY_MIME, 'image/png', 'text/plain']);
  const plotly = b.data[PLOTLY_MIME] as { data: unknown[]; layout: { title: { text: string } } };
  assert.equal(plotly.data.length, 2);
  assert.equal(plotly.layout.title.text, 'Accuracy');
  assert.deepEqual([...Buffer.from(b.data['image/png'] as string, 'base64')], [...png]);
  assert.deepEqual(b.metadata['image/png'], { width: 400, height: 300 });
  assert.equal(b.data['text/plain'], '<Plotly figure "Accuracy": 2 traces (1 scatter, 1 bar)>');
  // The bundle must survive the JSON of the Jupyter protocol unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(b)), b);
});

test('figureBundle without a PNG keeps the interactive part and says why in the text', () => {
  const b = figureBundle(FIG, null, { note: '[static image missing: install chromium]' });
  assert.deepEqual(Object.keys(b.data), [PLOTLY_MIME, 'text/plain']);
  assert.match(b.data['text/plain'] as string, /static image missing: install chromium/);
});

test('kernelDisplay sends one display_data through the writer of the running tslab cell', () => {
  // Stand in for tslab's dist/jupyter.js, as the kernel has it loaded.
  const key = path.join(os.tmpdir(), 'fake', 'node_modules', 'tslab', 'dist', 'jupyter.js');
  const calls: {
    content: { data: Record<string, unknown>; transient: unknown };
    update: boolean;
  }[] = [];
  const fake = { lastWriteDisplayData: null as unknown };
  require.cache[key] = {
    id: key,
    filename: key,
    loaded: true,
    exports: fake,
  } as unknown as NodeJS.Module;
  try {
    fake.lastWriteDisplayData = (content: never, update: boolean) =>
      calls.push({ content, update });
    kernelDisplay(figureBundle(FIG, new Uint8Array(PNG_SIGNATURE)));
    // tslab swaps the writer for every cell: the next display must use the new one.
    const second: unknown[] = [];
    fake.lastWriteDisplayData = (content: unknown) => second.push(content);
    kernelDisplay(figureBundle(FIG, null));
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.update, false);
    assert.deepEqual(Object.keys(calls[0]?.content.data ?? {}), [
      PLOTLY_MIME,
      'image/png',
      'text/plain',
    ]);
    assert.deepEqual(calls[0]?.content.transient, {});
    assert.equal(second.length, 1);
  } finally {
    delete require.cache[key];
  }
});

/** Expected grid pixels (0..255), computed independently of the tf implementation. */
function expectedGrid(
  imgs: number[][][],
  h: number,
  w: number,
  cols: number,
  p: number,
  bg: number,
  scale: number,
): number[][] {
  const rows = Math.ceil(imgs.length / cols);
  const H = rows * (h + p) + p;
  const W = cols * (w + p) + p;
  const grid: number[][] = Array.from({ length: H }, () =>
    new Array<number>(W).fill(Math.round(bg * 255)),
  );
  imgs.forEach((img, k) => {
    const r0 = p + Math.floor(k / cols) * (h + p);
    const c0 = p + (k % cols) * (w + p);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) grid[r0 + i]![c0 + j] = Math.round((img[i]![j] ?? 0) * 255);
  });
  return Array.from({ length: H * scale }, (_, i) =>
    Array.from(
      { length: W * scale },
      (_, j) => grid[Math.floor(i / scale)]![Math.floor(j / scale)]!,
    ),
  );
}

test(
  'imageGridPng lays images out row by row (decodePng round trip) ' + 'and leaks no tensors',
  async () => {
    // Pixel values k/255, so the expected bytes are exact.
    const imgs = [
      [
        [0, 51, 102],
        [153, 204, 255],
      ],
      [
        [255, 255, 255],
        [0, 0, 0],
      ],
      [
        [128, 64, 192],
        [25, 230, 77],
      ],
    ].map((img) => img.map((row) => row.map((v) => v / 255)));
    const x = tf.tensor4d(imgs.flat(2), [3, 2, 3, 1]);
    const before = tf.memory().numTensors;
    const png = await imageGridPng(x, { cols: 2, padding: 1, background: 0.5, scale: 2 });
    assert.equal(tf.memory().numTensors, before, 'imageGridPng leaked tensors');
    assert.deepEqual([...png.slice(0, 8)], PNG_SIGNATURE);
    const decoded = tf.node.decodePng(png, 1);
    const want = expectedGrid(imgs, 2, 3, 2, 1, 0.5, 2);
    assert.deepEqual(decoded.shape, [want.length, want[0]!.length, 1]);
    assert.deepEqual(decoded.squeeze([2]).arraySync(), want);
    decoded.dispose();
    x.dispose();
  },
);

test('imageGridPng keeps colour channels and defaults to a square-ish layout', async () => {
  const x = tf.tidy(() =>
    tf.concat([tf.zeros([5, 4, 4, 1]), tf.ones([5, 4, 4, 1]), tf.fill([5, 4, 4, 1], 0.5)], 3),
  ) as Tensor4D;
  const png = await imageGridPng(x, { padding: 0 });
  const decoded = tf.node.decodePng(png, 3);
  assert.deepEqual(decoded.shape, [2 * 4, 3 * 4, 3]); // ceil(sqrt(5)) = 3 columns, 2 rows
  assert.deepEqual(Array.from(await decoded.slice([0, 0, 0], [1, 1, 3]).data()), [0, 255, 128]);
  tf.dispose([decoded, x]);
});

test('imageGridPng rejects bad input with errors naming the parameter', async () => {
  const bytes = tf.fill([2, 3, 3, 1], 255) as Tensor4D;
  await assert.rejects(
    imageGridPng(bytes),
    /images: expected values in \[0, 1\], got \[255, 255\]; divide 0\.\.255 pixels by 255/,
  );
  const two = tf.zeros([2, 3, 3, 2]) as Tensor4D;
  await assert.rejects(imageGridPng(two), /images: expected 1, 3 or 4 channels/);
  const ok = tf.zeros([2, 3, 3, 1]) as Tensor4D;
  await assert.rejects(
    imageGridPng(ok, { labels: [1] }),
    /labels: expected one label per image \(2\), got 1/,
  );
  await assert.rejects(imageGridPng(ok, { scale: 1.5 }), /scale: expected an integer/);
  await assert.rejects(
    imageGridPng(tf.zeros([3, 3]) as unknown as Tensor4D),
    /images: expected a Tensor4D/,
  );
  tf.dispose([bytes, two, ok]);
});

test('showImageGrid displays the PNG and the labels as a text grid', async () => {
  const x = tf.zeros([5, 2, 2, 1]) as Tensor4D;
  const { sink, out } = collect();
  const png = await showImageGrid(x, { cols: 3, labels: [7, 1, 10, 3, 4], display: sink });
  x.dispose();
  assert.equal(out.length, 2);
  assert.equal(out[0]?.data['image/png'], Buffer.from(png).toString('base64'));
  assert.equal(out[1]?.data['text/plain'], ' 7  1 10\n 3  4');
  assert.equal(labelGridText(['a'], 4), 'a');
});

test(
  'tables: rows and a danfojs DataFrame give the same CSV; ' + 'CSV quotes what it must',
  async () => {
    const rows = [
      { method: 'DGR', acc: 0.9712345, note: 'ratio r=0.5, "mixed"' },
      { method: 'ER', acc: NaN, note: null },
      { method: ' fine-tune', acc: 1, extra: true },
    ];
    const csv = tableToCsv(rows);
    assert.equal(
      csv,
      'method,acc,note,extra\n' +
        'DGR,0.9712345,"ratio r=0.5, ""mixed""",\n' +
        'ER,,,\n' +
        '" fine-tune",1,,true\n',
    );
    /* eslint-disable-next-line @typescript-eslint/no-require-imports --
     * the test loads danfojs only when it reaches this line */
    const dfd = require('danfojs-node') as typeof import('danfojs-node');
    const df = new dfd.DataFrame([
      { method: 'DGR', acc: 0.5 },
      { method: 'ER', acc: 0.25 },
    ]);
    assert.equal(tableToCsv(df), 'method,acc\nDGR,0.5\nER,0.25\n');
    assert.deepEqual(normalizeTable(df).columns, ['method', 'acc']);
    assert.throws(
      () => normalizeTable({ columns: ['a'] } as never),
      /table: expected an array of row objects or a DataFrame/,
    );
    assert.throws(() => normalizeTable([1] as never), /table: row 0 is not an object/);
  },
);

test('tables: HTML escapes, formats numbers and truncates; text fallback aligns', () => {
  const rows = [
    { name: '<b>&x', v: 0.123456 },
    { name: 'y', v: 12 },
    { name: 'z', v: 1.5e-7 },
  ];
  const html = tableToHtml(rows, { caption: 'A < B', maxRows: 2 });
  assert.match(html, /<caption>A &lt; B<\/caption>/);
  assert.match(html, /<td>&lt;b&gt;&amp;x<\/td><td style="text-align:right">0\.1235<\/td>/);
  assert.match(html, /<td style="text-align:right">12<\/td>/);
  assert.match(html, /… 1 more rows \(3 in all\)/);
  assert.doesNotMatch(html, /1\.5e-7/);
  assert.equal(formatNumber(1.5e-7, 4), '1.500e-7');
  assert.equal(formatNumber(0.5, 4), '0.5');
  assert.equal(tableToText(rows.slice(0, 2)), ' name       v\n<b>&x  0.1235\n    y      12');
  const { sink, out } = collect();
  showTable(rows, { display: sink });
  assert.deepEqual(Object.keys(out[0]?.data ?? {}), ['text/html', 'text/plain']);
  assert.throws(() => tableToHtml(rows, { digits: 0 }), /digits: expected an integer/);
});

test('export names are plain file stems', () => {
  assert.equal(checkExportName('split-mnist_acc.v2'), 'split-mnist_acc.v2');
  assert.equal(checkExportName('fig.png'), 'fig');
  for (const bad of ['', '../x', 'a/b', '.hidden', 'a b', 'x/../../y']) {
    assert.throws(() => checkExportName(bad), /name: expected a file stem/, bad);
  }
});

test(
  'findChromium: explicit path, then $DGR_CHROMIUM, then system paths; ' +
    'else an error saying how to install',
  () => {
    const has = (set: string[]) => (p: string) => set.includes(p);
    assert.equal(
      findChromium(undefined, {}, has(['/usr/bin/chromium-browser', '/usr/bin/google-chrome'])),
      '/usr/bin/chromium-browser',
    );
    assert.equal(
      findChromium(undefined, { DGR_CHROMIUM: '/opt/c' }, has(['/opt/c', '/usr/bin/chromium'])),
      '/opt/c',
    );
    assert.throws(
      () => findChromium('/nope', {}, has(['/usr/bin/chromium'])),
      (e: unknown) => {
        assert.ok(e instanceof ChromiumMissingError);
        assert.match(e.message, /\/nope \(chromiumPath option\)/);
        return true;
      },
    );
    assert.throws(() => findChromium(undefined, {}, has([])), /apt-get install chromium/);
  },
);

test('standaloneHtml: plotly.js inline or by URL, figure JSON cannot close the script tag', () => {
  const fig: PlotlyFigure = {
    data: [{ type: 'scatter', name: '</script><script>alert(1)</script>', y: [1, 2] }],
  };
  const inline = standaloneHtml(fig, { inline: 'window.Plotly = {}; // </script>' });
  assert.equal(inline.match(/<\/script>/g)?.length, 2); // the plotly.js tag and the newPlot tag
  assert.match(inline, /Plotly\.newPlot\("figure", \[\{"type":"scatter","name":"\\u003c\/script>/);
  const cdn = standaloneHtml(FIG, { src: 'https://cdn.plot.ly/plotly-3.1.0.min.js' });
  assert.match(cdn, /<script src="https:\/\/cdn\.plot\.ly\/plotly-3\.1\.0\.min\.js"/);
  assert.match(cdn, /<title>Accuracy<\/title>/);
});

test(
  'without Chromium: show still emits the interactive figure plus a note; ' +
    'exportFigure throws and writes nothing',
  async () => {
    const dir = path.join(tmpDir(), 'figures');
    const { sink, out } = collect();
    const figs = await createFigures({
      exportDir: dir,
      chromiumPath: '/nonexistent/chromium',
      display: sink,
    });
    const stderr = process.stderr.write;
    let warned = '';
    process.stderr.write = (s: string) => ((warned += s), true);
    try {
      await figs.show(FIG);
      await figs.show(FIG);
    } finally {
      process.stderr.write = stderr;
    }
    assert.equal(out.length, 2);
    assert.deepEqual(Object.keys(out[0]?.data ?? {}), [PLOTLY_MIME, 'text/plain']);
    assert.match(
      out[0]?.data['text/plain'] as string,
      /static image missing: Chromium was not found\. Install Chromium/,
    );
    assert.equal(
      warned.match(/Warning: figures are shown without a static PNG/g)?.length,
      1,
      'warn once per session',
    );
    await assert.rejects(
      figs.exportFigure(FIG, 'acc'),
      (e: unknown) =>
        e instanceof ChromiumMissingError && /apt-get install chromium/.test(e.message),
    );
    assert.equal(fs.existsSync(dir), false, 'nothing written');
    // Tables and grids need no browser.
    const csv = figs.exportTable([{ a: 1 }], 'results');
    assert.equal(fs.readFileSync(csv, 'utf8'), 'a\n1\n');
    await figs.close();
    await assert.rejects(figs.show(FIG), /figure session is closed/);
  },
);

let chromiumMissing: string | false = false;
try {
  findChromium();
} catch (e) {
  chromiumMissing = `Chromium not installed: ${(e as Error).message.split('\n')[0]}`;
}

test(
  'with Chromium: show renders a PNG of the layout size; exportFigure writes PNG, SVG and HTML',
  { skip: chromiumMissing },
  async () => {
    const dir = path.join(tmpDir(), 'figures');
    const { sink, out } = collect();
    const figs = await createFigures({ exportDir: dir, display: sink, htmlPlotlyJs: 'directory' });
    try {
      await figs.show(FIG);
      assert.ok((figs.launchMs() ?? 0) > 0);
      assert.deepEqual(Object.keys(out[0]?.data ?? {}), [PLOTLY_MIME, 'image/png', 'text/plain']);
      const shown = tf.node.decodePng(
        Buffer.from(out[0]?.data['image/png'] as string, 'base64'),
        3,
      );
      assert.deepEqual(shown.shape, [300, 400, 3]);
      // Not blank: a chart has dark text/lines on white.
      assert.ok((await shown.min().data())[0]! < 100);
      shown.dispose();

      const files = await figs.exportFigure(FIG, 'accuracy');
      assert.deepEqual(files, {
        png: path.join(dir, 'accuracy.png'),
        svg: path.join(dir, 'accuracy.svg'),
        html: path.join(dir, 'accuracy.html'),
      });
      const png = tf.node.decodePng(fs.readFileSync(files.png), 3);
      assert.deepEqual(png.shape, [600, 800, 3]); // export scale 2
      png.dispose();
      const svg = fs.readFileSync(files.svg, 'utf8');
      assert.match(svg, /^<svg[^>]*class="main-svg"/);
      assert.match(svg, /Accuracy/);
      const html = fs.readFileSync(files.html, 'utf8');
      assert.match(html, /<script src="\.\/plotly-[\d.]+\.js"/);
      assert.ok(fs.readdirSync(dir).some((f) => /^plotly-[\d.]+\.js$/.test(f)));
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
        [],
      );
    } finally {
      await figs.close();
    }
    await assert.rejects(figs.exportFigure(FIG, 'x'), /figure session is closed/);
  },
);

test('autoExportName: prefix, two-digit index and a slug of the title', () => {
  assert.equal(
    autoExportName('07-new-classes', 3, 'Accuracy <b>matrix</b>: class-IL, r = 1/t'),
    '07-new-classes-03-accuracy-matrix-class-il-r-1-t',
  );
  assert.equal(autoExportName('nb', 12, ''), 'nb-12');
  assert.doesNotThrow(() => checkExportName(autoExportName('a b', 1, '§3.2 Table 1')));
});

test(
  'with Chromium and autoExport: every shown figure is also exported',
  { skip: chromiumMissing },
  async () => {
    const dir = path.join(tmpDir(), 'figures');
    const { sink, out } = collect();
    const figs = await createFigures({
      exportDir: dir,
      display: sink,
      autoExport: '03-mixed-loss',
    });
    try {
      await figs.show(FIG);
      await figs.show(FIG);
    } finally {
      await figs.close();
    }
    assert.equal(out.length, 2);
    const stems = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.png'))
      .sort();
    assert.deepEqual(stems, ['03-mixed-loss-01-accuracy.png', '03-mixed-loss-02-accuracy.png']);
    assert.ok(
      fs.readdirSync(dir).some((f) => /^plotly-[\d.]+\.js$/.test(f)),
      'auto-export shares one plotly.js',
    );
  },
);
