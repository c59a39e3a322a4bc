/**
 * Checkpoints: JSON metadata plus named tensors in a directory, written atomically and validated
 * on load.
 *
 * Layout of `dir`: `manifest.json` (format, version, meta, and for each tensor its name, file,
 * dtype, shape, byte length and sha256) and one raw little-endian file per tensor (`t0000.bin`, ...).
 *
 * Atomicity: everything is written into a hidden temporary sibling directory (`.name.tmp-<pid>-<id>`),
 * each file fsynced, the manifest last; then the previous checkpoint is renamed aside
 * (`.name.old-<pid>-<id>`), the new one renamed into place, and the old one removed. A crash
 * therefore never leaves a half-written checkpoint at `dir`: either the old or the new one is there,
 * and in the instant between the two renames the loader falls back to the renamed-aside old one.
 * Leftovers of crashed writers are ignored by the loader and removed by the next save.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../tf';
import type { Tensor } from '@tensorflow/tfjs-node';

export const CHECKPOINT_FORMAT = 'dgr-checkpoint';
export const CHECKPOINT_VERSION = 1;
const MANIFEST = 'manifest.json';

/** A checkpoint could not be written or read; `file` names the offending file or directory. */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

/** JSON values (what `meta` may hold). */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

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
  /** The directory actually read (differs from `dir` only when recovering the previous checkpoint after a crash mid-swap). */
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


function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Hidden siblings `.base.<kind>-<pid>-<id>` of `dir`, newest first. */
function siblings(dir: string, kind: 'tmp' | 'old'): { path: string; pid: number; mtimeMs: number }[] {
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
    if (!Number.isFinite(v)) throw new TypeError(`${where} is ${v}; JSON cannot hold it (store it as a string or null)`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(x, `${where}[${i}]`));
    return;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) checkJson(x, `${where}.${k}`);
    return;
  }
  throw new TypeError(`${where} is a ${typeof v === 'object' ? v.constructor?.name ?? 'object' : typeof v}, not a JSON value`);
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkManifest(m: unknown, file: string): CheckpointManifest {
  const bad = (problem: string): never => {
    throw new CheckpointError(file, `invalid manifest: ${problem}`);
  };
  if (typeof m !== 'object' || m === null) return bad('not an object');
  const o = m as Record<string, unknown>;
  if (o.format !== CHECKPOINT_FORMAT) return bad(`format is ${JSON.stringify(o.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (o.version !== CHECKPOINT_VERSION) return bad(`format version ${String(o.version)} is not supported (this code reads version ${CHECKPOINT_VERSION})`);
  if (o.endianness !== 'LE') return bad(`endianness ${String(o.endianness)} is not supported`);
  if (!Array.isArray(o.tensors)) return bad('tensors is not a list');
  const names = new Set<string>();
  (o.tensors as unknown[]).forEach((t, i) => {
    const e = t as Record<string, unknown>;
    const where = `tensors[${i}]`;
    if (typeof e !== 'object' || e === null) bad(`${where} is not an object`);
    if (typeof e.name !== 'string' || e.name === '') bad(`${where}.name is missing`);
    if (names.has(e.name as string)) bad(`tensor name ${String(e.name)} appears twice`);
    names.add(e.name as string);
    if (typeof e.file !== 'string' || !/^t\d+\.bin$/.test(e.file)) bad(`${where}.file ${String(e.file)} is not a tensor file name`);
    if (!(typeof e.dtype === 'string' && e.dtype in BYTES)) bad(`${where}.dtype ${String(e.dtype)} is not one of ${Object.keys(BYTES).join(', ')}`);
    if (!Array.isArray(e.shape) || !(e.shape as unknown[]).every((d) => Number.isInteger(d) && (d as number) >= 0)) bad(`${where}.shape is not a list of sizes`);
    const expected = numel(e.shape as number[]) * BYTES[e.dtype as CheckpointDType];
    if (e.bytes !== expected) bad(`${where} (${String(e.name)}) says ${String(e.bytes)} bytes, but shape [${String(e.shape)}] of ${String(e.dtype)} needs ${expected}`);
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) bad(`${where}.sha256 is not a sha256 hex digest`);
  });
  return o as unknown as CheckpointManifest;
}

// ---------------------------------------------------------------------------------------------
// Save

/**
 * Saves `meta` (any JSON value) and named tensors (float32, int32 or bool) to `dir`, atomically,
 * replacing any checkpoint there. Tensor values are read first (`await t.data()`), the tensors are
 * not disposed. Returns the manifest written.
 */
export async function saveCheckpoint(dir: string, contents: CheckpointContents): Promise<CheckpointManifest> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('saveCheckpoint: dir must be a directory path');
  checkJson(contents.meta, 'saveCheckpoint: meta');
  const entries = Object.entries(contents.tensors);
  const datas: Uint8Array[] = [];
  const tensors: TensorEntry[] = [];
  for (const [i, [name, t]] of entries.entries()) {
    if (name === '') throw new TypeError('saveCheckpoint: a tensor name is empty');
    if (!(t.dtype in BYTES)) throw new TypeError(`saveCheckpoint: tensor ${name} has dtype ${t.dtype}; checkpoints store ${Object.keys(BYTES).join(', ')}`);
    if (t.isDisposed) throw new TypeError(`saveCheckpoint: tensor ${name} is disposed`);
    const values = await t.data();
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    datas.push(bytes);
    tensors.push(Object.freeze({ name, file: `t${String(i).padStart(4, '0')}.bin`, dtype: t.dtype as CheckpointDType, shape: Object.freeze([...t.shape]), bytes: bytes.byteLength, sha256: sha256(bytes) }));
  }
  if (os.endianness() !== 'LE') throw new CheckpointError(dir, 'checkpoints are little-endian; this machine is big-endian');
  const manifest: CheckpointManifest = Object.freeze({
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    endianness: 'LE',
    createdAt: new Date().toISOString(),
    meta: contents.meta,
    tensors: Object.freeze(tensors),
  });

  const target = path.resolve(dir);
  const parent = path.dirname(target);
  await fs.promises.mkdir(parent, { recursive: true });
  // Remove leftovers of writers that crashed (their process is gone).
  for (const s of [...siblings(target, 'tmp'), ...siblings(target, 'old')]) {
    if (!pidAlive(s.pid)) await fs.promises.rm(s.path, { recursive: true, force: true });
  }
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) throw new CheckpointError(target, 'exists and is not a directory');
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${id}`);
  const old = path.join(parent, `.${path.basename(target)}.old-${id}`);
  try {
    await fs.promises.mkdir(tmp);
    for (const [i, e] of tensors.entries()) await writeAndSync(path.join(tmp, e.file), datas[i] as Uint8Array);
    await writeAndSync(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 1));
    await syncDir(tmp);
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw new CheckpointError(tmp, `could not write the checkpoint: ${(err as Error).message}`);
  }
  const hadOld = fs.existsSync(target);
  if (hadOld) await fs.promises.rename(target, old);
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
    throw new CheckpointError(file, code === 'ENOENT' ? 'no checkpoint here (manifest.json is missing); save one first or check the path' : `cannot read: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(file, `manifest is not valid JSON (${(err as Error).message}); the file is corrupt`);
  }
  return checkManifest(parsed, file);
}

/** Whether `dir` holds a checkpoint manifest (cheap; does not validate the tensor bytes). */
export function checkpointExists(dir: string): boolean {
  return fs.existsSync(path.join(path.resolve(dir), MANIFEST));
}

function jsonEqual(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Loads a checkpoint saved by {@link saveCheckpoint}. Validates the manifest, every file's length
 * and sha256, and the expectations, before creating any tensor; fails with a CheckpointError naming
 * the file and the problem. The caller owns (and disposes) the returned tensors.
 */
export async function loadCheckpoint<M extends Json = Json>(dir: string, opts: { readonly expect?: CheckpointExpectation } = {}): Promise<LoadedCheckpoint<M>> {
  let from = path.resolve(dir);
  if (!fs.existsSync(from)) {
    // A crash between "rename old aside" and "rename new into place": the old checkpoint is complete.
    const aside = siblings(from, 'old').find((s) => fs.existsSync(path.join(s.path, MANIFEST)));
    if (aside !== undefined) from = aside.path;
  }
  const manifest = readCheckpointManifest(from);
  const expect = opts.expect ?? {};
  const byName = new Map(manifest.tensors.map((e) => [e.name, e]));
  for (const [name, want] of Object.entries(expect.tensors ?? {})) {
    const e = byName.get(name);
    if (e === undefined) throw new CheckpointError(path.join(from, MANIFEST), `missing tensor ${name} (has: ${[...byName.keys()].join(', ') || 'none'})`);
    if (want.dtype !== undefined && want.dtype !== e.dtype) throw new CheckpointError(path.join(from, e.file), `tensor ${name} has dtype ${e.dtype}, expected ${want.dtype}`);
    if (want.shape !== undefined && want.shape.join(',') !== e.shape.join(',')) {
      throw new CheckpointError(path.join(from, e.file), `tensor ${name} has shape [${e.shape.join(', ')}], expected [${want.shape.join(', ')}]`);
    }
  }
  if (expect.exact === true) {
    const extra = [...byName.keys()].filter((n) => !(n in (expect.tensors ?? {})));
    if (extra.length > 0) throw new CheckpointError(path.join(from, MANIFEST), `unexpected tensors: ${extra.join(', ')}`);
  }
  for (const [key, want] of Object.entries(expect.meta ?? {})) {
    const meta = manifest.meta;
    const got = typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Record<string, Json>)[key] : undefined;
    if (got === undefined || !jsonEqual(got, want)) {
      throw new CheckpointError(path.join(from, MANIFEST), `meta.${key} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
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
      throw new CheckpointError(file, code === 'ENOENT' ? `tensor file of ${e.name} is missing` : `cannot read tensor ${e.name}: ${(err as Error).message}`);
    }
    if (bytes.length < e.bytes) throw new CheckpointError(file, `truncated: ${bytes.length} of ${e.bytes} bytes of tensor ${e.name}`);
    if (bytes.length > e.bytes) throw new CheckpointError(file, `has ${bytes.length} bytes, but tensor ${e.name} needs ${e.bytes}`);
    const digest = sha256(bytes);
    if (digest !== e.sha256) throw new CheckpointError(file, `corrupt: sha256 of tensor ${e.name} is ${digest}, the manifest says ${e.sha256}`);
    buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }
  const tensors: Record<string, Tensor> = {};
  manifest.tensors.forEach((e, i) => {
    const buf = buffers[i] as ArrayBuffer;
    const values = e.dtype === 'float32' ? new Float32Array(buf) : e.dtype === 'int32' ? new Int32Array(buf) : new Uint8Array(buf);
    tensors[e.name] = tf.tensor(values, [...e.shape], e.dtype);
  });
  return Object.freeze({ meta: manifest.meta as M, tensors: Object.freeze(tensors), manifest, readFrom: from });
}
