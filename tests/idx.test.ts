import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeIdx, parseIdx, IdxFormatError } from '../lib/data/idx';

const images = () => encodeIdx('ubyte', [3, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);

test('parses a ubyte IDX file with its dimensions', () => {
  const a = parseIdx(images(), 'imgs', { type: 'ubyte', dims: [null, 2, 2] });
  assert.equal(a.type, 'ubyte');
  assert.deepEqual(a.dims, [3, 2, 2]);
  assert.deepEqual(Array.from(a.data), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
});

test('decodes big-endian multi-byte types', () => {
  assert.deepEqual(
    Array.from(parseIdx(encodeIdx('int', [3], [-1, 70000, 5]), 'i').data),
    [-1, 70000, 5],
  );
  assert.deepEqual(
    Array.from(parseIdx(encodeIdx('short', [2], [-300, 300]), 's').data),
    [-300, 300],
  );
  assert.deepEqual(
    Array.from(parseIdx(encodeIdx('float', [2], [0.5, -2.25]), 'f').data),
    [0.5, -2.25],
  );
  assert.deepEqual(Array.from(parseIdx(encodeIdx('double', [1], [Math.PI]), 'd').data), [Math.PI]);
  assert.deepEqual(Array.from(parseIdx(encodeIdx('byte', [2], [-5, 7]), 'b').data), [-5, 7]);
});

const broken: [string, () => Uint8Array, RegExp][] = [
  [
    'truncated data',
    () => images().subarray(0, images().length - 1),
    /truncated: header promises 3x2x2 ubyte values \(28 bytes\) but the file has 27/,
  ],
  ['trailing bytes', () => Uint8Array.from([...images(), 0, 0]), /2 unexpected trailing bytes/],
  ['shorter than magic', () => Uint8Array.from([0, 0]), /shorter than the 4-byte magic number/],
  [
    'bad magic',
    () => Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 1, 5]),
    /magic number 0x01020801 does not start with two zero bytes/,
  ],
  ['gzip', () => Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0]), /gzip-compressed/],
  [
    'unknown type',
    () => Uint8Array.from([0, 0, 0x07, 1, 0, 0, 0, 1, 5]),
    /unknown element type byte 0x07/,
  ],
  ['zero dims', () => Uint8Array.from([0, 0, 8, 0]), /number of dimensions is 0/],
  ['truncated header', () => images().subarray(0, 10), /shorter than its 16-byte header/],
  [
    'zero-size dimension',
    () => Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 0]),
    /dimension 0 has size 0/,
  ],
];
for (const [name, make, message] of broken) {
  test(`rejects a broken file: ${name}`, () => {
    assert.throws(
      () => parseIdx(make(), 'data/mnist/x-idx3-ubyte'),
      (err: unknown) => {
        assert.ok(err instanceof IdxFormatError);
        assert.match(err.message, /^data\/mnist\/x-idx3-ubyte: not a valid IDX file: /);
        assert.match(err.message, message);
        assert.match(err.message, /npm run setup/);
        return true;
      },
    );
  });
}

test('rejects a file that does not match what the caller expects', () => {
  assert.throws(
    () => parseIdx(images(), 'f', { dims: [3, 28, 28] }),
    /dimensions are \[3, 2, 2\], expected \[3, 28, 28\]/,
  );
  assert.throws(() => parseIdx(images(), 'f', { dims: [3, 2] }), /expected \[3, 2\]/);
  assert.throws(
    () => parseIdx(encodeIdx('int', [1], [1]), 'f', { type: 'ubyte' }),
    /element type is int, expected ubyte/,
  );
});
