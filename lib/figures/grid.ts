/**
 * Image grids of generated samples (e.g. the generator's replayed inputs x',
 * Shin et al. 2017, Fig. 3) as PNG, encoded by tfjs-node.
 */
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { pngBundle, textBundle, kernelDisplay } from './display';
import type { DisplaySink } from './types';
import { MAX_FIGURE_WIDTH } from './panels';

export interface ImageGridOptions {
  /** Images per row (default ceil(sqrt(n))). */
  readonly cols?: number;
  /** Integer upscaling factor, nearest neighbour (default 1). */
  readonly scale?: number;
  /** Pixels (before scaling) between and around images (default 1). */
  readonly padding?: number;
  /** Intensity in [0, 1] of padding and empty cells (default 1: white). */
  readonly background?: number;
  /**
   * One label per image (e.g. the solver's predicted class). Not drawn into
   * pixels; {@link showImageGrid} prints them as a text grid below the image.
   */
  readonly labels?: readonly (string | number)[];
}

interface GridGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly cols: number;
  readonly rows: number;
  readonly scale: number;
  readonly padding: number;
  readonly background: number;
}

function geometry(images: Tensor4D, opts: ImageGridOptions): GridGeometry {
  if (
    images === null ||
    typeof images !== 'object' ||
    !Array.isArray(images.shape) ||
    images.rank !== 4
  ) {
    throw new TypeError(
      'images: expected a Tensor4D [n, height, width, channels], ' +
        `got ${images?.shape ? `shape [${images.shape}]` : typeof images}`,
    );
  }
  const [n, h, w, c] = images.shape;
  if (n < 1) throw new RangeError('images: the batch is empty (n = 0)');
  if (c !== 1 && c !== 3 && c !== 4)
    throw new RangeError(
      `images: expected 1, 3 or 4 channels (last axis), got ${c}; ` +
        'reshape flat inputs to [n, 28, 28, 1]',
    );
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const scale = opts.scale ?? 1;
  const padding = opts.padding ?? 1;
  const background = opts.background ?? 1;
  if (!Number.isInteger(cols) || cols < 1)
    throw new RangeError(`cols: expected a positive integer, got ${cols}`);
  if (!Number.isInteger(scale) || scale < 1 || scale > 32)
    throw new RangeError(`scale: expected an integer in [1, 32], got ${scale}`);
  if (!Number.isInteger(padding) || padding < 0 || padding > 64)
    throw new RangeError(`padding: expected an integer in [0, 64], got ${padding}`);
  if (!(background >= 0 && background <= 1))
    throw new RangeError(`background: expected a number in [0, 1], got ${background}`);
  if (opts.labels !== undefined && opts.labels.length !== n) {
    throw new RangeError(`labels: expected one label per image (${n}), got ${opts.labels.length}`);
  }
  return {
    n,
    h,
    w,
    c,
    cols: Math.min(cols, n),
    rows: Math.ceil(n / Math.min(cols, n)),
    scale,
    padding,
    background,
  };
}

/**
 * Lays images out row by row and encodes the grid as PNG.
 *
 * @param images [n, h, w, c] float values in [0, 1], c ∈ {1, 3, 4} (not disposed)
 * @returns PNG bytes of a [(rows·(h+p)+p)·scale, (cols·(w+p)+p)·scale, c] image
 * @throws RangeError when values fall outside [0, 1] (e.g. 0..255 pixels not divided by 255)
 */
export async function imageGridPng(
  images: Tensor4D,
  opts: ImageGridOptions = {},
): Promise<Uint8Array> {
  const g = geometry(images, opts);
  const [lo, hi] = await minMax(images);
  if (!(lo >= -1e-6 && hi <= 1 + 1e-6)) {
    throw new RangeError(
      'images: expected values in [0, 1], ' +
        `got [${lo}, ${hi}]${hi > 1 ? '; divide 0..255 pixels by 255' : ''}`,
    );
  }
  const grid = tf.tidy((): Tensor3D => {
    const { n, h, w, c, cols, rows, scale, padding: p, background: bg } = g;
    let x = images.clipByValue(0, 1) as Tensor4D;
    if (rows * cols > n) x = tf.concat([x, tf.fill([rows * cols - n, h, w, c], bg)]) as Tensor4D;
    // Pad each image below and right, then the whole grid above and left.
    x = tf.pad(
      x,
      [
        [0, 0],
        [0, p],
        [0, p],
        [0, 0],
      ],
      bg,
    );
    const H = h + p;
    const W = w + p;
    let out = x
      .reshape([rows, cols, H, W, c])
      .transpose([0, 2, 1, 3, 4])
      .reshape([rows * H, cols * W, c]) as Tensor3D;
    out = tf.pad(
      out,
      [
        [p, 0],
        [p, 0],
        [0, 0],
      ],
      bg,
    );
    if (scale > 1)
      out = tf.image.resizeNearestNeighbor(out, [out.shape[0] * scale, out.shape[1] * scale]);
    return out.mul(255).round().cast('int32');
  });
  try {
    return await tf.node.encodePng(grid);
  } finally {
    grid.dispose();
  }
}

async function minMax(images: Tensor4D): Promise<[number, number]> {
  const t = tf.tidy(() => tf.stack([images.min(), images.max()]));
  try {
    const d = await t.data();
    return [d[0] ?? NaN, d[1] ?? NaN];
  } finally {
    t.dispose();
  }
}

/** Pixel size of a grid's PNG. */
function gridSize(g: GridGeometry): { width: number; height: number } {
  return {
    width: (g.cols * (g.w + g.padding) + g.padding) * g.scale,
    height: (g.rows * (g.h + g.padding) + g.padding) * g.scale,
  };
}

/**
 * The largest integer scale, at most the one asked for and at least 1, whose grid fits `maxWidth`
 * px.
 */
export function fitScale(
  g: Pick<GridGeometry, 'cols' | 'w' | 'padding' | 'scale'>,
  maxWidth: number,
): number {
  let scale = g.scale;
  while (scale > 1 && (g.cols * (g.w + g.padding) + g.padding) * scale > maxWidth) scale--;
  return scale;
}

/** Labels as a text grid with `cols` per row. */
export function labelGridText(labels: readonly (string | number)[], cols: number): string {
  const cells = labels.map(String);
  const width = Math.max(1, ...cells.map((s) => s.length));
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += cols)
    lines.push(
      cells
        .slice(i, i + cols)
        .map((s) => s.padStart(width))
        .join(' '),
    );
  return lines.join('\n');
}

/**
 * Shows an image grid in the notebook (PNG, with the labels, if any, as a text
 * grid in a second output). Returns the PNG bytes.
 */
export async function showImageGrid(
  images: Tensor4D,
  opts: ImageGridOptions & { readonly title?: string; readonly display?: DisplaySink } = {},
): Promise<Uint8Array> {
  const asked = geometry(images, opts);
  // Fit the output area: a smaller integer scale first (pixels stay sharp), and a grid still too
  // wide at scale 1 is shown at the largest width that fits (the PNG keeps every pixel).
  const scale = fitScale(asked, MAX_FIGURE_WIDTH);
  const png = await imageGridPng(images, { ...opts, scale });
  const g = geometry(images, { ...opts, scale });
  const display = opts.display ?? kernelDisplay;
  const text =
    `<image grid${opts.title ? ` "${opts.title}"` : ''}: ${g.n} images ${g.h}x${g.w}x${g.c}, ` +
    `${g.cols} per row>`;
  const width = gridSize(g).width;
  const bundle = pngBundle(png, text);
  display(
    width <= MAX_FIGURE_WIDTH
      ? bundle
      : { data: bundle.data, metadata: { 'image/png': { width: MAX_FIGURE_WIDTH } } },
  );
  if (opts.labels !== undefined) display(textBundle(labelGridText(opts.labels, g.cols)));
  return png;
}
