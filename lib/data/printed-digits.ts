/**
 * Synthetic printed digits: the stand-in second domain of the paper's MNIST -> SVHN experiment
 * (Shin et al., 2017, §4.2) on machines without the SVHN files. It is NOT SVHN; every figure or
 * table made from it must say so (use `PRINTED_DIGITS.label`, or the `domain.label` returned by
 * `loadSecondDomain`).
 *
 * The recipe is that of the synthetic-digit sets of domain-adaptation work (Ganin & Lempitsky
 * 2015, "Syn Numbers": numbers rendered from many fonts with varied text, position, orientation,
 * background and stroke colours and blur). Each 32x32 colour image is a crop centred on one
 * printed digit, its label:
 * - a font face drawn from twelve families of the npm `@fontsource` packages (sans, serif, slab,
 *   monospace, condensed; weights 300-900; upright and italic), rasterised by `@napi-rs/canvas`
 *   (Skia). Only these npm font files are used, never the system's fonts, so every machine with
 *   the same package versions renders the same bytes;
 * - a 1-3 digit number whose label digit sits in the centre of the crop, so that its neighbours
 *   are cut off by the crop edges (as in SVHN's cropped digits);
 * - random size, aspect, slight rotation and shear, and position jitter;
 * - a random background colour, sometimes a gradient or a hard edge to a second colour, and a
 *   random digit colour with a luminance contrast of at least `minContrast`, sometimes with a
 *   drop shadow;
 * - Gaussian blur of random width and pixel noise of random strength.
 * Labels are balanced: each block of ten consecutive images holds every digit once, in random
 * order. Every choice comes from a random stream seeded by (seed, split, image index), so the
 * same seed gives the same bytes and the first n images do not depend on how many are built.
 *
 * Generated sets are cached under the data folder (`printed-digits/<key>-<split>.bin` with a
 * JSON manifest holding the SHA-256 of the bytes); the key covers the recipe, the seed and the
 * versions of the rasteriser and of every font package.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as CanvasTypes from '@napi-rs/canvas';
import { writeFileAtomic } from '../fsutil';
import { createRng, deriveSeed, checkSeed } from '../rng';
import type { DomainData, DomainInfo } from './digits32';
import type { ImageSplit } from './mnist';
import { defaultDataRoot } from './registry';

/** The stand-in domain, named for what it is. */
export const PRINTED_DIGITS: DomainInfo = Object.freeze({
  id: 'printed-digits',
  name: 'Synthetic printed digits',
  label: 'Synthetic printed digits (rendered from open fonts)',
  description:
    '32x32 colour crops of printed digits rendered from twelve open font families ' +
    '(@fontsource), centred on the labelled digit with its neighbours cut at the crop edges, ' +
    'random colours, rotation, blur and noise; a synthetic stand-in used because the real ' +
    'second-domain files are unavailable',
  isStandIn: true,
});

/** A font family of the recipe: its npm package `@fontsource/<pkg>` and the faces used. */
export interface PrintedDigitFamily {
  readonly pkg: string;
  readonly weights: readonly number[];
  /** Whether italic faces are used too. */
  readonly italic: boolean;
}

type Range = readonly [number, number];

/** Everything that shapes the images (see PRINTED_DIGITS_RECIPE for the meaning of each field). */
export interface PrintedDigitsRecipe {
  readonly version: number;
  readonly size: number;
  readonly families: readonly PrintedDigitFamily[];
  readonly italicProbability: number;
  readonly lengthProbabilities: readonly [number, number, number];
  readonly heightRange: Range;
  readonly aspectRange: Range;
  readonly maxRotation: number;
  readonly maxShear: number;
  readonly jitter: Range;
  readonly gapRange: Range;
  readonly minContrast: number;
  readonly gradientProbability: number;
  readonly gradientAmplitude: number;
  readonly edgeProbability: number;
  readonly shadowProbability: number;
  readonly maxBlur: number;
  readonly maxNoise: number;
}

/**
 * Everything that shapes the images. Changing anything here changes the bytes: bump `version`
 * (it is part of the cache key, as is the whole object).
 */
export const PRINTED_DIGITS_RECIPE: PrintedDigitsRecipe = deepFreeze({
  version: 1,
  size: 32,
  families: [
    { pkg: 'roboto', weights: [300, 400, 500, 700, 900], italic: true },
    { pkg: 'open-sans', weights: [300, 400, 600, 800], italic: true },
    { pkg: 'lato', weights: [300, 400, 700, 900], italic: true },
    { pkg: 'noto-sans', weights: [300, 400, 600, 800], italic: true },
    { pkg: 'ubuntu', weights: [300, 400, 500, 700], italic: true },
    { pkg: 'oswald', weights: [300, 400, 500, 700], italic: false },
    { pkg: 'roboto-mono', weights: [300, 400, 500, 700], italic: true },
    { pkg: 'source-code-pro', weights: [300, 400, 600, 900], italic: true },
    { pkg: 'merriweather', weights: [300, 400, 700, 900], italic: true },
    { pkg: 'pt-serif', weights: [400, 700], italic: true },
    { pkg: 'playfair-display', weights: [400, 700, 900], italic: true },
    { pkg: 'bitter', weights: [300, 400, 700, 900], italic: true },
  ],
  /** Probability of an italic face (families that have one). */
  italicProbability: 0.25,
  /** Probabilities of a 1-, 2- and 3-digit number. */
  lengthProbabilities: [0.2, 0.35, 0.45],
  /** Ink height of the digits, pixels. */
  heightRange: [17, 28],
  /** Width / height scale of the glyphs. */
  aspectRange: [0.8, 1.2],
  /** Rotation, radians, uniform in [-r, r]. */
  maxRotation: 0.2,
  /** Horizontal shear, uniform in [-s, s]. */
  maxShear: 0.15,
  /** Jitter of the label digit's ink centre around the crop centre, pixels (x, y). */
  jitter: [2, 2],
  /** Extra space between digits, in units of the font size. */
  gapRange: [-0.02, 0.2],
  /** Least luminance difference between digit and background colours, grey levels. */
  minContrast: 60,
  /** Background: probability of a smooth gradient, and its largest change per channel. */
  gradientProbability: 0.45,
  gradientAmplitude: 90,
  /** Background: probability of a hard edge to a second colour near one side of the crop. */
  edgeProbability: 0.15,
  /** Probability of a drop shadow (offset 1-2 px). */
  shadowProbability: 0.2,
  /** Gaussian blur sigma = maxBlur * u^2, u uniform in [0, 1). */
  maxBlur: 1.4,
  /** Pixel noise standard deviation = maxNoise * u, grey levels. */
  maxNoise: 10,
} satisfies PrintedDigitsRecipe);

/** Default sizes of the two splits. */
export const PRINTED_DIGITS_SIZES = Object.freeze({ train: 60000, test: 10000 });

/** Random-stream ids of the splits, so train and test images are drawn independently. */
const STREAM = { train: 1, test: 2 } as const;
export type PrintedDigitsSplitName = keyof typeof STREAM;

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o as object)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Fonts

type CanvasModule = typeof CanvasTypes;
type Context = CanvasTypes.SKRSContext2D;

/** The rasteriser, loaded on first use (importing the library must not need it). */
function canvasModule(): CanvasModule {
  try {
    /* eslint-disable-next-line @typescript-eslint/no-require-imports --
     * lazy: the library imports without the rasteriser */
    return require('@napi-rs/canvas') as CanvasModule;
  } catch (err) {
    const why = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
    throw new Error(
      `printed digits: the rasteriser @napi-rs/canvas cannot be loaded (${why}).\n` +
        'To fix: run `npm install` in the project folder (it ships a prebuilt binary for ' +
        'Linux, macOS and Windows).',
      { cause: err },
    );
  }
}

/** One registered font face. */
export interface PrintedDigitFace {
  /** npm package, e.g. '@fontsource/roboto'. */
  readonly pkg: string;
  /** The .woff file inside that package (latin subset). */
  readonly file: string;
  readonly weight: number;
  readonly style: 'normal' | 'italic';
  /** Family name it is registered under (our own, so no system font can answer to it). */
  readonly alias: string;
}

function packageDir(pkg: string): string {
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(
      `printed digits: the font package ${pkg} is not installed.\n` +
        'To fix: run `npm install` in the project folder (it is a dependency in package.json).',
    );
  }
}

function packageVersion(pkg: string): string {
  const file = path.join(packageDir(pkg), 'package.json');
  const v = (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version;
  if (typeof v !== 'string') throw new Error(`printed digits: ${file} has no version field`);
  return v;
}

/** The faces of the recipe (not yet registered), in a fixed order. */
export function printedDigitFaces(): PrintedDigitFace[] {
  const faces: PrintedDigitFace[] = [];
  for (const fam of PRINTED_DIGITS_RECIPE.families) {
    const pkg = `@fontsource/${fam.pkg}`;
    const dir = path.join(packageDir(pkg), 'files');
    for (const weight of fam.weights) {
      for (const style of fam.italic ? (['normal', 'italic'] as const) : (['normal'] as const)) {
        const file = path.join(dir, `${fam.pkg}-latin-${weight}-${style}.woff`);
        faces.push({ pkg, file, weight, style, alias: `dgr-pd-${fam.pkg}-${weight}-${style}` });
      }
    }
  }
  return faces;
}

/** A family name no font answers to: text set in it shows the rasteriser's fallback font. */
export const FALLBACK_PROBE_FAMILY = 'dgr-pd-no-such-family';

/** The CSS font string of a face at `px` pixels. */
export function faceFont(face: PrintedDigitFace, px: number): string {
  return `${face.style} ${face.weight} ${px}px "${face.alias}"`;
}

/** RGBA bytes of "0123456789" set in `font`, white on transparent, 160x40 pixels. */
export function renderProbe(font: string): Uint8Array {
  const canvas = canvasModule().createCanvas(160, 40);
  const ctx = canvas.getContext('2d');
  ctx.lang = 'en';
  ctx.font = font;
  ctx.fillStyle = '#ffffff';
  ctx.fillText('0123456789', 2, 30);
  const d = ctx.getImageData(0, 0, 160, 40).data;
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );
}

/**
 * Registers every face of the recipe with the rasteriser under our own family names (once per
 * process; the rasteriser's font list is process-wide) and checks that each one really renders:
 * a face whose rendering equals the fallback font's would make other machines render other bytes,
 * so it is an error that names the file and the fix.
 */
export function registerPrintedDigitFonts(): readonly PrintedDigitFace[] {
  const { GlobalFonts, getTextRenderer } = canvasModule();
  if (getTextRenderer() !== 'portable') {
    throw new Error(
      `printed digits: the rasteriser's text renderer is '${getTextRenderer()}', which draws ` +
        "with the OS's own font engine, so machines would render different bytes.\n" +
        "To fix: call setTextRenderer('portable') of @napi-rs/canvas (its default) first.",
    );
  }
  const faces = printedDigitFaces();
  const fallback = renderProbe(`24px "${FALLBACK_PROBE_FAMILY}"`);
  for (const face of faces) {
    const fix = 'To fix: run `npm install` in the project folder (reinstalls the font packages).';
    if (!GlobalFonts.has(face.alias)) {
      if (!fs.existsSync(face.file)) {
        throw new Error(
          `printed digits: font file ${face.file} of ${face.pkg} is missing.\n${fix}`,
        );
      }
      if (GlobalFonts.registerFromPath(face.file, face.alias) === null) {
        throw new Error(`printed digits: the rasteriser cannot read ${face.file}.\n${fix}`);
      }
    }
    if (sameBytes(renderProbe(faceFont(face, 24)), fallback)) {
      throw new Error(
        `printed digits: ${face.file} renders like the fallback font, so it did not load.\n${fix}`,
      );
    }
  }
  return faces;
}

/** Reference font size of the glyph measurements and of the rendering (scaled by transform). */
const FONT_PX = 40;
/** Size at which glyph boxes are measured (they come back in whole pixels). */
const MEASURE_PX = 200;

interface FaceMetrics {
  /** Font string at FONT_PX. */
  readonly font: string;
  /** Per digit, at FONT_PX: advance, ink-box centre relative to the pen (x right, y down). */
  readonly advance: Float64Array;
  readonly inkX: Float64Array;
  readonly inkY: Float64Array;
  /** Ink height of '8' at FONT_PX: the face's digit height (also for old-style figures). */
  readonly height: number;
}

function measureFace(ctx: Context, face: PrintedDigitFace): FaceMetrics {
  const k = FONT_PX / MEASURE_PX;
  ctx.font = faceFont(face, MEASURE_PX);
  const advance = new Float64Array(10);
  const inkX = new Float64Array(10);
  const inkY = new Float64Array(10);
  let height = 0;
  for (let d = 0; d < 10; d++) {
    const m = ctx.measureText(String(d));
    advance[d] = m.width * k;
    inkX[d] = ((m.actualBoundingBoxRight - m.actualBoundingBoxLeft) / 2) * k;
    inkY[d] = ((m.actualBoundingBoxDescent - m.actualBoundingBoxAscent) / 2) * k;
    if (d === 8) height = (m.actualBoundingBoxAscent + m.actualBoundingBoxDescent) * k;
  }
  if (!(height > 0)) throw new Error(`printed digits: ${face.file} has no ink for the digit 8`);
  return { font: faceFont(face, FONT_PX), advance, inkX, inkY, height };
}

// ---------------------------------------------------------------------------------------------
// Rendering

const luminance = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** In-place separable Gaussian blur of a size x size single-channel image (edges clamped). */
function blur(img: Float32Array, tmp: Float32Array, size: number, sigma: number): void {
  const radius = Math.min(Math.ceil(2.5 * sigma), 6);
  if (radius < 1) return;
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let j = -radius; j <= radius; j++)
    sum += kernel[j + radius] = Math.exp(-(j * j) / (2 * sigma * sigma));
  for (let j = 0; j < kernel.length; j++) kernel[j] = (kernel[j] as number) / sum;
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    const row = y * size;
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let j = -radius; j <= radius; j++) {
        const xx = x + j < 0 ? 0 : x + j > last ? last : x + j;
        acc += (kernel[j + radius] as number) * (img[row + xx] as number);
      }
      tmp[row + x] = acc;
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let j = -radius; j <= radius; j++) {
        const yy = y + j < 0 ? 0 : y + j > last ? last : y + j;
        acc += (kernel[j + radius] as number) * (tmp[yy * size + x] as number);
      }
      img[y * size + x] = acc;
    }
  }
}

/** A renderer holding one canvas and the measured faces; `render` draws image i of a stream. */
interface Renderer {
  render(seed: number, stream: number, i: number, label: number, out: Uint8Array): void;
}

function createRenderer(faces: readonly PrintedDigitFace[]): Renderer {
  const R = PRINTED_DIGITS_RECIPE;
  const S = R.size;
  const canvas = canvasModule().createCanvas(S, S);
  const ctx = canvas.getContext('2d');
  // Text shaping must not follow the host's language (see @napi-rs/canvas, setTextRenderer).
  ctx.lang = 'en';
  // Faces grouped by family, so each family is equally likely whatever its number of weights.
  const byFamily: { upright: FaceMetrics[]; italic: FaceMetrics[] }[] = R.families.map((fam) => {
    const pkg = `@fontsource/${fam.pkg}`;
    const of = (style: string): FaceMetrics[] =>
      faces.filter((f) => f.pkg === pkg && f.style === style).map((f) => measureFace(ctx, f));
    return { upright: of('normal'), italic: of('italic') };
  });
  let currentFont = '';
  const mask = new Float32Array(S * S);
  const tmp = new Float32Array(S * S);
  const digits = [0, 0, 0];
  const xs = [0, 0, 0];
  const [p1, p2] = R.lengthProbabilities;
  const [hMin, hMax] = R.heightRange;
  const [aMin, aMax] = R.aspectRange;
  const [gMin, gMax] = R.gapRange;
  const [jx, jy] = R.jitter;

  return {
    render(seed, stream, i, label, out) {
      const rng = createRng(deriveSeed(seed, 'printed-digits', stream, i));
      const u = (): number => rng.next();
      const between = (a: number, b: number): number => a + (b - a) * u();
      const colour = (): [number, number, number] => [255 * u(), 255 * u(), 255 * u()];

      // Face.
      const fam = byFamily[rng.int(byFamily.length)] as (typeof byFamily)[number];
      const pool = fam.italic.length > 0 && u() < R.italicProbability ? fam.italic : fam.upright;
      const face = pool[rng.int(pool.length)] as FaceMetrics;
      // The number: 1-3 digits, the label in the middle (or either side of a 2-digit number).
      const r = u();
      const len = r < p1 ? 1 : r < p1 + p2 ? 2 : 3;
      const pos = len === 1 ? 0 : len === 2 ? rng.int(2) : 1;
      for (let k = 0; k < len; k++) digits[k] = k === pos ? label : rng.int(10);
      // Geometry: scale so the digits' ink height is `height` px, then aspect, shear, rotation.
      const scale = between(hMin, hMax) / face.height;
      const sx = scale * between(aMin, aMax);
      const sy = scale;
      const theta = between(-R.maxRotation, R.maxRotation);
      const shear = between(-R.maxShear, R.maxShear);
      const cx = S / 2 + between(-jx, jx);
      const cy = S / 2 + between(-jy, jy);
      const gap = between(gMin, gMax) * FONT_PX;
      // Pen positions in font units, the label digit's ink centre at the origin.
      xs[pos] = -(face.inkX[label] as number);
      for (let k = pos - 1; k >= 0; k--) {
        xs[k] = (xs[k + 1] as number) - (face.advance[digits[k] as number] as number) - gap;
      }
      for (let k = pos + 1; k < len; k++) {
        xs[k] = (xs[k - 1] as number) + (face.advance[digits[k - 1] as number] as number) + gap;
      }
      const baseline = -(face.inkY[label] as number);

      // Colours: background (maybe a gradient or a hard edge), digit colour with contrast.
      const bg = colour();
      const bg2: [number, number, number] = [bg[0], bg[1], bg[2]];
      let edge = false;
      const v = u();
      if (v < R.gradientProbability) {
        for (let c = 0; c < 3; c++) {
          const a = R.gradientAmplitude;
          bg2[c] = Math.min(255, Math.max(0, (bg[c] as number) + between(-a, a)));
        }
      } else if (v < R.gradientProbability + R.edgeProbability) {
        edge = true;
        const c2 = colour();
        bg2[0] = c2[0];
        bg2[1] = c2[1];
        bg2[2] = c2[2];
      }
      const phi = between(0, 2 * Math.PI);
      const dirX = Math.cos(phi);
      const dirY = Math.sin(phi);
      const edgeAt = between(11, 15);
      const lumBg = Math.min(luminance(...bg), luminance(...bg2));
      const lumBg2 = Math.max(luminance(...bg), luminance(...bg2));
      let fg: [number, number, number] | null = null;
      for (let t = 0; t < 20 && fg === null; t++) {
        const c = colour();
        const l = luminance(...c);
        // Outside the whole range of the background (a gradient passes through every value).
        if (l <= lumBg - R.minContrast || l >= lumBg2 + R.minContrast) fg = c;
      }
      if (fg === null) {
        const dark = 30 * u();
        const light = 255 - 30 * u();
        fg = lumBg2 < 255 - lumBg ? [light, light, light] : [dark, dark, dark];
      }
      const shadow = u() < R.shadowProbability;
      const shadowDx = (u() < 0.5 ? -1 : 1) * (1 + rng.int(2));
      const shadowDy = 1 + rng.int(2);
      const towardsBlack = luminance(...fg) > (lumBg + lumBg2) / 2;
      const shadowAlpha = between(0.5, 0.9);
      const b = u();
      const sigma = R.maxBlur * b * b;
      const noise = R.maxNoise * u();
      let state = (rng.nextUint32() | 1) >>> 0;

      // Glyph coverage: white digits on a transparent canvas.
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, S, S);
      const cos = Math.cos(theta);
      const sin = Math.sin(theta);
      ctx.setTransform(
        cos * sx,
        sin * sx,
        (cos * shear - sin) * sy,
        (sin * shear + cos) * sy,
        cx,
        cy,
      );
      if (face.font !== currentFont) {
        ctx.font = face.font;
        currentFont = face.font;
      }
      ctx.fillStyle = '#ffffff';
      for (let k = 0; k < len; k++) ctx.fillText(String(digits[k]), xs[k] as number, baseline);
      const rgba = ctx.getImageData(0, 0, S, S).data;
      for (let p = 0; p < S * S; p++) mask[p] = (rgba[4 * p + 3] as number) / 255;
      if (sigma >= 0.3) blur(mask, tmp, S, sigma);

      // Composite background, shadow, digits; add noise; round and clamp.
      const clamped = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
      const noiseScale = (noise * Math.sqrt(6)) / 4294967296;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const d = (x + 0.5 - S / 2) * dirX + (y + 0.5 - S / 2) * dirY;
          const t = edge ? (d > edgeAt ? 1 : 0) : Math.min(1, Math.max(0, 0.5 + d / S));
          const p = y * S + x;
          const a = mask[p] as number;
          let sa = 0;
          if (shadow) {
            const xx = x - shadowDx;
            const yy = y - shadowDy;
            if (xx >= 0 && xx < S && yy >= 0 && yy < S)
              sa = shadowAlpha * (mask[yy * S + xx] as number);
          }
          for (let c = 0; c < 3; c++) {
            let base = (bg[c] as number) + t * ((bg2[c] as number) - (bg[c] as number));
            if (sa > 0)
              base =
                base * (1 - sa) + (towardsBlack ? 0.25 * base : 255 - 0.25 * (255 - base)) * sa;
            state ^= state << 13;
            state ^= state >>> 17;
            state ^= state << 5;
            const n1 = state >>> 0;
            state ^= state << 13;
            state ^= state >>> 17;
            state ^= state << 5;
            // Two uniforms summed: a triangular noise of standard deviation `noise`.
            const n = (n1 + (state >>> 0) - 4294967296) * noiseScale;
            clamped[3 * p + c] = base * (1 - a) + (fg[c] as number) * a + n;
          }
        }
      }
    },
  };
}

/** Labels of images [start, start + count) of a stream: each block of ten holds 0..9 once. */
function blockLabels(seed: number, stream: number, start: number, count: number): Uint8Array {
  const labels = new Uint8Array(count);
  let block = -1;
  let perm: Int32Array = new Int32Array(10);
  for (let i = start; i < start + count; i++) {
    const b = Math.floor(i / 10);
    if (b !== block) {
      block = b;
      perm = createRng(deriveSeed(seed, 'printed-digits-labels', stream, b)).permutation(10);
    }
    labels[i - start] = perm[i % 10] as number;
  }
  return labels;
}

function checkCount(where: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`${where}: ${name} must be a non-negative integer; got ${n}`);
  }
}

function checkSplitName(where: string, split: string): asserts split is PrintedDigitsSplitName {
  if (split !== 'train' && split !== 'test') {
    throw new RangeError(`${where}: split must be 'train' or 'test'; got ${JSON.stringify(split)}`);
  }
}

/**
 * Renders images [start, start + count) of a split into `images` (count x 32 x 32 x 3 bytes,
 * row-major HWC) and `labels` (count bytes). Image i depends only on (seed, split, i).
 */
function renderInto(
  seed: number,
  split: PrintedDigitsSplitName,
  start: number,
  images: Uint8Array,
  labels: Uint8Array,
): void {
  const count = labels.length;
  if (count === 0) return;
  const renderer = createRenderer(registerPrintedDigitFonts());
  labels.set(blockLabels(seed, STREAM[split], start, count));
  const per = PRINTED_DIGITS_RECIPE.size * PRINTED_DIGITS_RECIPE.size * 3;
  for (let k = 0; k < count; k++) {
    const out = images.subarray(k * per, (k + 1) * per);
    renderer.render(seed, STREAM[split], start + k, labels[k] as number, out);
  }
}

/**
 * Renders the first `count` images of a split, without any cache.
 * @returns images [count, 32, 32, 3] uint8 row-major HWC, labels 0..9
 */
export function renderPrintedDigits(opts: {
  readonly seed: number;
  readonly split: PrintedDigitsSplitName;
  readonly count: number;
  /** Index of the first image (default 0): renders images start..start+count-1. */
  readonly start?: number;
}): ImageSplit {
  const where = 'renderPrintedDigits';
  checkSeed(opts.seed, `${where}: seed`);
  checkSplitName(where, opts.split);
  checkCount(where, 'count', opts.count);
  checkCount(where, 'start', opts.start ?? 0);
  const S = PRINTED_DIGITS_RECIPE.size;
  const images = new Uint8Array(opts.count * S * S * 3);
  const labels = new Uint8Array(opts.count);
  renderInto(opts.seed, opts.split, opts.start ?? 0, images, labels);
  return { count: opts.count, shape: [S, S, 3], images, labels, numClasses: 10 };
}

// ---------------------------------------------------------------------------------------------
// Cache

/** Everything the bytes depend on besides the split and the count. */
export function printedDigitsKeyInputs(seed: number): Record<string, unknown> {
  checkSeed(seed, 'printedDigitsKeyInputs: seed');
  const fonts: Record<string, string> = {};
  for (const fam of PRINTED_DIGITS_RECIPE.families) {
    fonts[`@fontsource/${fam.pkg}`] = packageVersion(`@fontsource/${fam.pkg}`);
  }
  return {
    format: 'dgr-printed-digits',
    recipe: PRINTED_DIGITS_RECIPE,
    seed,
    rasteriser: { '@napi-rs/canvas': packageVersion('@napi-rs/canvas') },
    fonts,
    // The rasteriser's own notes: x64 and arm64 builds may differ by one colour level on some
    // edge pixels, and FREETYPE_PROPERTIES changes glyph rendering.
    arch: process.arch,
    freetypeProperties: process.env.FREETYPE_PROPERTIES ?? null,
  };
}

/** The cache key: 16 hex digits of the SHA-256 of `printedDigitsKeyInputs(seed)`. */
export function printedDigitsCacheKey(seed: number): string {
  const text = JSON.stringify(printedDigitsKeyInputs(seed));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** What the cache did for one split. */
export type PrintedDigitsCacheStatus =
  /** Read from a verified cache file. */
  | 'hit'
  /** No usable cache file: generated and cached. */
  | 'miss'
  /** A cache file failed verification: generated again and cached. */
  | 'corrupt'
  /** The cache held fewer images: its verified images were kept, the rest generated. */
  | 'extended'
  /** Caching was switched off: generated only. */
  | 'off';

export interface PrintedDigitsSplitResult {
  readonly split: ImageSplit;
  readonly status: PrintedDigitsCacheStatus;
  /** One line saying what happened, for logs (paths relative to the data folder). */
  readonly message: string;
  /** Seconds spent rendering (0 on a hit). */
  readonly renderSeconds: number;
  /** The cache file (null when caching is off). */
  readonly file: string | null;
}

interface Manifest {
  readonly key: string;
  readonly split: string;
  readonly count: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface PrintedDigitsOptions {
  /** Seeds every random choice. */
  readonly seed: number;
  /** Data root (default: `data/` of the repository, or $DGR_DATA_DIR). */
  readonly dataRoot?: string;
  /** Read and write the cache (default true). */
  readonly cache?: boolean;
  /** Where one line per split goes (default: nowhere). */
  readonly log?: (line: string) => void;
}

/**
 * The first `count` images of a split, from the cache under
 * `<dataRoot>/printed-digits/<key>-<split>.bin` when it holds them and its SHA-256 matches its
 * manifest; otherwise rendered and cached (atomic writes: the .bin, then its manifest).
 * The .bin holds the labels (one byte each), then the images (32 x 32 x 3 bytes each).
 */
export function printedDigitsSplit(
  split: PrintedDigitsSplitName,
  count: number,
  opts: PrintedDigitsOptions,
): PrintedDigitsSplitResult {
  const where = 'printedDigitsSplit';
  checkSplitName(where, split);
  checkCount(where, 'count', count);
  checkSeed(opts.seed, `${where}: seed`);
  const S = PRINTED_DIGITS_RECIPE.size;
  const per = S * S * 3;
  const view = (buf: Uint8Array, n: number, stored: number): ImageSplit => ({
    count: n,
    shape: [S, S, 3],
    labels: buf.subarray(0, n),
    images: buf.subarray(stored, stored + n * per),
    numClasses: 10,
  });
  const render = (reuse: Uint8Array | null, reused: number, status: PrintedDigitsCacheStatus) => {
    const t0 = process.hrtime.bigint();
    const buf = new Uint8Array(count * (1 + per));
    if (reuse !== null) {
      buf.set(reuse.subarray(0, reused), 0);
      buf.set(reuse.subarray(reused, reused + reused * per), count);
    }
    const labels = buf.subarray(reused, count);
    const images = buf.subarray(count + reused * per);
    renderInto(opts.seed, split, reused, images, labels);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { buf, seconds, status, reused };
  };
  const done = (
    r: { buf: Uint8Array; seconds: number; status: PrintedDigitsCacheStatus; reused: number },
    file: string | null,
    why: string,
  ): PrintedDigitsSplitResult => {
    const rendered = count - r.reused;
    const rate = r.seconds > 0 ? ` (${Math.round(rendered / r.seconds)} images/s)` : '';
    const message =
      `synthetic printed digits, ${split}: ${count} images ${why}` +
      (r.status === 'hit' ? '' : `; rendered in ${r.seconds.toFixed(1)} s${rate}`);
    opts.log?.(message);
    return {
      split: view(r.buf, count, count),
      status: r.status,
      message,
      renderSeconds: r.seconds,
      file,
    };
  };

  if (opts.cache === false) return done(render(null, 0, 'off'), null, '(cache off)');

  const root = opts.dataRoot ?? defaultDataRoot();
  const key = printedDigitsCacheKey(opts.seed);
  const rel = path.join('printed-digits', `${key}-${split}.bin`);
  const file = path.join(root, rel);
  const manifestFile = file.replace(/\.bin$/, '.json');
  let status: PrintedDigitsCacheStatus = 'miss';
  let why = 'not in the cache';
  let cached: { buf: Uint8Array; count: number } | null = null;
  if (fs.existsSync(manifestFile) || fs.existsSync(file)) {
    const problem = ((): string | null => {
      let m: Manifest;
      try {
        m = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
      } catch (err) {
        return `its manifest is unreadable (${err instanceof Error ? err.message : String(err)})`;
      }
      if (m.key !== key || m.split !== split || !Number.isInteger(m.count) || m.count < 0) {
        return 'its manifest does not describe this set';
      }
      if (m.bytes !== m.count * (1 + per)) return 'its manifest has a wrong size';
      let buf: Buffer;
      try {
        buf = fs.readFileSync(file);
      } catch {
        return 'the data file is missing';
      }
      if (buf.length !== m.bytes) return `the data file has ${buf.length} bytes, not ${m.bytes}`;
      if (createHash('sha256').update(buf).digest('hex') !== m.sha256) {
        return 'the data file does not match its SHA-256';
      }
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
      for (let k = 0; k < m.count; k++) if ((bytes[k] as number) > 9) return 'a label is not 0..9';
      cached = { buf: bytes, count: m.count };
      return null;
    })();
    if (problem !== null) {
      status = 'corrupt';
      why = `regenerated: the cached ${rel} failed verification (${problem})`;
    }
  }
  const hit = cached;
  if (hit !== null && hit.count >= count) {
    const r = { buf: hit.buf, seconds: 0, status: 'hit' as const, reused: count };
    const out = done(r, file, `read from the cache (${rel})`);
    return { ...out, split: view(hit.buf, count, hit.count) };
  }
  const reused = hit === null ? 0 : hit.count;
  if (hit !== null) {
    status = 'extended';
    why = `from the cache (${reused}) and rendered (${count - reused}), cached in ${rel}`;
  } else if (status === 'miss') why = `${why}: rendered and cached in ${rel}`;
  else why = `${why}; cached again`;
  const r = render(hit === null ? null : hit.buf, reused, status);
  writeFileAtomic(file, r.buf);
  const manifest = {
    key,
    split,
    count,
    bytes: r.buf.length,
    sha256: createHash('sha256').update(r.buf).digest('hex'),
    layout: 'labels (count bytes, 0..9), then images (count x 32 x 32 x 3 bytes, row-major HWC)',
    keyInputs: printedDigitsKeyInputs(opts.seed),
  };
  writeFileAtomic(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return done(r, file, why);
}

export interface LoadPrintedDigitsOptions extends PrintedDigitsOptions {
  /** Number of training images (default 60,000). */
  readonly trainCount?: number;
  /** Number of test images (default 10,000). */
  readonly testCount?: number;
}

/** The synthetic printed digits, train and test (cached; see printedDigitsSplit). */
export async function loadPrintedDigits(opts: LoadPrintedDigitsOptions): Promise<DomainData> {
  const train = printedDigitsSplit('train', opts.trainCount ?? PRINTED_DIGITS_SIZES.train, opts);
  const test = printedDigitsSplit('test', opts.testCount ?? PRINTED_DIGITS_SIZES.test, opts);
  return { domain: PRINTED_DIGITS, train: train.split, test: test.split };
}
