import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { MatFile, MatFormatError, matVariable, parseMat, readMatFile } from '../lib/data/mat';
import {
  compressed,
  element,
  Endian,
  header,
  matFile,
  matrix,
  mi,
  mx,
  Variable,
} from './mat-writer';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-mat-');

function tmpFile(name: string, bytes: Uint8Array): string {
  const dir = tmpDir();
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Parses both ways (buffer in memory, file from disk) and checks they agree. */
async function both(bytes: Buffer, name = 'test.mat'): Promise<MatFile> {
  const a = await parseMat(bytes, name);
  const b = await readMatFile(tmpFile(name, bytes));
  assert.deepEqual([...b.variables.keys()], [...a.variables.keys()]);
  for (const [k, v] of a.variables) {
    const w = b.variables.get(k)!;
    assert.equal(w.className, v.className);
    assert.deepEqual(w.dims, v.dims);
    assert.deepEqual(Array.from(w.data), Array.from(v.data));
  }
  return a;
}

/** Rejects with a MatFormatError whose message names the file and matches `re`. */
async function rejectsWith(bytes: Buffer, re: RegExp, name = 'broken.mat'): Promise<void> {
  const check = (err: unknown): boolean => {
    assert.ok(err instanceof MatFormatError, `expected MatFormatError, got ${String(err)}`);
    assert.ok(err.message.includes(name), `message should name the file: ${err.message}`);
    assert.match(err.message, re);
    assert.match(err.message, /Replace it with a complete, uncorrupted copy/);
    return true;
  };
  await assert.rejects(parseMat(bytes, name), check);
  const file = tmpFile(name, bytes);
  await assert.rejects(readMatFile(file), check);
}

// A 2x3x2 uint8 array whose element (i, j, k) is 100*k + 10*j + i, stored column-major.
const cube: number[] = [];
for (let k = 0; k < 2; k++)
  for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) cube.push(100 * k + 10 * j + i);
const A: Variable = {
  name: 'cube',
  classId: mx.UINT8,
  dims: [2, 3, 2],
  type: mi.UINT8,
  values: cube,
};
const Y: Variable = {
  name: 'y',
  classId: mx.DOUBLE,
  dims: [3, 1],
  type: mi.DOUBLE,
  values: [1.5, -2, 1e10],
};

for (const endian of ['little', 'big'] as Endian[]) {
  for (const packed of [false, true]) {
    test(
      `reads uint8 and double arrays (${endian}-endian, ` +
        `${packed ? 'miCOMPRESSED' : 'uncompressed'})`,
      async () => {
        const wrap = (b: Buffer) => (packed ? compressed(b, endian) : b);
        const mat = await both(matFile([wrap(matrix(A, endian)), wrap(matrix(Y, endian))], endian));
        assert.equal(mat.header.endian, endian);
        assert.equal(mat.header.version, 0x0100);
        assert.match(mat.header.text, /^MATLAB 5\.0 MAT-file/);
        const a = matVariable(mat, 'cube', 'test.mat');
        assert.equal(a.className, 'uint8');
        assert.deepEqual(a.dims, [2, 3, 2]);
        assert.ok(a.data instanceof Uint8Array);
        // Column-major order is kept: element (i, j, k) at i + 2j + 6k.
        for (let k = 0; k < 2; k++)
          for (let j = 0; j < 3; j++)
            for (let i = 0; i < 2; i++)
              assert.equal(a.data[i + 2 * j + 6 * k], 100 * k + 10 * j + i);
        const y = matVariable(mat, 'y', 'test.mat');
        assert.equal(y.className, 'double');
        assert.deepEqual(y.dims, [3, 1]);
        assert.deepEqual(Array.from(y.data), [1.5, -2, 1e10]);
      },
    );
  }
}

test(
  'converts the storage type to the class (double stored as miUINT8 / miINT16, ' +
    'uint8 stored as miINT32)',
  async () => {
    for (const endian of ['little', 'big'] as Endian[]) {
      const mat = await both(
        matFile(
          [
            compressed(
              matrix(
                {
                  name: 'lab',
                  classId: mx.DOUBLE,
                  dims: [1, 5],
                  type: mi.UINT8,
                  values: [1, 2, 10, 255, 0],
                },
                endian,
              ),
              endian,
            ),
            matrix(
              { name: 'neg', classId: mx.DOUBLE, dims: [2, 1], type: mi.INT16, values: [-300, 7] },
              endian,
            ),
            matrix(
              { name: 'u8', classId: mx.UINT8, dims: [1, 2], type: mi.INT32, values: [0, 255] },
              endian,
            ),
            matrix(
              { name: 'f', classId: mx.SINGLE, dims: [1, 1], type: mi.SINGLE, values: [0.25] },
              endian,
            ),
          ],
          endian,
        ),
      );
      assert.deepEqual(Array.from(matVariable(mat, 'lab', 't').data), [1, 2, 10, 255, 0]);
      assert.ok(matVariable(mat, 'lab', 't').data instanceof Float64Array);
      assert.deepEqual(Array.from(matVariable(mat, 'neg', 't').data), [-300, 7]);
      const u8 = matVariable(mat, 'u8', 't');
      assert.equal(u8.className, 'uint8');
      assert.deepEqual(Array.from(u8.data), [0, 255]);
      assert.deepEqual(Array.from(matVariable(mat, 'f', 't').data), [0.25]);
    }
  },
);

test(
  'small data element format: ' + 'short names and real parts of up to 4 bytes packed into the tag',
  async () => {
    const v: Variable = {
      name: 'X',
      classId: mx.UINT8,
      dims: [1, 3],
      type: mi.UINT8,
      values: [7, 8, 9],
    };
    const bytes = matFile([matrix(v)]);
    // header + matrix tag + flags (16) + dims (16) + packed name (8) + packed data (8)
    assert.equal(bytes.length, 128 + 8 + 16 + 16 + 8 + 8);
    const mat = await both(bytes);
    assert.deepEqual(Array.from(matVariable(mat, 'X', 't').data), [7, 8, 9]);
    // Empty arrays have a 0-byte real part.
    const e = await both(
      matFile([
        matrix({ name: 'empty', classId: mx.DOUBLE, dims: [0, 0], type: mi.DOUBLE, values: [] }),
      ]),
    );
    assert.deepEqual(matVariable(e, 'empty', 't').dims, [0, 0]);
    assert.equal(matVariable(e, 'empty', 't').data.length, 0);
  },
);

test('streams a compressed element larger than one read chunk from disk', async () => {
  const n = 40; // 32*32*3*40 = 122,880 values; with a 5-dim twist, > 1 MB after a repeat
  const dims = [32, 32, 3, n, 9];
  const count = dims.reduce((a, b) => a * b, 1);
  const values = new Uint8Array(count);
  let s = 12345;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    values[i] = s >>> 24;
  }
  const bytes = matFile([
    compressed(matrix({ name: 'big', classId: mx.UINT8, dims, type: mi.UINT8, values })),
  ]);
  assert.ok(bytes.length > 1 << 20, 'the compressed element spans several 1 MB chunks');
  const mat = await readMatFile(tmpFile('big.mat', bytes));
  const big = matVariable(mat, 'big', 'big.mat');
  assert.deepEqual(big.dims, dims);
  assert.ok(
    Buffer.from(big.data.buffer, big.data.byteOffset, big.data.byteLength).equals(
      Buffer.from(values),
    ),
  );
});

test('a missing variable names the file and the variables it has', async () => {
  const mat = await parseMat(matFile([matrix(A)]), 'some.mat');
  assert.throws(
    () => matVariable(mat, 'X', 'some.mat'),
    (err: unknown) =>
      err instanceof MatFormatError &&
      /some\.mat.*no variable 'X' \(variables: 'cube'\)/.test(err.message),
  );
});

test('truncated files: every cut is an error naming the file, none a wrong result', async () => {
  const plain = matFile([matrix(A), matrix(Y)]);
  const packed = matFile([compressed(matrix(A)), compressed(matrix(Y))]);
  for (const full of [plain, packed]) {
    for (let cut = 1; cut < full.length; cut += full === plain ? 1 : 3) {
      const bytes = full.subarray(0, cut);
      const cutAtBoundary =
        cut === 128 ||
        cut === 128 + (full === plain ? matrix(A).length : compressed(matrix(A)).length);
      if (cutAtBoundary) {
        // A cut between elements leaves a valid, shorter file: fewer variables, never wrong ones.
        const mat = await parseMat(bytes, 'cut.mat');
        assert.ok(mat.variables.size < 2);
        continue;
      }
      await assert.rejects(
        parseMat(bytes, 'cut.mat'),
        (err: unknown) =>
          err instanceof MatFormatError &&
          /cut\.mat/.test(err.message) &&
          /truncated|shorter than the 128-byte|ends early/.test(err.message),
        `cut at ${cut}`,
      );
    }
  }
  await rejectsWith(packed.subarray(0, packed.length - 5), /truncated/);
  await rejectsWith(plain.subarray(0, 100), /shorter than the 128-byte MAT-file header/);
});

test('bad headers', async () => {
  const body = matrix(A);
  await rejectsWith(Buffer.concat([Buffer.alloc(128, 7), body]), /endian indicator/);
  await rejectsWith(
    Buffer.concat([header('little', 'MATLAB 5.0 MAT-file', 0x0200), body]),
    /version is 0x0200/,
  );
  await rejectsWith(
    Buffer.concat([
      header('little', 'MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00', 0x0200),
      body,
    ]),
    /version 7\.3 MAT-file \(HDF5\)/,
  );
  const hdf5 = Buffer.concat([
    Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.alloc(200),
  ]);
  await rejectsWith(hdf5, /HDF5 file/);
  // A MATLAB 4 file (no 128-byte text header) or any other file.
  await rejectsWith(Buffer.from('%PDF-1.4 '.repeat(40)), /endian indicator/);
});

test('bad compression', async () => {
  const good = compressed(matrix(A));
  // Flip bytes inside the zlib stream: either the deflate data or the Adler-32 check fails.
  for (const at of [10, 14, 20, good.length - 2]) {
    const bad = Buffer.from(good);
    bad[at] = (bad[at] as number) ^ 0xff;
    await rejectsWith(matFile([bad]), /compressed/);
  }
  // Not zlib at all.
  const junk = Buffer.concat([Buffer.from([15, 0, 0, 0, 16, 0, 0, 0]), Buffer.alloc(16, 0x55)]);
  await rejectsWith(matFile([junk]), /cannot be inflated/);
  // The inner element declares fewer bytes than the stream inflates to.
  const inner = matrix(A);
  const lying = Buffer.from(inner);
  lying.writeUInt32LE(inner.length - 8 - 8, 4);
  await rejectsWith(
    matFile([compressed(lying)]),
    /inflate to more bytes than the inner element declares/,
  );
  // ... or more.
  const longer = Buffer.from(inner);
  longer.writeUInt32LE(inner.length - 8 + 8, 4);
  await rejectsWith(matFile([compressed(longer)]), /truncated/);
  // A compressed element must hold an miMATRIX.
  await rejectsWith(
    matFile([compressed(element(mi.DOUBLE, Buffer.alloc(16), 'little'))]),
    /holds miDOUBLE \(9\), expected miMATRIX/,
  );
  // An empty compressed element.
  await rejectsWith(matFile([Buffer.from([15, 0, 0, 0, 0, 0, 0, 0])]), /cannot be inflated/);
});

test('unsupported classes and storage types are clear errors', async () => {
  await rejectsWith(
    matFile([
      matrix({ name: 's', classId: mx.CHAR, dims: [1, 2], type: mi.UINT16, values: [104, 105] }),
    ]),
    /'s'.*class 'char' is not supported/,
  );
  await rejectsWith(
    matFile([
      compressed(
        matrix({ name: 'i', classId: mx.INT16, dims: [1, 1], type: mi.INT16, values: [3] }),
      ),
    ]),
    /class 'int16' is not supported/,
  );
  await rejectsWith(
    matFile([matrix({ name: 'c', classId: mx.CELL, dims: [1, 1], type: mi.UINT8, values: [0] })]),
    /class 'cell' is not supported/,
  );
  await rejectsWith(
    matFile([matrix({ name: 'q', classId: 99, dims: [1, 1], type: mi.UINT8, values: [0] })]),
    /unknown array class 99/,
  );
  await rejectsWith(
    matFile([
      matrix({
        name: 'z',
        classId: mx.DOUBLE,
        dims: [1, 1],
        type: mi.DOUBLE,
        values: [1],
        complex: true,
      }),
    ]),
    /complex arrays are not supported/,
  );
  await rejectsWith(
    matFile([
      matrix({ name: 'u', classId: mx.UINT8, dims: [1, 1], type: mi.INT16, values: [300] }),
    ]),
    /value 300 at index 0 does not fit class uint8/,
  );
  await rejectsWith(
    matFile([element(mi.DOUBLE, Buffer.alloc(8), 'little', false)]),
    /top-level element is miDOUBLE/,
  );
});

test('wrong dimensions are clear errors', async () => {
  // Dimensions promise more values than the real part holds.
  await rejectsWith(
    matFile([matrix({ ...A, dims: [2, 3, 3] })]),
    /real part holds 12 bytes .* dimensions 2x3x3 need 18 values/,
  );
  await rejectsWith(
    matFile([compressed(matrix({ ...A, dims: [2, 3] }))]),
    /dimensions 2x3 need 6 values/,
  );
  await rejectsWith(matFile([matrix({ ...A, dims: [2, -3, 2] })]), /dimension 2 is negative/);
  // A single dimension is not a MATLAB array.
  await rejectsWith(matFile([matrix({ ...A, dims: [12] })]), /at least 2 values/);
});

test('other structural damage', async () => {
  // Two variables with one name.
  await rejectsWith(matFile([matrix(A), compressed(matrix(A))]), /'cube' appears twice/);
  // Array flags of the wrong type.
  const m = Buffer.from(matrix(A));
  m.writeUInt32LE(mi.DOUBLE, 8);
  await rejectsWith(matFile([m]), /array flags must be miUINT32/);
  // Layout of matrix(A): tag 8, flags 16, dims 8 + 12 + 4 padding, packed name 8, real part.
  const nameAt = 8 + 16 + 24;
  const realAt = nameAt + 8;
  assert.equal(matrix(A).readUInt32LE(realAt), mi.UINT8);
  // A sub-element whose size runs past its container.
  const n = Buffer.from(matrix(A));
  n.writeUInt32LE(4000, realAt + 4);
  await rejectsWith(matFile([n]), /declares 4000 bytes/);
  // An invalid small-element size.
  const o = Buffer.from(matrix(A));
  assert.equal(o.readUInt32LE(nameAt), (4 << 16) | mi.INT8);
  o.writeUInt32LE((6 << 16) | mi.INT8, nameAt);
  await rejectsWith(matFile([o]), /claims 6 bytes/);
  // Extra elements after the real part of a real array.
  const extra = Buffer.from(matrix(A));
  const withTail = Buffer.concat([extra, element(mi.UINT8, Buffer.alloc(8), 'little', false)]);
  withTail.writeUInt32LE(extra.length - 8 + 16, 4);
  await rejectsWith(matFile([withTail]), /unexpected miUINT8 \(2\) element after the real part/);
  // A top-level element in small format.
  await rejectsWith(matFile([Buffer.from([14, 0, 4, 0, 0, 0, 0, 0])]), /small data element format/);
  // A few trailing bytes.
  await rejectsWith(Buffer.concat([matFile([matrix(A)]), Buffer.alloc(3)]), /3 trailing bytes/);
  // A file that is missing on disk.
  await assert.rejects(
    readMatFile(path.join(os.tmpdir(), 'no-such-dir-dgr', 'nope.mat')),
    (err: unknown) => err instanceof MatFormatError && /nope\.mat.*cannot open/.test(err.message),
  );
  // A raw deflate stream without the zlib header is not what MAT-files use.
  const raw = zlib.deflateRawSync(matrix(A));
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(mi.COMPRESSED, 0);
  tag.writeUInt32LE(raw.length, 4);
  await rejectsWith(matFile([Buffer.concat([tag, raw])]), /cannot be inflated/);
});
