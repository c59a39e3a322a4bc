/**
 * Checkpoints: JSON metadata plus named tensors in a directory, written atomically and validated
 * on load.
 *
 * Layout of `dir`: `manifest.json` (format, version, meta, and for each tensor its name, file,
 * dtype, shape, byte length and sha256) and one raw little-endian file per tensor (`t0000.bin`,
 * ...).
 *
 * Atomicity: everything is written into a hidden temporary sibling directory
 * (`.name.tmp-<pid>-<id>`), each file fsynced, the manifest last; then the previous checkpoint is
 * renamed aside (`.name.old-<pid>-<id>`), the new one renamed into place, and the old one removed.
 * A crash therefore never leaves a half-written checkpoint at `dir`: either the old or the new one
 * is there, and in the instant between the two renames the loader falls back to the renamed-aside
 * old one. Leftovers of crashed writers are ignored by the loader and removed by the next save; a
 * save first puts a recoverable renamed-aside checkpoint back in place, so nothing recoverable is
 * deleted before a newer complete checkpoint is at `dir`. {@link findCheckpoint} names the folder
 * the loader would read, so "is there something to resume?" and "what does load return?" agree.
 *
 * The manifest carries `checksum`, the sha256 of its own other fields (as compact JSON): a
 * manifest edited by hand (or damaged) is refused, as are tensor files whose sha256 differs.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../tf';
import { pidAlive, syncDir as syncDirNow } from '../fsutil';
import type { Tensor } from '@tensorflow/tfjs-node';

export const CHECKPOINT_FORMAT = 'dgr-checkpoint';
export const CHECKPOINT_VERSION = 1;
const MANIFEST = 'manifest.json';

/**
 * A checkpoint could not be written or read; `file` names the offending file or directory and
 * `fix` (when known) what to do.
 */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    problem: string,
    readonly fix?: string,
  ) {
    super(`${file}: ${problem}${fix === undefined ? '' : `\nTo fix: ${fix}`}`);
    this.name = 'CheckpointError';
  }
}

/** What to do about a damaged or hand-edited checkpoint at `dir`. */
export function damagedFix(dir: string): string {
  return (
    `a checkpoint cannot be repaired by hand: delete ${dir} (training then starts from the ` +
    'first task) or pass another checkpoint folder'
  );
}

/** JSON values (what `meta` may hold). */
export type Json =
  null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** Tensor dtypes a checkpoint stores. */
export type CheckpointDType = 'float32' | 'int32' | 'bool';
const BYTES: Readonly<Record<CheckpointDType, number>> = { float32: 4, int32: 4, bool: 1 };

export interface TensorEntry {
  readonly name: string;
  readonly file: string;
  readonly dtype: CheckpointDType;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly sha256: string;
}

export interface CheckpointManifest {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: number;
  readonly endianness: 'LE';
  readonly createdAt: string;
  readonly meta: Json;
  readonly tensors: readonly TensorEntry[];
  /** sha256 (hex) of the compact JSON of every other field, in file order. */
  readonly checksum: string;
}

export interface CheckpointContents<M extends Json = Json> {
  readonly meta: M;
  readonly tensors: Readonly<Record<string, Tensor>>;
}

export interface TensorExpectation {
  readonly shape?: readonly number[];
  readonly dtype?: CheckpointDType;
}

export interface CheckpointExpectation {
  /** Tensors that must be present, with optional shape and dtype. */
  readonly tensors?: Readonly<Record<string, TensorExpectation>>;
  /** true: the checkpoint may hold no tensor other than those in `tensors`. */
  readonly exact?: boolean;
  /** Top-level meta fields that must equal these JSON values (e.g. a config or model kind). */
  readonly meta?: Readonly<Record<string, Json>>;
}

export interface LoadedCheckpoint<M extends Json = Json> extends CheckpointContents<M> {
  readonly manifest: CheckpointManifest;
  /**
   * The directory actually read (differs from `dir` only when recovering the previous checkpoint
   * after a crash mid-swap).
   */
  readonly readFrom: string;
}

// ---------------------------------------------------------------------------------------------
// Small file helpers (shared with results.ts)

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeAndSync(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await fs.promises.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Hidden siblings `.base.<kind>-<pid>-<id>` of `dir`, newest first. */
function siblings(
  dir: string,
  kind: 'tmp' | 'old',
): { path: string; pid: number; mtimeMs: number }[] {
  const parent = path.dirname(dir);
  const prefix = `.${path.basename(dir)}.${kind}-`;
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix))
    .map((n) => {
      const p = path.join(parent, n);
      const pid = Number(n.slice(prefix.length).split('-')[0]);
      let mtimeMs = 0;
      try {
        mtimeMs = fs.statSync(p).mtimeMs;
      } catch {
        /* vanished */
      }
      return { path: p, pid, mtimeMs };
    })
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
}

// ---------------------------------------------------------------------------------------------
// Validation

function checkJson(v: unknown, where: string): void {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v))
      throw new TypeError(`${where} is ${v}; JSON cannot hold it (store it as a string or null)`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(x, `${where}[${i}]`));
    return;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      checkJson(x, `${where}.${k}`);
    return;
  }
  throw new TypeError(
    `${where} is a ${typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v}, ` +
      'not a JSON value',
  );
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The manifest's `checksum`: sha256 of the compact JSON of its other fields. */
function manifestChecksum(fields: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

function checkManifest(m: unknown, file: string): CheckpointManifest {
  const bad = (problem: string): never => {
    throw new CheckpointError(file, `invalid manifest: ${problem}`, damagedFix(path.dirname(file)));
  };
  if (typeof m !== 'object' || m === null) return bad('not an object');
  const o = m as Record<string, unknown>;
  if (o.format !== CHECKPOINT_FORMAT)
    return bad(`format is ${JSON.stringify(o.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (o.version !== CHECKPOINT_VERSION)
    return bad(
      `format version ${String(o.version)} is not supported (this code reads version ` +
        `${CHECKPOINT_VERSION})`,
    );
  if (o.endianness !== 'LE') return bad(`endianness ${String(o.endianness)} is not supported`);
  const { checksum, ...rest } = o;
  if (typeof checksum !== 'string') {
    return bad('it has no checksum (written by an older version of this code, or edited)');
  }
  if (manifestChecksum(rest) !== checksum) {
    return bad('its contents do not match its checksum: the file was edited by hand or damaged');
  }
  if (!Array.isArray(o.tensors)) return bad('tensors is not a list');
  const names = new Set<string>();
  (o.tensors as unknown[]).forEach((t, i) => {
    const e = t as Record<string, unknown>;
    const where = `tensors[${i}]`;
    if (typeof e !== 'object' || e === null) bad(`${where} is not an object`);
    if (typeof e.name !== 'string' || e.name === '') bad(`${where}.name is missing`);
    if (names.has(e.name as string)) bad(`tensor name ${String(e.name)} appears twice`);
    names.add(e.name as string);
    if (typeof e.file !== 'string' || !/^t\d+\.bin$/.test(e.file))
      bad(`${where}.file ${String(e.file)} is not a tensor file name`);
    if (!(typeof e.dtype === 'string' && e.dtype in BYTES))
      bad(`${where}.dtype ${String(e.dtype)} is not one of ${Object.keys(BYTES).join(', ')}`);
    if (
      !Array.isArray(e.shape) ||
      !(e.shape as unknown[]).every((d) => Number.isInteger(d) && (d as number) >= 0)
    )
      bad(`${where}.shape is not a list of sizes`);
    const expected = numel(e.shape as number[]) * BYTES[e.dtype as CheckpointDType];
    if (e.bytes !== expected)
      bad(
        `${where} (${String(e.name)}) says ${String(e.bytes)} bytes, ` +
          `but shape [${String(e.shape)}] of ${String(e.dtype)} needs ${expected}`,
      );
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256))
      bad(`${where}.sha256 is not a sha256 hex digest`);
  });
  return o as unknown as CheckpointManifest;
}

// ---------------------------------------------------------------------------------------------
// Save

/**
 * Test hook for fault injection: with `DGR_CHECKPOINT_FAULT=between-renames` in the environment,
 * a save that replaces a checkpoint kills its own process (SIGKILL) after renaming the old
 * checkpoint aside and before renaming the new one into place: the worst moment for a crash.
 */
export const FAULT_ENV = 'DGR_CHECKPOINT_FAULT';

/**
 * Before a save: refuses a `target` that is not a checkpoint folder (a file, or a folder with
 * other contents, which the swap would delete), and when `target` holds no checkpoint but a crashed
 * writer left the previous one renamed aside, puts that one back at `target` (an empty folder at
 * `target` is moved to `spare`, which the swap later reuses and removes).
 */
function prepareTarget(target: string, spare: string): void {
  let st: fs.Stats | null;
  try {
    st = fs.statSync(target);
  } catch {
    st = null;
  }
  const fix = 'pass a new or empty folder as the checkpoint folder';
  if (st !== null && !st.isDirectory()) {
    throw new CheckpointError(target, 'exists and is not a folder; a checkpoint is a folder', fix);
  }
  if (st !== null && fs.existsSync(path.join(target, MANIFEST))) return;
  if (st !== null && fs.readdirSync(target).length > 0) {
    throw new CheckpointError(
      target,
      'is a folder with other files but no checkpoint ' +
        `(no ${MANIFEST}); saving here would replace them`,
      fix,
    );
  }
  const from = findCheckpoint(target);
  if (from === null || from === target) return;
  if (st !== null) fs.renameSync(target, spare);
  fs.renameSync(from, target);
  syncDirNow(path.dirname(target));
  if (st !== null) fs.rmSync(spare, { recursive: true, force: true });
}

/**
 * Saves `meta` (any JSON value) and named tensors (float32, int32 or bool) to `dir`, atomically,
 * replacing any checkpoint there. Tensor values are read first (`await t.data()`), the tensors are
 * not disposed. Returns the manifest written.
 */
export async function saveCheckpoint(
  dir: string,
  contents: CheckpointContents,
): Promise<CheckpointManifest> {
  if (typeof dir !== 'string' || dir === '')
    throw new TypeError('saveCheckpoint: dir must be a directory path');
  checkJson(contents.meta, 'saveCheckpoint: meta');
  const entries = Object.entries(contents.tensors);
  const datas: Uint8Array[] = [];
  const tensors: TensorEntry[] = [];
  for (const [i, [name, t]] of entries.entries()) {
    if (name === '') throw new TypeError('saveCheckpoint: a tensor name is empty');
    if (!(t.dtype in BYTES))
      throw new TypeError(
        `saveCheckpoint: tensor ${name} has dtype ${t.dtype}; ` +
          `checkpoints store ${Object.keys(BYTES).join(', ')}`,
      );
    if (t.isDisposed) throw new TypeError(`saveCheckpoint: tensor ${name} is disposed`);
    const values = await t.data();
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    datas.push(bytes);
    tensors.push(
      Object.freeze({
        name,
        file: `t${String(i).padStart(4, '0')}.bin`,
        dtype: t.dtype as CheckpointDType,
        shape: Object.freeze([...t.shape]),
        bytes: bytes.byteLength,
        sha256: sha256(bytes),
      }),
    );
  }
  if (os.endianness() !== 'LE')
    throw new CheckpointError(dir, 'checkpoints are little-endian; this machine is big-endian');
  const fields = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    endianness: 'LE',
    createdAt: new Date().toISOString(),
    meta: contents.meta,
    tensors: Object.freeze(tensors),
  } as const;
  const checksum = manifestChecksum(fields);
  const manifest: CheckpointManifest = Object.freeze({ ...fields, checksum });

  const target = path.resolve(dir);
  const parent = path.dirname(target);
  await fs.promises.mkdir(parent, { recursive: true });
  const name = path.basename(target);
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${name}.tmp-${id}`);
  const old = path.join(parent, `.${name}.old-${id}`);
  prepareTarget(target, old);
  // Remove leftovers of writers that crashed (their process is gone). A recoverable one was put
  // back at `target` above, so nothing removed here is what the loader would read.
  for (const s of [...siblings(target, 'tmp'), ...siblings(target, 'old')]) {
    if (!pidAlive(s.pid)) await fs.promises.rm(s.path, { recursive: true, force: true });
  }
  try {
    await fs.promises.mkdir(tmp);
    for (const [i, e] of tensors.entries()) {
      await writeAndSync(path.join(tmp, e.file), datas[i] as Uint8Array);
    }
    await writeAndSync(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 1));
    await syncDir(tmp);
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw new CheckpointError(
      tmp,
      `could not write the checkpoint: ${(err as Error).message}`,
      `make sure ${parent} is a writable folder with free space, or use another folder`,
    );
  }
  const hadOld = fs.existsSync(target);
  if (hadOld) await fs.promises.rename(target, old);
  if (hadOld && process.env[FAULT_ENV] === 'between-renames') process.kill(process.pid, 'SIGKILL');
  await fs.promises.rename(tmp, target);
  await syncDir(parent);
  if (hadOld) await fs.promises.rm(old, { recursive: true, force: true });
  return manifest;
}

// ---------------------------------------------------------------------------------------------
// Load

/** Reads and validates `dir/manifest.json` (not the tensor bytes). */
export function readCheckpointManifest(dir: string): CheckpointManifest {
  const file = path.join(path.resolve(dir), MANIFEST);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      file,
      code === 'ENOENT'
        ? 'no checkpoint here (manifest.json is missing); save one first or check the path'
        : `cannot read: ${(err as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const problem = `manifest is not valid JSON (${(err as Error).message}); the file is corrupt`;
    throw new CheckpointError(file, problem, damagedFix(path.dirname(file)));
  }
  return checkManifest(parsed, file);
}

/**
 * The folder {@link loadCheckpoint} reads for `dir`: `dir` itself when it holds a manifest;
 * otherwise, after a crash between the two renames of a save, the newest complete renamed-aside
 * previous checkpoint; null when there is nothing to load. Cheap: the bytes are not validated.
 */
export function findCheckpoint(dir: string): string | null {
  const target = path.resolve(dir);
  if (fs.existsSync(path.join(target, MANIFEST))) return target;
  const aside = siblings(target, 'old').find((s) => fs.existsSync(path.join(s.path, MANIFEST)));
  return aside === undefined ? null : aside.path;
}

/** Whether {@link loadCheckpoint} has a checkpoint to read for `dir` (see findCheckpoint). */
export function checkpointExists(dir: string): boolean {
  return findCheckpoint(dir) !== null;
}

function jsonEqual(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Loads a checkpoint saved by {@link saveCheckpoint}. Validates the manifest, every file's length
 * and sha256, and the expectations, before creating any tensor; fails with a CheckpointError naming
 * the file and the problem. The caller owns (and disposes) the returned tensors.
 */
export async function loadCheckpoint<M extends Json = Json>(
  dir: string,
  opts: { readonly expect?: CheckpointExpectation } = {},
): Promise<LoadedCheckpoint<M>> {
  // After a crash between "rename old aside" and "rename new into place" the old one is complete.
  const from = findCheckpoint(dir) ?? path.resolve(dir);
  const manifest = readCheckpointManifest(from);
  const expect = opts.expect ?? {};
  const byName = new Map(manifest.tensors.map((e) => [e.name, e]));
  for (const [name, want] of Object.entries(expect.tensors ?? {})) {
    const e = byName.get(name);
    if (e === undefined)
      throw new CheckpointError(
        path.join(from, MANIFEST),
        `missing tensor ${name} (has: ${[...byName.keys()].join(', ') || 'none'})`,
      );
    if (want.dtype !== undefined && want.dtype !== e.dtype)
      throw new CheckpointError(
        path.join(from, e.file),
        `tensor ${name} has dtype ${e.dtype}, expected ${want.dtype}`,
      );
    if (want.shape !== undefined && want.shape.join(',') !== e.shape.join(',')) {
      throw new CheckpointError(
        path.join(from, e.file),
        `tensor ${name} has shape [${e.shape.join(', ')}], expected [${want.shape.join(', ')}]`,
      );
    }
  }
  if (expect.exact === true) {
    const extra = [...byName.keys()].filter((n) => !(n in (expect.tensors ?? {})));
    if (extra.length > 0)
      throw new CheckpointError(
        path.join(from, MANIFEST),
        `unexpected tensors: ${extra.join(', ')}`,
      );
  }
  for (const [key, want] of Object.entries(expect.meta ?? {})) {
    const meta = manifest.meta;
    const got =
      typeof meta === 'object' && meta !== null && !Array.isArray(meta)
        ? (meta as Record<string, Json>)[key]
        : undefined;
    if (got === undefined || !jsonEqual(got, want)) {
      throw new CheckpointError(
        path.join(from, MANIFEST),
        `meta.${key} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`,
      );
    }
  }
  // Read and verify every file before creating any tensor.
  const buffers: ArrayBuffer[] = [];
  for (const e of manifest.tensors) {
    const file = path.join(from, e.file);
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const problem =
        code === 'ENOENT'
          ? `tensor file of ${e.name} is missing`
          : `cannot read tensor ${e.name}: ${(err as Error).message}`;
      throw new CheckpointError(file, problem, damagedFix(from));
    }
    const fix = damagedFix(from);
    if (bytes.length < e.bytes) {
      const problem = `truncated: ${bytes.length} of ${e.bytes} bytes of tensor ${e.name}`;
      throw new CheckpointError(file, problem, fix);
    }
    if (bytes.length > e.bytes) {
      const problem = `has ${bytes.length} bytes, but tensor ${e.name} needs ${e.bytes}`;
      throw new CheckpointError(file, problem, fix);
    }
    const digest = sha256(bytes);
    if (digest !== e.sha256) {
      const problem =
        `corrupt: sha256 of tensor ${e.name} is ${digest}, ` + `the manifest says ${e.sha256}`;
      throw new CheckpointError(file, problem, fix);
    }
    buffers.push(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
  }
  const tensors: Record<string, Tensor> = {};
  manifest.tensors.forEach((e, i) => {
    const buf = buffers[i] as ArrayBuffer;
    const values =
      e.dtype === 'float32'
        ? new Float32Array(buf)
        : e.dtype === 'int32'
          ? new Int32Array(buf)
          : new Uint8Array(buf);
    tensors[e.name] = tf.tensor(values, [...e.shape], e.dtype);
  });
  return Object.freeze({
    meta: manifest.meta as M,
    tensors: Object.freeze(tensors),
    manifest,
    readFrom: from,
  });
}
