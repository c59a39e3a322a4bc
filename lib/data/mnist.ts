/**
 * MNIST: 60,000 training and 10,000 test images of 28x28 grey digits, parsed
 * from the verified IDX files of the data registry. Pixels stay uint8 here;
 * the engine turns them into tensors scaled to [0, 1].
 */
import * as fs from 'node:fs';
import { parseIdx, IdxFormatError } from './idx';
import { ensureDataset, EnsureOptions } from './registry';

export interface ImageSplit {
  /** Number of examples. */
  readonly count: number;
  /** Image shape [height, width, channels]. */
  readonly shape: readonly [number, number, number];
  /** Pixels 0..255, row-major, `count * height * width * channels` bytes. */
  readonly images: Uint8Array;
  /** Class of each example, 0..numClasses-1. */
  readonly labels: Uint8Array;
  readonly numClasses: number;
  /** SHA-256 (hex) of each data file the examples come from, by file name (absent when unknown). */
  readonly files?: Readonly<Record<string, string>>;
}

export interface Mnist {
  readonly train: ImageSplit;
  readonly test: ImageSplit;
}

function readSplit(
  imagesFile: string,
  labelsFile: string,
  count: number,
  files: Readonly<Record<string, string>>,
): ImageSplit {
  const images = parseIdx(fs.readFileSync(imagesFile), imagesFile, {
    type: 'ubyte',
    dims: [count, 28, 28],
  });
  const labels = parseIdx(fs.readFileSync(labelsFile), labelsFile, {
    type: 'ubyte',
    dims: [count],
  });
  const bad = (labels.data as Uint8Array).findIndex((y) => y > 9);
  if (bad >= 0)
    throw new IdxFormatError(
      labelsFile,
      `label ${labels.data[bad]} at index ${bad} is not a digit 0..9`,
    );
  const pixels = images.data as Uint8Array;
  const classes = labels.data as Uint8Array;
  return { count, shape: [28, 28, 1], images: pixels, labels: classes, numClasses: 10, files };
}

/** Loads MNIST (verifying and caching it under `data/mnist` first). */
export async function loadMnist(opts: EnsureOptions = {}): Promise<Mnist> {
  const ds = await ensureDataset('mnist', opts);
  const split = (images: string, labels: string, count: number): ImageSplit => {
    const sums = { [images]: ds.sha256[images] ?? '', [labels]: ds.sha256[labels] ?? '' };
    return readSplit(ds.files[images] ?? images, ds.files[labels] ?? labels, count, sums);
  };
  return {
    train: split('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 60000),
    test: split('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 10000),
  };
}
