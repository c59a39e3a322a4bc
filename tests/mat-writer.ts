/**
 * A tiny MATLAB 5.0 MAT-file writer for the tests of lib/data/mat.ts and
 * lib/data/svhn.ts: header, miMATRIX elements (uncompressed) and the same
 * wrapped in miCOMPRESSED, in either byte order, small data element format
 * where the data fit in 4 bytes. Written from the MathWorks format description,
 * independently of the reader.
 */
import * as zlib from 'node:zlib';

export const mi = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  MATRIX: 14,
  COMPRESSED: 15,
} as const;
export const mx = {
  CELL: 1,
  STRUCT: 2,
  CHAR: 4,
  DOUBLE: 6,
  SINGLE: 7,
  INT8: 8,
  UINT8: 9,
  INT16: 10,
  UINT32: 13,
} as const;

const BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8 };

export type Endian = 'little' | 'big';

/** The 128-byte header. */
export function header(
  endian: Endian = 'little',
  text = 'MATLAB 5.0 MAT-file, Platform: test, Created on: never',
  version = 0x0100,
): Buffer {
  const h = Buffer.alloc(128, 0x20);
  h.write(text.slice(0, 116), 0, 'latin1');
  h.fill(0, 116, 124);
  const le = endian === 'little';
  if (le) h.writeUInt16LE(version, 124);
  else h.writeUInt16BE(version, 124);
  // The indicator is the characters 'M','I' written as one int16: 'IM' on disk for little-endian.
  h.write(le ? 'IM' : 'MI', 126, 'latin1');
  return h;
}

/** Values encoded as a data type, in the byte order. */
export function encode(type: number, values: ArrayLike<number>, endian: Endian): Buffer {
  const size = BYTES[type];
  if (size === undefined) throw new Error(`writer: no numeric type ${type}`);
  const b = Buffer.alloc(values.length * size);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = endian === 'little';
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    switch (type) {
      case 1:
        v.setInt8(i, x);
        break;
      case 2:
        v.setUint8(i, x);
        break;
      case 3:
        v.setInt16(2 * i, x, le);
        break;
      case 4:
        v.setUint16(2 * i, x, le);
        break;
      case 5:
        v.setInt32(4 * i, x, le);
        break;
      case 6:
        v.setUint32(4 * i, x, le);
        break;
      case 7:
        v.setFloat32(4 * i, x, le);
        break;
      case 9:
        v.setFloat64(8 * i, x, le);
        break;
    }
  }
  return b;
}

/**
 * A data element: tag + data + padding to 8 bytes; small format when allowed and the data fit in
 * 4 bytes.
 */
export function element(type: number, data: Buffer, endian: Endian, allowSmall = true): Buffer {
  const tag = Buffer.alloc(8);
  const le = endian === 'little';
  if (allowSmall && data.length <= 4 && data.length > 0) {
    const word = ((data.length << 16) | type) >>> 0;
    if (le) tag.writeUInt32LE(word, 0);
    else tag.writeUInt32BE(word, 0);
    data.copy(tag, 4);
    return tag;
  }
  if (le) {
    tag.writeUInt32LE(type, 0);
    tag.writeUInt32LE(data.length, 4);
  } else {
    tag.writeUInt32BE(type, 0);
    tag.writeUInt32BE(data.length, 4);
  }
  const pad = (8 - (data.length % 8)) % 8;
  return Buffer.concat([tag, data, Buffer.alloc(pad)]);
}

export interface Variable {
  readonly name: string;
  /** mx class id (mx.UINT8, mx.DOUBLE, ...). */
  readonly classId: number;
  readonly dims: readonly number[];
  /** Storage type of the real part (mi.UINT8, mi.DOUBLE, ...). */
  readonly type: number;
  /** Real part, column-major. */
  readonly values: ArrayLike<number>;
  readonly complex?: boolean;
}

/** An uncompressed miMATRIX element. */
export function matrix(v: Variable, endian: Endian = 'little'): Buffer {
  const flags = encode(
    mi.UINT32,
    [(v.classId & 0xff) | (v.complex === true ? 0x0800 : 0), 0],
    endian,
  );
  const parts = [
    element(mi.UINT32, flags, endian, false),
    element(mi.INT32, encode(mi.INT32, v.dims, endian), endian, false),
    element(mi.INT8, Buffer.from(v.name, 'latin1'), endian),
    element(v.type, encode(v.type, v.values, endian), endian),
  ];
  if (v.complex === true) parts.push(element(v.type, encode(v.type, v.values, endian), endian));
  return element(mi.MATRIX, Buffer.concat(parts), endian, false);
}

/** An element wrapped in miCOMPRESSED (zlib, not padded). */
export function compressed(inner: Buffer, endian: Endian = 'little'): Buffer {
  const z = zlib.deflateSync(inner);
  const tag = Buffer.alloc(8);
  if (endian === 'little') {
    tag.writeUInt32LE(mi.COMPRESSED, 0);
    tag.writeUInt32LE(z.length, 4);
  } else {
    tag.writeUInt32BE(mi.COMPRESSED, 0);
    tag.writeUInt32BE(z.length, 4);
  }
  return Buffer.concat([tag, z]);
}

/** A whole file. */
export function matFile(elements: readonly Buffer[], endian: Endian = 'little'): Buffer {
  return Buffer.concat([header(endian), ...elements]);
}

/** An SVHN-like file: X uint8 32x32x3xN (compressed), y double Nx1 (compressed or not). */
export function svhnLike(
  x: ArrayLike<number>,
  y: readonly number[],
  opts: { compressY?: boolean; endian?: Endian } = {},
): Buffer {
  const endian = opts.endian ?? 'little';
  const n = y.length;
  const X = matrix(
    { name: 'X', classId: mx.UINT8, dims: [32, 32, 3, n], type: mi.UINT8, values: x },
    endian,
  );
  // MATLAB stores a double array of small integers as miUINT8.
  const Y = matrix(
    { name: 'y', classId: mx.DOUBLE, dims: [n, 1], type: mi.UINT8, values: y },
    endian,
  );
  return matFile(
    [compressed(X, endian), opts.compressY === false ? Y : compressed(Y, endian)],
    endian,
  );
}
