/**
 * SVHN, the Street View House Numbers data set (Netzer et al., 2011), cropped
 * digits ("format 2"): the second domain of the paper's MNIST -> SVHN experiment
 * (Shin et al., 2017, section 4.2).
 *
 * The official files `train_32x32.mat` (73,257 images) and `test_32x32.mat`
 * (26,032 images) are MATLAB 5.0 MAT-files holding
 * - `X`: uint8, 32 x 32 x 3 x N, column-major (row index fastest, then column,
 *   channel, image);
 * - `y`: N x 1 labels 1..10, where 10 stands for the digit 0.
 *
 * The data registry (entry `svhn`) downloads them into `data/svhn/` when the
 * network allows, or verifies copies a user placed there; here they become
 * ImageSplits like MNIST's: pixels uint8, row-major HWC, labels 0..9.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { MatArray, MatFormatError, matVariable, readMatFile } from './mat';
import type { ImageSplit } from './mnist';
import { DATASETS, DatasetEntry, DatasetError, defaultDataRoot, ensureDataset } from './registry';

/** SVHN image shape [height, width, channels]. */
export const SVHN_SHAPE = [32, 32, 3] as const;

/** Registry file name of each split. */
export const SVHN_FILES = { train: 'train_32x32.mat', test: 'test_32x32.mat' } as const;

/** The two splits of SVHN (the "extra" split is not used). */
export interface Svhn {
  readonly train: ImageSplit;
  readonly test: ImageSplit;
}

/** A problem with an SVHN file; the message names the file and what to do. */
export class SvhnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SvhnError';
  }
}

/** Fetches `url` into the file `dest`. */
export type DownloadFn = (url: string, dest: string) => Promise<void>;

export interface DownloadOptions {
  /** Where progress lines go (default console.log). */
  readonly log?: (line: string) => void;
  /** Least time between two progress lines, ms (default 5000). */
  readonly progressEveryMs?: number;
  /** Give up when connecting takes longer, ms (default 15000). */
  readonly connectTimeoutMs?: number;
  /** Give up when no byte arrives for this long, ms (default 60000). */
  readonly idleTimeoutMs?: number;
  /** Redirects followed at most (default 5). */
  readonly maxRedirects?: number;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/**
 * An HTTP(S) downloader with a progress display: writes the body of `url` to
 * `dest`, follows redirects, prints a progress line at most every
 * `progressEveryMs`, and fails fast and clearly when the host cannot be
 * reached (offline, DNS failure, refused connection, timeout), on an HTTP
 * error status, or when the connection ends before Content-Length bytes.
 * The checksum is checked by the registry afterwards (it also writes to a
 * temporary name and renames only a verified file).
 */
export function httpDownload(opts: DownloadOptions = {}): DownloadFn {
  const log = opts.log ?? ((line: string) => console.log(line));
  const every = opts.progressEveryMs ?? 5000;
  const connectTimeout = opts.connectTimeoutMs ?? 15000;
  const idleTimeout = opts.idleTimeoutMs ?? 60000;
  const maxRedirects = opts.maxRedirects ?? 5;
  const get = (url: string, dest: string, redirectsLeft: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        reject(new Error(`'${url}' is not a valid URL`));
        return;
      }
      const lib = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : null;
      if (lib === null) {
        reject(new Error(`unsupported protocol in ${url}`));
        return;
      }
      const name = path.basename(parsed.pathname);
      let settled = false;
      let out: fs.WriteStream | null = null;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        if (err === undefined) resolve();
        else {
          out?.destroy();
          reject(err);
        }
      };
      const req = lib.get(parsed, (res) => {
        clearTimeout(connectTimer);
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location !== undefined) {
          res.resume();
          if (redirectsLeft <= 0) {
            finish(new Error(`too many redirects fetching ${url}`));
            return;
          }
          const next = new URL(res.headers.location, parsed).toString();
          get(next, dest, redirectsLeft - 1).then(() => finish(), finish);
          return;
        }
        if (status !== 200) {
          res.resume();
          finish(new Error(`HTTP ${status} ${res.statusMessage ?? ''} from ${url}`.trim()));
          return;
        }
        const lengthHeader = res.headers['content-length'];
        const total = lengthHeader === undefined ? null : Number(lengthHeader);
        const file = fs.createWriteStream(dest);
        out = file;
        let got = 0;
        const started = Date.now();
        let lastLine = started;
        log(`downloading ${name} from ${url}${total === null ? '' : ` (${mb(total)} MB)`}`);
        res.on('data', (chunk: Buffer) => {
          got += chunk.length;
          const now = Date.now();
          if (now - lastLine >= every) {
            lastLine = now;
            const rate = got / 1e6 / Math.max((now - started) / 1000, 1e-3);
            const pct = total === null ? '' : ` (${((100 * got) / total).toFixed(0)}%)`;
            log(
              `  ${name}: ${mb(got)}${total === null ? '' : ` / ${mb(total)}`} MB${pct}, ` +
                `${rate.toFixed(2)} MB/s`,
            );
          }
        });
        res.on('aborted', () =>
          finish(
            new Error(`the connection to ${parsed.host} was closed after ${got} bytes of ${name}`),
          ),
        );
        res.on('error', (err) =>
          finish(new Error(`download of ${name} failed after ${got} bytes: ${err.message}`)),
        );
        file.on('error', (err) => {
          res.destroy();
          finish(new Error(`cannot write ${dest}: ${err.message}`));
        });
        res.pipe(file);
        file.on('finish', () => {
          if (total !== null && got !== total) {
            finish(new Error(`the connection ended after ${got} of ${total} bytes of ${name}`));
            return;
          }
          const secs = (Date.now() - started) / 1000;
          log(`  ${name}: ${mb(got)} MB in ${secs.toFixed(0)} s`);
          finish();
        });
      });
      const connectTimer = setTimeout(() => {
        req.destroy(new Error(`no response from ${parsed.host} within ${connectTimeout / 1000} s`));
      }, connectTimeout);
      req.setTimeout(idleTimeout, () =>
        req.destroy(new Error(`no data from ${parsed.host} for ${idleTimeout / 1000} s`)),
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        const offline = [
          'ENOTFOUND',
          'EAI_AGAIN',
          'ECONNREFUSED',
          'ENETUNREACH',
          'EHOSTUNREACH',
          'ECONNRESET',
          'ETIMEDOUT',
        ];
        const hint =
          err.code !== undefined && offline.includes(err.code)
            ? ' (no network route to the host?)'
            : '';
        finish(
          new Error(
            `cannot reach ${parsed.host}: ${err.code ?? ''} ${err.message}${hint}`.replace(
              / +/g,
              ' ',
            ),
          ),
        );
      });
    });
  return (url, dest) => get(url, dest, maxRedirects);
}

export interface SvhnOptions {
  /** Data root (default: `data/` of the repository, or $DGR_DATA_DIR). */
  readonly dataRoot?: string;
  /**
   * Whether missing files may be downloaded: `true` (default) uses
   * `httpDownload`, `false` only accepts verified files already in
   * `data/svhn/`, a function replaces the downloader (tests).
   */
  readonly download?: boolean | DownloadFn;
  /** Progress lines of the downloader (default console.log). */
  readonly log?: (line: string) => void;
  /** Registry holding the `svhn` entry (tests pass their own). */
  readonly registry?: Readonly<Record<string, DatasetEntry>>;
}

function ensureSvhn(opts: SvhnOptions, allowDownload: boolean) {
  const d = opts.download ?? true;
  const download: DownloadFn | undefined =
    !allowDownload || d === false ? undefined : d === true ? httpDownload({ log: opts.log }) : d;
  return ensureDataset('svhn', {
    dataRoot: opts.dataRoot,
    registry: opts.registry ?? DATASETS,
    download,
  });
}

function unusable(file: string, problem: string): SvhnError {
  const base = path.basename(file);
  return new SvhnError(
    `SVHN file ${file} is unusable: ${problem}.\n` +
      `To fix: delete it and get the official ${base} again: ` +
      `run \`await dgr.loadSvhn({ download: true })\` where the network allows, ` +
      `or download it from http://ufldl.stanford.edu/housenumbers/${base} elsewhere and place it ` +
      `at ${file} (see data/README.md).`,
  );
}

/**
 * Turns SVHN's `X` (uint8 32 x 32 x 3 x N, column-major) and `y` (N labels
 * 1..10, 10 = digit 0) into an ImageSplit: images [N, 32, 32, 3] row-major
 * (HWC), labels 0..9.
 * @param file the file they came from, named in errors
 */
export function svhnToImageSplit(x: MatArray, y: MatArray, file: string): ImageSplit {
  const [H, W, C] = SVHN_SHAPE;
  if (x.className !== 'uint8')
    throw unusable(file, `variable 'X' has class ${x.className}, expected uint8`);
  const d = x.dims;
  if (d.length !== 4 || d[0] !== H || d[1] !== W || d[2] !== C) {
    throw unusable(file, `variable 'X' has dimensions ${d.join('x')}, expected 32x32x3xN`);
  }
  const n = d[3] as number;
  if (n === 0) throw unusable(file, `variable 'X' holds no images`);
  const yCount = y.dims.reduce((a, b) => a * b, 1);
  if (y.dims.filter((k) => k !== 1).length > 1 || yCount !== n) {
    throw unusable(
      file,
      `variable 'y' has dimensions ${y.dims.join('x')}, ` +
        `expected ${n}x1 (one label per image of 'X')`,
    );
  }
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = y.data[i] as number;
    if (!(Number.isInteger(v) && v >= 1 && v <= 10))
      throw unusable(file, `label ${v} of image ${i} is not one of 1..10`);
    labels[i] = v === 10 ? 0 : v;
  }
  // Column-major X: element (h, w, c, i) sits at h + H*w + H*W*c + H*W*C*i.
  const src = x.data;
  const images = new Uint8Array(n * H * W * C);
  const plane = H * W;
  const per = plane * C;
  for (let i = 0; i < n; i++) {
    const base = i * per;
    for (let c = 0; c < C; c++) {
      const s0 = base + c * plane;
      for (let w = 0; w < W; w++) {
        const s = s0 + w * H;
        let o = base + w * C + c;
        for (let h = 0; h < H; h++, o += W * C) images[o] = src[s + h] as number;
      }
    }
  }
  return { count: n, shape: [H, W, C], images, labels, numClasses: 10 };
}

/**
 * Reads one SVHN MAT-file (e.g. data/svhn/test_32x32.mat) into an ImageSplit; errors name the file
 * and the fix.
 */
export async function readSvhnSplit(file: string): Promise<ImageSplit> {
  try {
    const mat = await readMatFile(file);
    return svhnToImageSplit(matVariable(mat, 'X', file), matVariable(mat, 'y', file), file);
  } catch (err) {
    if (err instanceof MatFormatError) throw unusable(err.file, err.problem);
    throw err;
  }
}

/**
 * Loads SVHN train and test. Files already in `data/svhn/` are used once they
 * pass the size and SHA-256 check; missing ones are downloaded (unless
 * `download: false`) with a progress display, verified, then moved into place.
 * Throws a DatasetError naming the file and what to do when a file cannot be
 * had, or an SvhnError when a verified file does not hold SVHN.
 */
export async function loadSvhn(opts: SvhnOptions = {}): Promise<Svhn> {
  const ds = await ensureSvhn(opts, true);
  const read = async (name: string): Promise<ImageSplit> => ({
    ...(await readSvhnSplit(ds.files[name] ?? name)),
    files: { [name]: ds.sha256[name] ?? '' },
  });
  return { train: await read(SVHN_FILES.train), test: await read(SVHN_FILES.test) };
}

export type SvhnStatus =
  | { readonly available: true; readonly dir: string }
  | { readonly available: false; readonly dir: string; readonly reason: string };

/**
 * Whether both SVHN files are in `data/svhn/` and verified (size and SHA-256),
 * without downloading anything. When not, `reason` says which file and what
 * to do. As everywhere in the registry, a file that fails verification is
 * removed so no loader can read it.
 */
export async function svhnStatus(
  opts: Omit<SvhnOptions, 'download' | 'log'> = {},
): Promise<SvhnStatus> {
  const entry = (opts.registry ?? DATASETS).svhn;
  const dir = path.join(opts.dataRoot ?? defaultDataRoot(), entry?.dir ?? 'svhn');
  try {
    await ensureSvhn(opts, false);
    return { available: true, dir };
  } catch (err) {
    if (err instanceof DatasetError) return { available: false, dir, reason: err.message };
    throw err;
  }
}

/** True when both SVHN files are present and verified (see svhnStatus). */
export async function svhnAvailable(
  opts: Omit<SvhnOptions, 'download' | 'log'> = {},
): Promise<boolean> {
  return (await svhnStatus(opts)).available;
}
