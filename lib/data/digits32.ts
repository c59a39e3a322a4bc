/**
 * Colour-MNIST-32: a synthetic domain of 32x32 colour digits DERIVED FROM MNIST, and
 * `loadSecondDomain`, which picks the second domain of the paper's MNIST -> SVHN experiment
 * (Shin et al., 2017, section 4.2): SVHN when its files are present, otherwise the synthetic
 * printed digits of ./printed-digits.ts (the default stand-in: a real shift from handwriting
 * to printed fonts). Colour-MNIST-32 is no longer the default stand-in: its digits are MNIST's
 * own handwriting, so it is a small shift; it stays loadable by name (`standIn:
 * 'colour-mnist-32'`). Neither is SVHN, and every figure or table made from a stand-in must
 * say so (use the `domain.label` returned by `loadSecondDomain`).
 *
 * Each image i of a split is MNIST image i of the same split, re-rendered to
 * look like a cropped house-number photo:
 * - a random background colour with a colour gradient, a sinusoidal texture and
 *   pixel noise;
 * - the MNIST digit, bilinearly scaled to 21-27 px high, narrowed, slanted and
 *   jittered around the centre, painted in a random colour that contrasts with
 *   the background;
 * - with some probability a neighbouring distractor digit (another MNIST image
 *   of the same split) on the left and/or right, cut off by the image border,
 *   usually in the same colour (as on a house-number plate);
 * - a random contrast and brightness change.
 * The label is the MNIST label of the central digit. Everything is drawn from a
 * pseudo-random stream seeded by (seed, split, image index), so the same seed
 * gives the same bytes and the first n images do not depend on how many are built.
 */
import type { ImageSplit } from './mnist';
import { loadMnist } from './mnist';
import type { DatasetEntry, EnsureOptions } from './registry';
import { svhnStatus, loadSvhn, DownloadFn } from './svhn';
import { createRng, deriveSeed } from '../rng';
import { loadPrintedDigits } from './printed-digits';

/**
 * Identity of a data domain, for labelling every figure and table with the domain actually used.
 */
export interface DomainInfo {
  readonly id: string;
  readonly name: string;
  /** Text for titles, legends and table captions. */
  readonly label: string;
  readonly description: string;
  /** True for a synthetic substitute of the paper's domain. */
  readonly isStandIn: boolean;
}

/** The stand-in domain. Its name says what it is: colour digits made from MNIST. */
export const COLOUR_MNIST32: DomainInfo = Object.freeze({
  id: 'colour-mnist-32',
  name: 'Colour-MNIST-32',
  label: 'Colour-MNIST-32 (synthetic, derived from MNIST)',
  description:
    '32x32 colour digits rendered from MNIST: coloured strokes on textured coloured backgrounds ' +
    'with neighbouring distractor digits; a synthetic stand-in used because the real ' +
    'second-domain files are unavailable',
  isStandIn: true,
});

/** The real second domain of the paper. */
export const SVHN_DOMAIN: DomainInfo = Object.freeze({
  id: 'svhn',
  name: 'SVHN',
  label: 'SVHN (Street View House Numbers, cropped digits)',
  description:
    'Street View House Numbers (Netzer et al., 2011), 32x32 cropped digits, ' +
    'official train/test files',
  isStandIn: false,
});

/** Everything that shapes the rendered images; complete and immutable. */
export interface ColourMnist32Config {
  /** Seeds every random choice. */
  readonly seed: number;
  /** Probability of a distractor digit on each side of the central one, 0..1. */
  readonly distractorProbability: number;
  /** Probability that a distractor has the central digit's colour, 0..1. */
  readonly sameColourProbability: number;
  /** Largest amplitude of the sinusoidal background texture, in grey levels. */
  readonly textureAmplitude: number;
  /** Largest amplitude of the uniform pixel noise, in grey levels. */
  readonly noiseAmplitude: number;
}

/** Defaults for everything but the seed. */
export const COLOUR_MNIST32_DEFAULTS: Omit<ColourMnist32Config, 'seed'> = Object.freeze({
  distractorProbability: 0.6,
  sameColourProbability: 0.85,
  textureAmplitude: 24,
  noiseAmplitude: 14,
});

const OUT = 32;

interface Placed {
  /** Offset of the source image in the source split's pixels. */
  readonly offset: number;
  readonly cx: number;
  readonly cy: number;
  readonly sx: number;
  readonly sy: number;
  readonly shear: number;
  readonly colour: readonly [number, number, number];
}

const luminance = (c: readonly number[]): number =>
  0.299 * (c[0] as number) + 0.587 * (c[1] as number) + 0.114 * (c[2] as number);

/**
 * Renders the stand-in domain from a grey split (e.g. MNIST [28, 28, 1]).
 * @param source grey images, shape [h, w, 1], pixels 0..255
 * @param config rendering configuration (see COLOUR_MNIST32_DEFAULTS)
 * @param stream separates the random streams of different splits (e.g. 1 train, 2 test)
 * @param count how many images to build (the first `count` of `source`; default all)
 * @returns images [count, 32, 32, 3] row-major HWC uint8, labels copied from `source`
 */
export function colourMnist32(
  source: ImageSplit,
  config: ColourMnist32Config,
  stream = 0,
  count = source.count,
): ImageSplit {
  const [h, w, ch] = source.shape;
  if (ch !== 1)
    throw new Error(
      'colourMnist32: source images must be grey (shape [h, w, 1]); ' +
        `got [${source.shape.join(', ')}]`,
    );
  if (!Number.isInteger(count) || count < 0 || count > source.count) {
    throw new Error(
      `colourMnist32: count must be an integer 0..${source.count} (the source's size); ` +
        `got ${count}`,
    );
  }
  for (const k of ['distractorProbability', 'sameColourProbability'] as const) {
    if (!(config[k] >= 0 && config[k] <= 1))
      throw new Error(`colourMnist32: config.${k} must be in [0, 1]; got ${config[k]}`);
  }
  for (const k of ['textureAmplitude', 'noiseAmplitude'] as const) {
    if (!(config[k] >= 0 && config[k] <= 255))
      throw new Error(`colourMnist32: config.${k} must be in [0, 255]; got ${config[k]}`);
  }
  if (!Number.isInteger(config.seed))
    throw new Error(`colourMnist32: config.seed must be an integer; got ${config.seed}`);
  const src = source.images;
  const per = h * w;
  // Height of the ink box of an MNIST digit (20 px in a 28 px frame), scaled to the source size.
  const inkHeight = (20 / 28) * h;
  const images = new Uint8Array(count * OUT * OUT * 3);
  const clamped = new Uint8ClampedArray(images.buffer, images.byteOffset, images.length);
  const labels = source.labels.slice(0, count);
  const acc = new Float32Array(OUT * OUT * 3);
  const sinX = new Float64Array(OUT);
  const cosX = new Float64Array(OUT);
  for (let i = 0; i < count; i++) {
    const rng = createRng(deriveSeed(config.seed, 'colour-mnist-32', stream, i));
    const rnd = (): number => rng.next();
    const between = (a: number, b: number): number => a + (b - a) * rnd();
    // Background: colour, gradient per channel, luminance texture.
    const bg = [255 * rnd(), 255 * rnd(), 255 * rnd()] as const;
    // A random colour at least 80 grey levels of luminance away from the background; else near
    // black or white.
    const dark = luminance(bg) >= 128;
    let fg: [number, number, number] = dark
      ? [40 * rnd(), 40 * rnd(), 40 * rnd()]
      : [255 - 40 * rnd(), 255 - 40 * rnd(), 255 - 40 * rnd()];
    for (let t = 0; t < 10; t++) {
      const c: [number, number, number] = [255 * rnd(), 255 * rnd(), 255 * rnd()];
      if (Math.abs(luminance(c) - luminance(bg)) >= 80) {
        fg = c;
        break;
      }
    }
    const gx = [between(-3, 3), between(-3, 3), between(-3, 3)];
    const gy = [between(-3, 3), between(-3, 3), between(-3, 3)];
    const amp = config.textureAmplitude * rnd();
    const fx = between(0.1, 0.7) * (rnd() < 0.5 ? -1 : 1);
    const fy = between(0.1, 0.7);
    const phase = between(0, 2 * Math.PI);
    // sin(fx x + fy y + phase) = sin(fx x) cos(fy y + phase) + cos(fx x) sin(fy y + phase)
    for (let x = 0; x < OUT; x++) {
      sinX[x] = amp * Math.sin(fx * x);
      cosX[x] = amp * Math.cos(fx * x);
    }
    for (let y = 0; y < OUT; y++) {
      const cy0 = Math.cos(fy * y + phase);
      const sy0 = Math.sin(fy * y + phase);
      for (let x = 0; x < OUT; x++) {
        const tex = (sinX[x] as number) * cy0 + (cosX[x] as number) * sy0;
        const o = (y * OUT + x) * 3;
        for (let c = 0; c < 3; c++)
          acc[o + c] =
            (bg[c] as number) +
            (gx[c] as number) * (x - 15.5) +
            (gy[c] as number) * (y - 15.5) +
            tex;
      }
    }
    // Digits: the central one (the label) and optional neighbours.
    const sy = between(21, 27) / inkHeight;
    const sx = sy * between(0.7, 1.0);
    const shear = between(-0.25, 0.15);
    const cx = 16 + between(-2, 2);
    const cy = 16 + between(-1.5, 1.5);
    const placed: Placed[] = [{ offset: i * per, cx, cy, sx, sy, shear, colour: fg }];
    for (const side of [-1, 1]) {
      if (rnd() < config.distractorProbability) {
        const j = Math.floor(rnd() * source.count);
        const gap = inkHeight * sx * between(0.9, 1.15);
        const colour: [number, number, number] =
          rnd() < config.sameColourProbability ? fg : [255 * rnd(), 255 * rnd(), 255 * rnd()];
        placed.push({
          offset: j * per,
          cx: cx + side * gap,
          cy: cy + between(-1.5, 1.5),
          sx,
          sy,
          shear,
          colour,
        });
      }
    }
    for (let k = placed.length - 1; k >= 0; k--) {
      const p = placed[k] as Placed;
      const col = p.colour;
      for (let y = 0; y < OUT; y++) {
        const Y = y + 0.5 - p.cy;
        // Source coordinates in pixel-centre units; sampled inside [0, h-1) x [0, w-1), where
        // bilinear interpolation needs no bounds checks (MNIST's outer pixels are blank anyway).
        const v = Y / p.sy + h / 2 - 0.5;
        if (!(v >= 0 && v < h - 1)) continue;
        const v0 = Math.floor(v);
        const fv = v - v0;
        const r0 = p.offset + v0 * w;
        const r1 = r0 + w;
        // u(x) = x / sx + k is increasing in x: visit only the columns with 0 <= u < w - 1.
        const k = (0.5 - p.cx - p.shear * Y) / p.sx + w / 2 - 0.5;
        const xs = Math.max(0, Math.ceil(-k * p.sx));
        const xe = Math.min(OUT - 1, Math.ceil((w - 1 - k) * p.sx));
        for (let x = xs; x <= xe; x++) {
          const u = x / p.sx + k;
          if (!(u >= 0 && u < w - 1)) continue;
          const u0 = Math.floor(u);
          const fu = u - u0;
          const a00 = src[r0 + u0] as number;
          const a01 = src[r0 + u0 + 1] as number;
          const a10 = src[r1 + u0] as number;
          const a11 = src[r1 + u0 + 1] as number;
          if (a00 + a01 + a10 + a11 === 0) continue;
          const a =
            ((a00 * (1 - fu) + a01 * fu) * (1 - fv) + (a10 * (1 - fu) + a11 * fu) * fv) / 255;
          const o = (y * OUT + x) * 3;
          for (let c = 0; c < 3; c++)
            acc[o + c] = (acc[o + c] as number) * (1 - a) + (col[c] as number) * a;
        }
      }
    }
    // Contrast, brightness, noise; round and clamp.
    const contrast = between(0.55, 1.0);
    const bright = between(-20, 20);
    const noise = config.noiseAmplitude * rnd();
    const out = i * OUT * OUT * 3;
    // Pixel noise from an inline xorshift32 stream seeded by the image's generator.
    let state = (Math.floor(rnd() * 4294967296) | 1) >>> 0;
    const noiseScale = (2 * noise) / 4294967296;
    for (let q = 0; q < acc.length; q++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      // The clamped view rounds to the nearest integer and clamps to 0..255.
      clamped[out + q] =
        ((acc[q] as number) - 128) * contrast + 128 + bright + (state >>> 0) * noiseScale - noise;
    }
  }
  const files = source.files === undefined ? {} : { files: source.files };
  return { count, shape: [OUT, OUT, 3], images, labels, numClasses: source.numClasses, ...files };
}

/** Random-stream ids of the splits, so train and test images are drawn independently. */
const STREAM = { train: 1, test: 2 } as const;

export interface ColourMnist32Options extends Pick<EnsureOptions, 'dataRoot'> {
  /** Seeds every random choice. */
  readonly seed: number;
  /** Rendering settings other than the seed (default COLOUR_MNIST32_DEFAULTS). */
  readonly settings?: Omit<ColourMnist32Config, 'seed'>;
  /** Number of training images (first n of MNIST train; default 60,000). */
  readonly trainCount?: number;
  /** Number of test images (first n of MNIST test; default 10,000). */
  readonly testCount?: number;
}

export interface DomainData {
  readonly domain: DomainInfo;
  readonly train: ImageSplit;
  readonly test: ImageSplit;
}

/**
 * Builds Colour-MNIST-32 from the registry's MNIST (train from MNIST train, test from MNIST test).
 */
export async function loadColourMnist32(opts: ColourMnist32Options): Promise<DomainData> {
  const mnist = await loadMnist({ dataRoot: opts.dataRoot });
  const config: ColourMnist32Config = {
    ...COLOUR_MNIST32_DEFAULTS,
    ...opts.settings,
    seed: opts.seed,
  };
  return {
    domain: COLOUR_MNIST32,
    train: colourMnist32(mnist.train, config, STREAM.train, opts.trainCount ?? mnist.train.count),
    test: colourMnist32(mnist.test, config, STREAM.test, opts.testCount ?? mnist.test.count),
  };
}

/** The first `n` examples of a split (views, no copy). */
export function firstExamples(split: ImageSplit, n: number): ImageSplit {
  if (!Number.isInteger(n) || n < 0 || n > split.count)
    throw new Error(`firstExamples: n must be an integer 0..${split.count}; got ${n}`);
  const per = split.shape[0] * split.shape[1] * split.shape[2];
  return {
    ...split,
    count: n,
    images: split.images.subarray(0, n * per),
    labels: split.labels.subarray(0, n),
  };
}

/** The stand-ins `loadSecondDomain` can use when SVHN is absent, by domain id. */
export const STAND_INS = Object.freeze(['printed-digits', 'colour-mnist-32'] as const);
export type StandInId = (typeof STAND_INS)[number];

export interface SecondDomainOptions extends ColourMnist32Options {
  /**
   * The stand-in used when SVHN is absent (default 'printed-digits': synthetic printed digits;
   * 'colour-mnist-32': MNIST's handwriting recoloured, a smaller shift).
   */
  readonly standIn?: StandInId;
  /** Read and write the printed digits' cache under the data root (default true). */
  readonly cache?: boolean;
  /** Use SVHN when its files are in data/svhn/ and verified (default true). */
  readonly preferSvhn?: boolean;
  /** Try to download SVHN first (default false: notebooks never wait on the network unasked). */
  readonly download?: boolean | DownloadFn;
  /** Progress lines of the SVHN download, and one line per split of the printed digits. */
  readonly log?: (line: string) => void;
  /**
   * Registry holding the `svhn` entry (tests pass their own; MNIST always comes from the default
   * registry).
   */
  readonly registry?: Readonly<Record<string, DatasetEntry>>;
}

export interface SecondDomain extends DomainData {
  /** Why this domain was used, for the notebook to print. */
  readonly reason: string;
}

/**
 * The second domain of the MNIST -> SVHN experiment: SVHN when available,
 * otherwise the clearly named stand-in, synthetic printed digits (or Colour-MNIST-32
 * when `standIn: 'colour-mnist-32'`). Label every figure and table with
 * `domain.label`. `trainCount` / `testCount` take the first n examples of either domain.
 */
export async function loadSecondDomain(opts: SecondDomainOptions): Promise<SecondDomain> {
  const standInId = opts.standIn ?? 'printed-digits';
  if (!(STAND_INS as readonly string[]).includes(standInId)) {
    throw new RangeError(
      `loadSecondDomain: standIn must be one of ${STAND_INS.join(', ')}; ` +
        `got ${JSON.stringify(standInId)}`,
    );
  }
  const loadStandIn = (): Promise<DomainData> =>
    standInId === 'colour-mnist-32'
      ? loadColourMnist32(opts)
      : loadPrintedDigits({
          seed: opts.seed,
          dataRoot: opts.dataRoot,
          cache: opts.cache,
          trainCount: opts.trainCount,
          testCount: opts.testCount,
          log: opts.log,
        });
  if (opts.preferSvhn ?? true) {
    const download = opts.download ?? false;
    const status =
      download === false
        ? await svhnStatus({ dataRoot: opts.dataRoot, registry: opts.registry })
        : null;
    if (status === null || status.available) {
      try {
        const svhn = await loadSvhn({
          dataRoot: opts.dataRoot,
          download,
          log: opts.log,
          registry: opts.registry,
        });
        return {
          domain: SVHN_DOMAIN,
          train: firstExamples(
            svhn.train,
            Math.min(opts.trainCount ?? svhn.train.count, svhn.train.count),
          ),
          test: firstExamples(
            svhn.test,
            Math.min(opts.testCount ?? svhn.test.count, svhn.test.count),
          ),
          reason: `the SVHN files are in ${status?.dir ?? 'the data folder'} and verified`,
        };
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        const reason = `SVHN could not be loaded, so the stand-in is used:\n${why}`;
        return { ...(await loadStandIn()), reason };
      }
    }
    const reason = `SVHN is not available, so the stand-in is used:\n${status.reason}`;
    return { ...(await loadStandIn()), reason };
  }
  return { ...(await loadStandIn()), reason: 'the stand-in was requested (preferSvhn: false)' };
}
