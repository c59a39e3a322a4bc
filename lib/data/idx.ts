/**
 * Parser for the IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/).
 *
 * Layout: two zero bytes, one type byte, one byte with the number of dimensions d,
 * then d big-endian uint32 sizes, then the data, big-endian, row-major.
 * Every check failure names the file and the problem.
 */

/** Element types of the IDX format, by their type byte. */
export const IDX_TYPES = {
  0x08: { name: 'ubyte', bytes: 1 },
  0x09: { name: 'byte', bytes: 1 },
  0x0b: { name: 'short', bytes: 2 },
  0x0c: { name: 'int', bytes: 4 },
  0x0d: { name: 'float', bytes: 4 },
  0x0e: { name: 'double', bytes: 8 },
} as const;

export type IdxTypeName = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]['name'];
export type IdxData =
  Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  readonly type: IdxTypeName;
  /** Sizes of the dimensions, outermost first, e.g. [60000, 28, 28]. */
  readonly dims: readonly number[];
  readonly data: IdxData;
}

/** What the caller expects; `null` in `dims` means any size. */
export interface IdxExpectation {
  readonly type?: IdxTypeName;
  readonly dims?: readonly (number | null)[];
}

export class IdxFormatError extends Error {
  constructor(file: string, problem: string) {
    super(
      `${file}: not a valid IDX file: ${problem}. Delete the file and run \`npm run setup\` to ` +
        'fetch a verified copy.',
    );
    this.name = 'IdxFormatError';
  }
}

/**
 * Parses an IDX buffer.
 * @param buf the whole file
 * @param file the file's name, used in error messages
 * @param expect optional element type and dimension sizes the file must have
 */
export function parseIdx(buf: Uint8Array, file: string, expect: IdxExpectation = {}): IdxArray {
  const fail = (problem: string): never => {
    throw new IdxFormatError(file, problem);
  };
  if (buf.length < 4) fail(`file is ${buf.length} bytes, shorter than the 4-byte magic number`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    const magic = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    fail(
      `magic number 0x${magic} does not start with two zero bytes` +
        (buf[0] === 0x1f && buf[1] === 0x8b ? ' (it is gzip-compressed: gunzip it first)' : ''),
    );
  }
  const typeByte = buf[2] as number;
  const info = (IDX_TYPES as Record<number, { name: IdxTypeName; bytes: number }>)[typeByte];
  if (info === undefined)
    return fail(`unknown element type byte 0x${typeByte.toString(16).padStart(2, '0')}`);
  const ndims = buf[3] as number;
  if (ndims === 0) fail('number of dimensions is 0');
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes)
    fail(`file is ${buf.length} bytes, shorter than its ${headerBytes}-byte header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) {
    const size = view.getUint32(4 + 4 * i, false);
    if (size === 0) fail(`dimension ${i} has size 0`);
    dims.push(size);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const expectedBytes = headerBytes + count * info.bytes;
  if (buf.length < expectedBytes)
    fail(
      `truncated: header promises ${dims.join('x')} ${info.name} values (${expectedBytes} bytes) ` +
        `but the file has ${buf.length}`,
    );
  if (buf.length > expectedBytes)
    fail(
      `${buf.length - expectedBytes} unexpected trailing bytes after ${dims.join('x')} ` +
        `${info.name} values`,
    );
  if (expect.type !== undefined && expect.type !== info.name)
    fail(`element type is ${info.name}, expected ${expect.type}`);
  if (expect.dims !== undefined) {
    const shape = (d: readonly (number | null)[]) =>
      `[${d.map((x) => (x === null ? '*' : x)).join(', ')}]`;
    if (
      expect.dims.length !== dims.length ||
      expect.dims.some((want, i) => want !== null && want !== dims[i])
    ) {
      fail(`dimensions are [${dims.join(', ')}], expected ${shape(expect.dims)}`);
    }
  }
  const body = buf.subarray(headerBytes, expectedBytes);
  return { type: info.name, dims, data: decode(body, info.name, count) };
}

function decode(body: Uint8Array, type: IdxTypeName, count: number): IdxData {
  if (type === 'ubyte') return Uint8Array.from(body);
  if (type === 'byte') return new Int8Array(Uint8Array.from(body).buffer);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (type) {
    case 'short':
      return Int16Array.from({ length: count }, (_, i) => view.getInt16(2 * i, false));
    case 'int':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, false));
    case 'float':
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, false));
    case 'double':
      return Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, false));
  }
}

/** Encodes an array as IDX (used by tests and to write derived data sets). */
export function encodeIdx(
  type: IdxTypeName,
  dims: readonly number[],
  values: ArrayLike<number>,
): Uint8Array {
  const entry = Object.entries(IDX_TYPES).find(([, v]) => v.name === type);
  if (entry === undefined) throw new Error(`encodeIdx: unknown type ${type}`);
  const [code, info] = entry;
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count)
    throw new Error(`encodeIdx: ${values.length} values for dims [${dims.join(', ')}] (${count})`);
  const out = new Uint8Array(4 + 4 * dims.length + count * info.bytes);
  const view = new DataView(out.buffer);
  out[2] = Number(code);
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const off = 4 + 4 * dims.length;
  for (let i = 0; i < count; i++) {
    const v = values[i] as number;
    if (type === 'ubyte') view.setUint8(off + i, v);
    else if (type === 'byte') view.setInt8(off + i, v);
    else if (type === 'short') view.setInt16(off + 2 * i, v, false);
    else if (type === 'int') view.setInt32(off + 4 * i, v, false);
    else if (type === 'float') view.setFloat32(off + 4 * i, v, false);
    else view.setFloat64(off + 8 * i, v, false);
  }
  return out;
}
