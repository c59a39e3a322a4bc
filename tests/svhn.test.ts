import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { MatArray } from '../lib/data/mat';
import { DATASETS, DatasetEntry, DatasetError } from '../lib/data/registry';
import {
  httpDownload,
  loadSvhn,
  readSvhnSplit,
  svhnAvailable,
  svhnStatus,
  svhnToImageSplit,
  SvhnError,
  SVHN_FILES,
} from '../lib/data/svhn';
import { compressed, matFile, matrix, mi, mx, svhnLike } from './mat-writer';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-svhn-');

function tmpdir(): string {
  return tmpDir();
}

/** Pixel (h, w, c) of image i in the synthetic files: distinct enough to catch any axis mix-up. */
const pixel = (h: number, w: number, c: number, i: number): number =>
  (h * 7 + w * 3 + c * 85 + i * 11 + ((h * w) % 5)) & 255;

/** X for n images in MATLAB's column-major order: (h, w, c, i) at h + 32w + 1024c + 3072i. */
function columnMajorX(n: number): Uint8Array {
  const x = new Uint8Array(32 * 32 * 3 * n);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++)
      for (let w = 0; w < 32; w++)
        for (let h = 0; h < 32; h++) x[h + 32 * w + 1024 * c + 3072 * i] = pixel(h, w, c, i);
  return x;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A registry with an `svhn` entry for small synthetic files. */
function toyRegistry(
  train: Buffer,
  test: Buffer,
  urlBase = 'http://svhn.invalid/housenumbers/',
): Record<string, DatasetEntry> {
  const real = DATASETS.svhn!;
  return {
    svhn: {
      ...real,
      files: [
        {
          name: SVHN_FILES.train,
          bytes: train.length,
          algorithm: 'sha256',
          digest: sha256(train),
          sources: [
            { kind: 'url', url: `${urlBase}${SVHN_FILES.train}` },
            { kind: 'manual', instructions: 'place it by hand' },
          ],
        },
        {
          name: SVHN_FILES.test,
          bytes: test.length,
          algorithm: 'sha256',
          digest: sha256(test),
          sources: [
            { kind: 'url', url: `${urlBase}${SVHN_FILES.test}` },
            { kind: 'manual', instructions: 'place it by hand' },
          ],
        },
      ],
    },
  };
}

const TRAIN = svhnLike(columnMajorX(5), [10, 1, 2, 9, 10]);
const TEST = svhnLike(columnMajorX(3), [3, 10, 7], { compressY: false, endian: 'big' });

function checkSplit(split: ReturnType<typeof svhnToImageSplit>, labels: number[]): void {
  assert.equal(split.count, labels.length);
  assert.deepEqual(split.shape, [32, 32, 3]);
  assert.equal(split.numClasses, 10);
  assert.deepEqual(Array.from(split.labels), labels);
  assert.equal(split.images.length, labels.length * 3072);
  // Row-major HWC: (i, h, w, c) at ((i*32 + h)*32 + w)*3 + c.
  for (let i = 0; i < split.count; i++) {
    for (let h = 0; h < 32; h++)
      for (let w = 0; w < 32; w++)
        for (let c = 0; c < 3; c++) {
          const got = split.images[((i * 32 + h) * 32 + w) * 3 + c];
          if (got !== pixel(h, w, c, i))
            assert.fail(
              `image ${i} pixel (${h}, ${w}, ${c}) is ${got}, expected ${pixel(h, w, c, i)}`,
            );
        }
  }
}

test('converts column-major 32x32x3xN to row-major HWC and maps label 10 to digit 0', () => {
  const x: MatArray = {
    name: 'X',
    className: 'uint8',
    dims: [32, 32, 3, 2],
    data: columnMajorX(2),
  };
  const y: MatArray = {
    name: 'y',
    className: 'double',
    dims: [2, 1],
    data: new Float64Array([10, 4]),
  };
  const split = svhnToImageSplit(x, y, 'f.mat');
  checkSplit(split, [0, 4]);
  // The conversion really moves bytes: the layouts differ for this data.
  assert.notDeepEqual(
    Array.from(split.images.subarray(0, 3072)),
    Array.from(x.data.subarray(0, 3072)),
  );
});

test(
  'reads SVHN-format files: compressed X, ' + 'compressed or plain y, either byte order',
  async () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, 'a.mat'), TRAIN);
    fs.writeFileSync(path.join(dir, 'b.mat'), TEST);
    checkSplit(await readSvhnSplit(path.join(dir, 'a.mat')), [0, 1, 2, 9, 0]);
    checkSplit(await readSvhnSplit(path.join(dir, 'b.mat')), [3, 0, 7]);
  },
);

test('files that are MAT-files but not SVHN are errors naming the file and the fix', async () => {
  const dir = tmpdir();
  const cases: [string, Buffer, RegExp][] = [
    ['labels0.mat', svhnLike(columnMajorX(2), [0, 3]), /label 0 of image 0 is not one of 1\.\.10/],
    ['labels11.mat', svhnLike(columnMajorX(2), [3, 11]), /label 11 of image 1/],
    [
      'count.mat',
      matFile([
        compressed(
          matrix({
            name: 'X',
            classId: mx.UINT8,
            dims: [32, 32, 3, 2],
            type: mi.UINT8,
            values: columnMajorX(2),
          }),
        ),
        matrix({ name: 'y', classId: mx.DOUBLE, dims: [3, 1], type: mi.UINT8, values: [1, 2, 3] }),
      ]),
      /'y' has dimensions 3x1, expected 2x1/,
    ],
    [
      'dims.mat',
      matFile([
        compressed(
          matrix({
            name: 'X',
            classId: mx.UINT8,
            dims: [32, 3, 32, 2],
            type: mi.UINT8,
            values: columnMajorX(2),
          }),
        ),
        matrix({ name: 'y', classId: mx.DOUBLE, dims: [2, 1], type: mi.UINT8, values: [1, 2] }),
      ]),
      /'X' has dimensions 32x3x32x2, expected 32x32x3xN/,
    ],
    [
      'class.mat',
      matFile([
        matrix({
          name: 'X',
          classId: mx.DOUBLE,
          dims: [32, 32, 3, 1],
          type: mi.UINT8,
          values: columnMajorX(1),
        }),
        matrix({ name: 'y', classId: mx.DOUBLE, dims: [1, 1], type: mi.UINT8, values: [1] }),
      ]),
      /'X' has class double, expected uint8/,
    ],
    [
      'noy.mat',
      matFile([
        compressed(
          matrix({
            name: 'X',
            classId: mx.UINT8,
            dims: [32, 32, 3, 1],
            type: mi.UINT8,
            values: columnMajorX(1),
          }),
        ),
      ]),
      /no variable 'y' \(variables: 'X'\)/,
    ],
    ['truncated.mat', TRAIN.subarray(0, TRAIN.length - 100), /truncated/],
    ['garbage.mat', Buffer.alloc(4096, 0x41), /endian indicator/],
  ];
  for (const [name, bytes, re] of cases) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    await assert.rejects(readSvhnSplit(file), (err: unknown) => {
      assert.ok(err instanceof SvhnError, `${name}: ${String(err)}`);
      assert.match(err.message, re);
      assert.ok(err.message.includes(file), `${name}: the message names the file`);
      assert.match(err.message, /To fix: delete it and get the official/);
      assert.match(err.message, /ufldl\.stanford\.edu\/housenumbers\//);
      return true;
    });
  }
});

test('the registry entry holds the official sizes, digests and URLs', () => {
  const e = DATASETS.svhn!;
  assert.equal(e.dir, 'svhn');
  assert.ok(DATASETS.mnist !== undefined, 'MNIST stays registered');
  const byName = Object.fromEntries(e.files.map((f) => [f.name, f]));
  assert.equal(byName['train_32x32.mat']!.bytes, 182040794);
  assert.equal(byName['test_32x32.mat']!.bytes, 64275384);
  for (const f of e.files) {
    assert.equal(f.algorithm, 'sha256');
    assert.match(f.digest, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      f.sources.map((s) => s.kind),
      ['url', 'manual'],
    );
    assert.deepEqual(f.sources[0], {
      kind: 'url',
      url: `http://ufldl.stanford.edu/housenumbers/${f.name}`,
    });
  }
});

test(
  'uses verified files placed by hand in <data root>/svhn/ without ' + 'touching the network',
  async () => {
    const root = tmpdir();
    fs.mkdirSync(path.join(root, 'svhn'));
    fs.writeFileSync(path.join(root, 'svhn', SVHN_FILES.train), TRAIN);
    fs.writeFileSync(path.join(root, 'svhn', SVHN_FILES.test), TEST);
    const registry = toyRegistry(TRAIN, TEST);
    const download = async (): Promise<void> => assert.fail('must not download');
    assert.equal(await svhnAvailable({ dataRoot: root, registry }), true);
    const svhn = await loadSvhn({ dataRoot: root, registry, download });
    checkSplit(svhn.train, [0, 1, 2, 9, 0]);
    checkSplit(svhn.test, [3, 0, 7]);
  },
);

test(
  'missing files without download: unavailable, and a clear error naming the ' +
    'file and what to do',
  async () => {
    const root = tmpdir();
    const status = await svhnStatus({ dataRoot: root });
    assert.equal(status.available, false);
    assert.equal(status.dir, path.join(root, 'svhn'));
    if (!status.available) assert.match(status.reason, /train_32x32\.mat/);
    assert.equal(await svhnAvailable({ dataRoot: root }), false);
    await assert.rejects(loadSvhn({ dataRoot: root, download: false }), (err: unknown) => {
      assert.ok(err instanceof DatasetError);
      assert.match(err.message, /could not get a verified train_32x32\.mat into .*svhn/);
      assert.match(err.message, /downloads are not enabled/);
      assert.match(
        err.message,
        new RegExp(
          String.raw`download train_32x32\.mat \(182040794 bytes\) ` +
            String.raw`from http:\/\/ufldl\.stanford\.edu\/housenumbers\/`,
        ),
      );
      assert.match(
        err.message,
        /To fix: where the network allows, run `await dgr\.loadSvhn\(\{ download: true \}\)`/,
      );
      assert.match(err.message, /data\/svhn\//);
      assert.doesNotMatch(err.message, /npm install/);
      return true;
    });
  },
);

test('a corrupted file placed by hand fails verification and is never parsed', async () => {
  const root = tmpdir();
  fs.mkdirSync(path.join(root, 'svhn'));
  const bad = Buffer.from(TRAIN);
  bad[bad.length - 10] = (bad[bad.length - 10] as number) ^ 1;
  fs.writeFileSync(path.join(root, 'svhn', SVHN_FILES.train), bad);
  fs.writeFileSync(path.join(root, 'svhn', SVHN_FILES.test), TEST);
  const registry = toyRegistry(TRAIN, TEST);
  const status = await svhnStatus({ dataRoot: root, registry });
  assert.equal(status.available, false);
  if (!status.available)
    assert.match(status.reason, /train_32x32\.mat failed verification \(sha256 or size mismatch\)/);
  // A truncated copy likewise.
  fs.writeFileSync(path.join(root, 'svhn', SVHN_FILES.train), TRAIN.subarray(0, 1000));
  await assert.rejects(
    loadSvhn({ dataRoot: root, registry, download: false }),
    /train_32x32\.mat failed verification/,
  );
  assert.equal(
    fs.existsSync(path.join(root, 'svhn', SVHN_FILES.train)),
    false,
    'the unverified file is not left where the loader reads',
  );
});

/** A local HTTP server standing in for the SVHN host. */
async function serve(
  handler: http.RequestListener,
): Promise<{ base: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

test('downloads with progress lines and redirects, verifies, then loads', async () => {
  const files: Record<string, Buffer> = {
    [`/h/${SVHN_FILES.train}`]: TRAIN,
    [`/h/${SVHN_FILES.test}`]: TEST,
  };
  const srv = await serve((req, res) => {
    if (req.url?.startsWith('/old/')) {
      res.writeHead(302, { location: `/h/${path.basename(req.url)}` });
      res.end();
      return;
    }
    const body = files[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length });
    // Send in pieces so that progress is reported more than once.
    let at = 0;
    const step = (): void => {
      if (at >= body.length) {
        res.end();
        return;
      }
      res.write(body.subarray(at, at + 4000));
      at += 4000;
      setTimeout(step, 1);
    };
    step();
  });
  try {
    const root = tmpdir();
    const lines: string[] = [];
    const svhn = await loadSvhn({
      dataRoot: root,
      registry: toyRegistry(TRAIN, TEST, `${srv.base}/old/`),
      download: httpDownload({ log: (l) => lines.push(l), progressEveryMs: 0 }),
    });
    checkSplit(svhn.train, [0, 1, 2, 9, 0]);
    checkSplit(svhn.test, [3, 0, 7]);
    assert.ok(
      lines.some((l) =>
        l.startsWith(`downloading ${SVHN_FILES.train} from ${srv.base}/h/${SVHN_FILES.train}`),
      ),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /train_32x32\.mat: [\d.]+ \/ [\d.]+ MB \(\d+%\), [\d.]+ MB\/s/.test(l)),
      lines.join('\n'),
    );
    assert.deepEqual(fs.readdirSync(path.join(root, 'svhn')).sort(), [
      '.verified.json',
      SVHN_FILES.test,
      SVHN_FILES.train,
    ]);
    // Progress lines are throttled: with the default interval a fast download prints only start and
    // end.
    const quiet: string[] = [];
    const dest = path.join(root, 'again.mat');
    await httpDownload({ log: (l) => quiet.push(l) })(`${srv.base}/h/${SVHN_FILES.train}`, dest);
    assert.equal(quiet.length, 2, quiet.join('\n'));
    assert.ok(fs.readFileSync(dest).equals(TRAIN));
  } finally {
    await srv.close();
  }
});

test('download failures are clear and leave no file where the loader reads', async () => {
  const srv = await serve((req, res) => {
    if (req.url === '/short') {
      res.writeHead(200, { 'content-length': 10000 });
      res.write(Buffer.alloc(100));
      setTimeout(() => res.destroy(), 20);
      return;
    }
    if (req.url === '/loop') {
      res.writeHead(301, { location: '/loop' });
      res.end();
      return;
    }
    if (req.url?.startsWith('/wrong/')) {
      res.writeHead(200, { 'content-length': 5000 });
      res.end(Buffer.alloc(5000, 1));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  try {
    const dir = tmpdir();
    const dl = httpDownload({ log: () => undefined, connectTimeoutMs: 3000 });
    await assert.rejects(dl(`${srv.base}/nothing`, path.join(dir, 'a')), /HTTP 404/);
    await assert.rejects(
      dl(`${srv.base}/short`, path.join(dir, 'b')),
      /after 100 (of 10000 )?bytes/,
    );
    await assert.rejects(dl(`${srv.base}/loop`, path.join(dir, 'c')), /too many redirects/);
    await assert.rejects(
      dl('ftp://example.invalid/x', path.join(dir, 'd')),
      /unsupported protocol/,
    );
    // A closed port and an unresolvable host (as offline): fast, clear failures.
    const closed = await serve(() => undefined);
    const closedBase = closed.base;
    await closed.close();
    const t0 = Date.now();
    await assert.rejects(
      dl(`${closedBase}/x`, path.join(dir, 'e')),
      /cannot reach 127\.0\.0\.1:\d+: ECONNREFUSED .*\(no network route to the host\?\)/,
    );
    await assert.rejects(
      dl('http://svhn-host.invalid/train_32x32.mat', path.join(dir, 'f')),
      new RegExp(
        String.raw`cannot reach svhn-host\.invalid: (ENOTFOUND|EAI_AGAIN)|` +
          String.raw`no response from svhn-host\.invalid within 3 s`,
      ),
    );
    assert.ok(Date.now() - t0 < 8000, 'offline failures are fast');
    // Through the registry: the wrong bytes fail the checksum; nothing is left in data/svhn/.
    const root = tmpdir();
    await assert.rejects(
      loadSvhn({
        dataRoot: root,
        registry: toyRegistry(TRAIN, TEST, `${srv.base}/wrong/`),
        download: dl,
      }),
      (err: unknown) => {
        assert.ok(err instanceof DatasetError);
        assert.match(err.message, /train_32x32\.mat/);
        assert.match(err.message, /got 5000 bytes with sha256 [0-9a-f]{64}, expected \d+ bytes/);
        return true;
      },
    );
    assert.deepEqual(fs.readdirSync(path.join(root, 'svhn')), []);
  } finally {
    await srv.close();
  }
});
