/**
 * Reader for MATLAB 5.0 MAT-files (level 5, the format of the official SVHN
 * files `train_32x32.mat` and `test_32x32.mat`).
 *
 * Layout (MathWorks, "MAT-File Format", chapter 1):
 * - a 128-byte header: 116 bytes of text ("MATLAB 5.0 MAT-file, ..."), 8 bytes of
 *   subsystem offset, a 2-byte version (0x0100) and a 2-byte endian indicator:
 *   'IM' for a little-endian file, 'MI' for a big-endian one;
 * - then data elements, each an 8-byte tag (uint32 type, uint32 byte count) and
 *   its data padded to a multiple of 8 bytes. In the "small data element" form
 *   the tag's first word holds the byte count (1..4) in its upper 16 bits and the
 *   type in its lower 16 bits, and the data sit in the tag's second word;
 * - top-level elements are miMATRIX (14) or miCOMPRESSED (15: a zlib stream that
 *   inflates to one complete element, not padded);
 * - an miMATRIX holds sub-elements: array flags (miUINT32: class in the low byte,
 *   complex bit 0x0800), dimensions (miINT32), name (miINT8), the real part (any
 *   numeric storage type, converted to the array's class), and for complex arrays
 *   the imaginary part.
 *
 * Numeric arrays of class uint8, double and single are supported, real only;
 * every other class is a clear error. Data stay in MATLAB's column-major order
 * (the first dimension varies fastest).
 *
 * Compressed elements of a file are inflated as a stream straight from disk into
 * one buffer of the exact inflated size, so the 182 MB SVHN training file never
 * sits in memory compressed and decompressed at the same time.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

/** Data types of data elements (the `mi*` constants). */
export const MI_TYPES = {
  1: { name: 'miINT8', bytes: 1 },
  2: { name: 'miUINT8', bytes: 1 },
  3: { name: 'miINT16', bytes: 2 },
  4: { name: 'miUINT16', bytes: 2 },
  5: { name: 'miINT32', bytes: 4 },
  6: { name: 'miUINT32', bytes: 4 },
  7: { name: 'miSINGLE', bytes: 4 },
  9: { name: 'miDOUBLE', bytes: 8 },
  12: { name: 'miINT64', bytes: 8 },
  13: { name: 'miUINT64', bytes: 8 },
  14: { name: 'miMATRIX', bytes: 0 },
  15: { name: 'miCOMPRESSED', bytes: 0 },
  16: { name: 'miUTF8', bytes: 1 },
  17: { name: 'miUTF16', bytes: 2 },
  18: { name: 'miUTF32', bytes: 4 },
} as const;

export const MI_MATRIX = 14;
export const MI_COMPRESSED = 15;

/** MATLAB array classes (the `mx*_CLASS` constants). */
export const MX_CLASSES = {
  1: 'cell',
  2: 'struct',
  3: 'object',
  4: 'char',
  5: 'sparse',
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
} as const;

/** A numeric MATLAB array, real part only, column-major. */
export type MatArray =
  | {
      readonly name: string;
      readonly className: 'uint8';
      readonly dims: readonly number[];
      readonly data: Uint8Array;
    }
  | {
      readonly name: string;
      readonly className: 'double';
      readonly dims: readonly number[];
      readonly data: Float64Array;
    }
  | {
      readonly name: string;
      readonly className: 'single';
      readonly dims: readonly number[];
      readonly data: Float32Array;
    };

export interface MatHeader {
  /** The descriptive text, trailing spaces and NULs removed. */
  readonly text: string;
  readonly version: number;
  readonly endian: 'little' | 'big';
}

export interface MatFile {
  readonly header: MatHeader;
  /** Variables by name, in file order. */
  readonly variables: ReadonlyMap<string, MatArray>;
}

/**
 * A file that is not a readable MAT-file; `file` and `problem` are kept for callers' own messages.
 */
export class MatFormatError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(
      `${file}: not a readable MATLAB 5.0 MAT-file: ${problem}. Replace it with a complete, ` +
        'uncorrupted copy of the file.',
    );
    this.name = 'MatFormatError';
  }
}

/** Where the bytes come from: a buffer in memory or a file read on demand. */
interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset` (the caller checked the range). */
  read(offset: number, length: number): Uint8Array;
  /** The bytes [offset, offset + length) as a stream of chunks. */
  chunks(offset: number, length: number): AsyncIterable<Uint8Array>;
  close(): void;
}

function bufferSource(buf: Uint8Array): ByteSource {
  return {
    size: buf.length,
    read: (offset, length) => buf.subarray(offset, offset + length),
    chunks: async function* (offset, length) {
      const chunk = 1 << 20;
      for (let p = offset; p < offset + length; p += chunk)
        yield buf.subarray(p, Math.min(p + chunk, offset + length));
    },
    close: () => undefined,
  };
}

function fileSource(file: string): ByteSource {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new MatFormatError(
      file,
      `cannot open it (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const size = fs.fstatSync(fd).size;
  return {
    size,
    read: (offset, length) => {
      const out = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = fs.readSync(fd, out, got, length - got, offset + got);
        if (n === 0)
          throw new MatFormatError(
            file,
            `file ended while reading ${length} bytes at offset ${offset} ` +
              '(was it changed while being read?)',
          );
        got += n;
      }
      return out;
    },
    chunks: (offset, length) =>
      length === 0
        ? (async function* () {})()
        : fs.createReadStream(file, {
            start: offset,
            end: offset + length - 1,
            highWaterMark: 1 << 20,
          }),
    close: () => fs.closeSync(fd),
  };
}

/** Reads unsigned/signed integers and floats in the file's byte order. */
class Reader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly little: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u32(at: number): number {
    return this.view.getUint32(at, this.little);
  }
  i32(at: number): number {
    return this.view.getInt32(at, this.little);
  }
  u16(at: number): number {
    return this.view.getUint16(at, this.little);
  }
  /** Element `i` of a data element of type `type` starting at `at`, as a number. */
  value(type: number, at: number, i: number): number {
    const v = this.view;
    const le = this.little;
    switch (type) {
      case 1:
        return v.getInt8(at + i);
      case 2:
        return v.getUint8(at + i);
      case 3:
        return v.getInt16(at + 2 * i, le);
      case 4:
        return v.getUint16(at + 2 * i, le);
      case 5:
        return v.getInt32(at + 4 * i, le);
      case 6:
        return v.getUint32(at + 4 * i, le);
      case 7:
        return v.getFloat32(at + 4 * i, le);
      case 9:
        return v.getFloat64(at + 8 * i, le);
      case 12:
        return Number(v.getBigInt64(at + 8 * i, le));
      case 13:
        return Number(v.getBigUint64(at + 8 * i, le));
      default:
        throw new Error(`no numeric type ${type}`);
    }
  }
}

function typeName(type: number): string {
  const t = (MI_TYPES as Record<number, { name: string }>)[type];
  return t === undefined ? `unknown type ${type}` : `${t.name} (${type})`;
}

const NUMERIC_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 9, 12, 13]);

interface Tag {
  readonly type: number;
  /** Bytes of data. */
  readonly size: number;
  /** Offset of the data. */
  readonly dataAt: number;
  /** Offset just past the data and its padding. */
  readonly next: number;
}

/** Reads the tag at `at` of a buffer, small data element format included. */
function readTag(
  r: Reader,
  at: number,
  end: number,
  what: string,
  fail: (p: string) => never,
): Tag {
  if (at + 8 > end)
    fail(
      `${what}: the 8-byte tag at byte ${at} runs past the end of its container (${end} bytes); ` +
        'the data are truncated',
    );
  const first = r.u32(at);
  const small = first >>> 16;
  if (small !== 0) {
    if (small > 4)
      fail(`${what}: small data element at byte ${at} claims ${small} bytes (at most 4 fit)`);
    return { type: first & 0xffff, size: small, dataAt: at + 4, next: at + 8 };
  }
  const size = r.u32(at + 4);
  const dataAt = at + 8;
  if (dataAt + size > end)
    fail(
      `${what}: ${typeName(first)} element at byte ${at} declares ${size} bytes but only ` +
        `${end - dataAt} remain; the data are truncated`,
    );
  return { type: first, size, dataAt, next: Math.min(end, dataAt + Math.ceil(size / 8) * 8) };
}

/**
 * Parses the content of an miMATRIX element (the bytes after its tag).
 * @param r reader over a buffer holding the element
 * @param start offset of the content, `end` offset just past it
 * @param where position description for messages, e.g. "variable 2 at byte 184"
 */
function parseMatrix(
  r: Reader,
  start: number,
  end: number,
  where: string,
  fail: (p: string) => never,
): MatArray {
  if (end === start) fail(`${where}: empty miMATRIX element (no array flags)`);
  const flags = readTag(r, start, end, `${where} array flags`, fail);
  if (flags.type !== 6 || flags.size !== 8)
    fail(
      `${where}: array flags must be miUINT32 with 8 bytes, found ${typeName(flags.type)} with ` +
        `${flags.size} bytes`,
    );
  const flagWord = r.u32(flags.dataAt);
  const classId = flagWord & 0xff;
  const complex = (flagWord & 0x0800) !== 0;
  const dimsTag = readTag(r, flags.next, end, `${where} dimensions`, fail);
  if (dimsTag.type !== 5 || dimsTag.size % 4 !== 0 || dimsTag.size < 8) {
    fail(
      `${where}: dimensions must be miINT32 with at least 2 values, ` +
        `found ${typeName(dimsTag.type)} with ${dimsTag.size} bytes`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < dimsTag.size / 4; i++) {
    const d = r.i32(dimsTag.dataAt + 4 * i);
    if (d < 0) fail(`${where}: dimension ${i + 1} is negative (${d})`);
    dims.push(d);
  }
  const nameTag = readTag(r, dimsTag.next, end, `${where} name`, fail);
  if (nameTag.type !== 1 && nameTag.type !== 2)
    fail(`${where}: array name must be miINT8, found ${typeName(nameTag.type)}`);
  const name = Buffer.from(
    r.bytes.subarray(nameTag.dataAt, nameTag.dataAt + nameTag.size),
  ).toString('latin1');
  const label = name === '' ? where : `${where} ('${name}')`;
  const className = (MX_CLASSES as Record<number, string>)[classId];
  if (className === undefined) fail(`${label}: unknown array class ${classId}`);
  if (className !== 'uint8' && className !== 'double' && className !== 'single') {
    fail(
      `${label}: array class '${className}' is not supported (only numeric uint8, ` +
        'double and single arrays are read)',
    );
  }
  if (complex) fail(`${label}: complex arrays are not supported`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count)) fail(`${label}: dimensions ${dims.join('x')} are too large`);
  const real = readTag(r, nameTag.next, end, `${label} real part`, fail);
  if (!NUMERIC_TYPES.has(real.type))
    fail(`${label}: real part has non-numeric storage type ${typeName(real.type)}`);
  const bytesPer = (MI_TYPES as Record<number, { bytes: number }>)[real.type]!.bytes;
  if (real.size !== count * bytesPer) {
    fail(
      `${label}: real part holds ${real.size} bytes (${real.size / bytesPer} ` +
        `${typeName(real.type)} values) but dimensions ${dims.join('x')} need ${count} values`,
    );
  }
  if (real.next < end) {
    const extra = readTag(r, real.next, end, `${label} after real part`, fail);
    fail(`${label}: unexpected ${typeName(extra.type)} element after the real part`);
  }
  if (className === 'uint8') {
    if (real.type === 2)
      return { name, className, dims, data: r.bytes.subarray(real.dataAt, real.dataAt + count) };
    const data = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const v = r.value(real.type, real.dataAt, i);
      if (!(Number.isInteger(v) && v >= 0 && v <= 255))
        fail(`${label}: value ${v} at index ${i} does not fit class uint8`);
      data[i] = v;
    }
    return { name, className, dims, data };
  }
  const data = className === 'double' ? new Float64Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = r.value(real.type, real.dataAt, i);
  return className === 'double'
    ? { name, className, dims, data: data as Float64Array }
    : { name, className, dims, data: data as Float32Array };
}

/**
 * Largest inflated element accepted (Node's buffer limit is higher, but no sane file needs more).
 */
const MAX_INFLATED = 2 ** 32;

/**
 * Inflates a zlib stream of chunks into one buffer of exactly the size the
 * inflated element's tag declares (8 + byte count).
 */
async function inflateElement(
  chunks: AsyncIterable<Uint8Array>,
  little: boolean,
  where: string,
  fail: (p: string) => never,
): Promise<Uint8Array> {
  const inflate = zlib.createInflate();
  let out: Buffer | null = null;
  let head = Buffer.alloc(0);
  let filled = 0;
  let zerr: Error | null = null;
  const take = (chunk: Buffer): void => {
    if (out === null) {
      head = Buffer.concat([head, chunk]);
      if (head.length < 8) return;
      const r = new Reader(head, little);
      const first = r.u32(0);
      const size = first >>> 16 !== 0 ? 8 : 8 + r.u32(4);
      if (size > MAX_INFLATED)
        fail(`${where}: compressed element claims to inflate to ${size} bytes`);
      out = Buffer.allocUnsafe(size);
      chunk = head;
    }
    if (filled + chunk.length > out.length) {
      fail(
        `${where}: compressed data inflate to more bytes than the inner element declares ` +
          `(${out.length}); the element is corrupted`,
      );
    }
    chunk.copy(out, filled);
    filled += chunk.length;
  };
  const done = new Promise<void>((resolve) => {
    inflate.on('data', (c: Buffer) => {
      try {
        take(c);
      } catch (err) {
        zerr = err as Error;
        inflate.destroy();
        resolve();
      }
    });
    inflate.on('error', (err) => {
      zerr ??= err;
      resolve();
    });
    inflate.on('end', () => resolve());
    inflate.on('close', () => resolve());
  });
  try {
    for await (const c of chunks) {
      if (zerr !== null || inflate.destroyed) break;
      if (!inflate.write(c)) {
        await new Promise<void>((res) => {
          const go = (): void => {
            inflate.off('drain', go);
            inflate.off('close', go);
            res();
          };
          inflate.on('drain', go);
          inflate.on('close', go);
        });
      }
    }
  } catch (err) {
    inflate.destroy();
    throw err;
  }
  if (!inflate.destroyed) inflate.end();
  await done;
  const error = zerr as Error | null;
  if (error !== null) {
    if (error instanceof MatFormatError) throw error;
    const msg =
      error.message === 'unexpected end of file'
        ? 'the zlib stream ends early (the file is truncated)'
        : `zlib reports '${error.message}'`;
    fail(`${where}: compressed data element cannot be inflated: ${msg}`);
  }
  const o = out as Buffer | null;
  if (o === null)
    fail(
      `${where}: compressed data element inflates to ${head.length} bytes, ` +
        'fewer than one 8-byte tag',
    );
  if (filled !== o.length)
    fail(
      `${where}: compressed element inflates to ${filled} bytes but its inner element declares ` +
        `${o.length}; the data are truncated`,
    );
  return o;
}

/** The 128-byte header; `fail` if it is not a level-5 MAT-file header. */
function parseHeader(src: ByteSource, fail: (p: string) => never): MatHeader {
  if (src.size < 128)
    fail(`the file is ${src.size} bytes, shorter than the 128-byte MAT-file header`);
  const h = src.read(0, 128);
  const text = Buffer.from(h.subarray(0, 116))
    .toString('latin1')
    .replace(/[\0 ]+$/, '');
  if (h[0] === 0x89 && h[1] === 0x48 && h[2] === 0x44 && h[3] === 0x46)
    fail('it is an HDF5 file, not a MAT-file');
  const ind = String.fromCharCode(h[126] as number, h[127] as number);
  if (ind !== 'IM' && ind !== 'MI') {
    fail(
      `bytes 126-127 of the header are not the endian indicator 'IM' or 'MI'` +
        (text.startsWith('MATLAB') ? '' : ' and the header text does not start with "MATLAB"'),
    );
  }
  const little = ind === 'IM';
  const version = new Reader(h, little).u16(124);
  if (text.startsWith('MATLAB 7.3'))
    fail(
      'it is a version 7.3 MAT-file (HDF5), which this reader does not support; ' +
        'save it with -v7 or -v6',
    );
  if (version !== 0x0100)
    fail(
      `header version is 0x${version.toString(16).padStart(4, '0')}, ` +
        'expected 0x0100 (MATLAB 5.0 MAT-file)',
    );
  return { text, version, endian: little ? 'little' : 'big' };
}

async function parseSource(src: ByteSource, file: string): Promise<MatFile> {
  const fail = (problem: string): never => {
    throw new MatFormatError(file, problem);
  };
  const header = parseHeader(src, fail);
  const little = header.endian === 'little';
  const variables = new Map<string, MatArray>();
  let at = 128;
  let index = 0;
  while (at < src.size) {
    index += 1;
    const where = `variable ${index} at byte ${at}`;
    if (at + 8 > src.size)
      fail(
        `${where}: ${src.size - at} trailing bytes are too few for a data element tag; ` +
          'the file is truncated',
      );
    const tagBytes = src.read(at, 8);
    const tr = new Reader(tagBytes, little);
    const type = tr.u32(0);
    if (type >>> 16 !== 0)
      fail(`${where}: a top-level element cannot use the small data element format`);
    const size = tr.u32(4);
    if (at + 8 + size > src.size) {
      fail(
        `${where}: ${typeName(type)} element declares ${size} bytes but the file has only ` +
          `${src.size - at - 8} left; the file is truncated (incomplete download or copy?)`,
      );
    }
    let arr: MatArray;
    if (type === MI_COMPRESSED) {
      const inner = await inflateElement(src.chunks(at + 8, size), little, where, fail);
      const r = new Reader(inner, little);
      const t = readTag(r, 0, inner.length, where, fail);
      if (t.type !== MI_MATRIX)
        fail(`${where}: compressed element holds ${typeName(t.type)}, expected miMATRIX`);
      arr = parseMatrix(r, t.dataAt, t.dataAt + t.size, where, fail);
      at += 8 + size; // compressed elements are not padded
    } else if (type === MI_MATRIX) {
      const body = src.read(at + 8, size);
      arr = parseMatrix(new Reader(body, little), 0, size, where, fail);
      at += 8 + Math.ceil(size / 8) * 8;
    } else {
      return fail(
        `${where}: top-level element is ${typeName(type)}; expected miMATRIX or miCOMPRESSED`,
      );
    }
    if (variables.has(arr.name)) fail(`${where}: variable '${arr.name}' appears twice`);
    variables.set(arr.name, arr);
  }
  return { header, variables };
}

/**
 * Parses a MAT-file held in memory.
 * @param buf the whole file
 * @param file the file's name, used in error messages
 */
export async function parseMat(buf: Uint8Array, file: string): Promise<MatFile> {
  return parseSource(bufferSource(buf), file);
}

/**
 * Reads a MAT-file from disk; compressed elements are inflated as streams.
 * @param file path of the file; every error names it
 */
export async function readMatFile(file: string): Promise<MatFile> {
  const src = fileSource(file);
  try {
    return await parseSource(src, file);
  } finally {
    src.close();
  }
}

/**
 * The variable `name` of a parsed file, or a MatFormatError naming the file and the variables it
 * has.
 */
export function matVariable(mat: MatFile, name: string, file: string): MatArray {
  const v = mat.variables.get(name);
  if (v === undefined) {
    const names = [...mat.variables.keys()].map((n) => `'${n}'`).join(', ');
    throw new MatFormatError(
      file,
      `it has no variable '${name}' (variables: ${names === '' ? 'none' : names})`,
    );
  }
  return v;
}
