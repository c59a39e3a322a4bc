/**
 * Measures the synthetic printed digits (lib/data/printed-digits.ts), the stand-in second domain
 * of §4.2: how long generating and caching takes, and how hard the domain is.
 *
 *   npm run build && node build/scripts/printed-digits-report.js [flags]
 *
 * 1. Generation: the train and test splits rendered with the cache off (wall and CPU time, images
 *    per second on one core), then loaded through the cache twice (a miss that renders and
 *    writes, and a hit that reads and verifies), under --data-root (default: a fresh temporary
 *    folder, removed at the end).
 * 2. A grid of the first 64 test images, written as PNG to --grid (if given).
 * 3. Difficulty: the CNN solver of presets.svhnMnistDGR() (no replay, no generator) trained on the
 *    printed digits, with test accuracy every --every iterations up to --iters; and a solver
 *    trained on MNIST (resized to 32x32x3 by mnistTo32x32x3) for --mnist-iters iterations, tested
 *    on MNIST and on the printed digits (a real domain shift: low accuracy on the second).
 *
 * Flags: --train=N --test=N (split sizes; default 60000 / 10000), --iters=N (default 2000),
 * --every=N (default 500), --mnist-iters=N (default 1000), --batch=N (default 64), --seed=N,
 * --grid=FILE, --data-root=DIR, --skip-train (generation and grid only), --forgetting=N (also
 * train both orders MNIST -> printed and printed -> MNIST, N iterations per task, no replay, and
 * print how much the first domain is forgotten).
 * Timings depend on the machine and on what else runs: measure on a quiet machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function arg(name: string, def: string): string {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a === undefined ? def : a.slice(name.length + 3);
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

function intArg(name: string, def: number): number {
  const v = Number(arg(name, String(def)));
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`--${name} must be a whole number`);
  return v;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

async function main(): Promise<void> {
  /* eslint-disable @typescript-eslint/no-require-imports --
   * the library loads after the environment is set up */
  const { tf } = require('../lib/tf') as typeof import('../lib/tf');
  const E = require('../lib/engine') as typeof import('../lib/engine');
  const PD = require('../lib/data/printed-digits') as typeof import('../lib/data/printed-digits');
  const { loadMnist } = require('../lib/data/mnist') as typeof import('../lib/data/mnist');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const seed = intArg('seed', 0);
  const nTrain = intArg('train', PD.PRINTED_DIGITS_SIZES.train);
  const nTest = intArg('test', PD.PRINTED_DIGITS_SIZES.test);
  const iters = intArg('iters', 2000);
  const every = intArg('every', 500);
  const mnistIters = intArg('mnist-iters', 1000);
  const batch = intArg('batch', 64);
  const given = arg('data-root', '');
  const root = given !== '' ? given : fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-pd-report-'));
  console.log(
    `load average ${os
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')} on ${os.cpus().length} cores`,
  );

  // 1. Generation.
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  PD.registerPrintedDigitFonts();
  console.log(
    `fonts: ${PD.printedDigitFaces().length} faces registered and checked in ` +
      `${((performance.now() - t0) / 1000).toFixed(2)} s wall, ${cpuSeconds(c0).toFixed(2)} s CPU`,
  );
  for (const [split, n] of [
    ['train', nTrain],
    ['test', nTest],
  ] as const) {
    c0 = process.cpuUsage();
    t0 = performance.now();
    PD.printedDigitsSplit(split, n, { seed, cache: false });
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(c0);
    console.log(
      `render ${split}: ${n} images in ${wall.toFixed(1)} s wall (${Math.round(n / wall)}/s), ` +
        `${cpu.toFixed(1)} s CPU (${Math.round(n / cpu)}/s of one core)`,
    );
  }
  const log = (line: string): void => console.log(`  ${line}`);
  for (const pass of ['first load (cache miss)', 'second load (cache hit)']) {
    c0 = process.cpuUsage();
    t0 = performance.now();
    await PD.loadPrintedDigits({ seed, dataRoot: root, trainCount: nTrain, testCount: nTest, log });
    const wall = (performance.now() - t0) / 1000;
    console.log(`${pass}: ${wall.toFixed(1)} s wall, ${cpuSeconds(c0).toFixed(1)} s CPU`);
  }
  const data = await PD.loadPrintedDigits({
    seed,
    dataRoot: root,
    trainCount: nTrain,
    testCount: nTest,
  });
  if (given === '') fs.rmSync(root, { recursive: true, force: true });

  // 2. Grid of the first 64 test images (3x nearest-neighbour zoom).
  const gridFile = arg('grid', '');
  if (gridFile !== '') {
    const k = Math.min(64, data.test.count);
    const rows = Math.ceil(k / 8);
    const image = tf.tidy(() => {
      const padded = new Uint8Array(rows * 8 * 3072);
      padded.set(data.test.images.subarray(0, k * 3072));
      const x = tf.tensor(padded, [rows, 8, 32, 32, 3], 'int32');
      const grid = x.transpose([0, 2, 1, 3, 4]).reshape([1, rows * 32, 256, 3]);
      const big = tf.image.resizeNearestNeighbor(grid as import('../lib/tf').Tensor4D, [
        rows * 96,
        768,
      ]);
      return big.squeeze([0]).toInt() as import('../lib/tf').Tensor3D;
    });
    const png = await tf.node.encodePng(image);
    image.dispose();
    fs.writeFileSync(gridFile, png);
    const labels = Array.from(data.test.labels.subarray(0, k));
    console.log(`grid of the first ${k} test images written; labels by row:`);
    for (let r = 0; r < rows; r++) console.log(`  ${labels.slice(8 * r, 8 * r + 8).join(' ')}`);
  }
  if (flag('skip-train')) return;

  // 3. Difficulty.
  const mnist = await loadMnist();
  const mnist32 = {
    name: 'MNIST32',
    train: E.mnistTo32x32x3(mnist.train),
    test: E.mnistTo32x32x3(mnist.test),
  };
  const printed = { name: 'printed', train: data.train, test: data.test };
  const config = (n: number): import('../lib/engine').ExperimentConfig =>
    E.configWith(E.presets.svhnMnistDGR(), {
      seed,
      generator: null,
      replay: { mode: 'none' },
      iterations: n,
      batchSize: batch,
    });
  const solverKind = JSON.stringify(E.presets.svhnMnistDGR().solver);
  console.log(`solver: ${solverKind}, batch ${batch}, no replay`);

  const run = async (
    first: typeof printed,
    second: typeof printed,
    n: number,
    curveEvery: number,
  ): Promise<void> => {
    const seq = E.domainSequence([first, second], { name: `${first.name}_then_${second.name}` });
    try {
      t0 = performance.now();
      const r = await trainSequence(seq, config(n), curveEvery);
      for (const p of r.curves) {
        if (p.task !== 0 || p.iteration === 0) continue;
        const [a, b] = p.accuracy.map((v) => (100 * v).toFixed(2));
        console.log(`  after ${p.iteration} it: ${first.name} ${a} %, ${second.name} ${b} %`);
      }
      const row = (r.accuracy[0] ?? []).map((v) => (100 * v).toFixed(2));
      console.log(
        `trained on ${first.name} for ${n} it (${r.totalSeconds.toFixed(0)} s): ` +
          `test accuracy ${first.name} ${row[0]} %, ${second.name} ${row[1]} % ` +
          `(full test sets: ${first.test.count} / ${second.test.count})`,
      );
      r.scholar.dispose();
    } finally {
      seq.dispose();
    }
  };
  const trainSequence = async (
    seq: import('../lib/engine').TaskSequence,
    cfg: import('../lib/engine').ExperimentConfig,
    curveEvery: number,
  ): Promise<import('../lib/engine').TrainResult> =>
    E.trainSequence(seq, cfg, {
      progress: false,
      stopAfterTask: 0,
      curveEvery,
      curveMaxPerTask: 100000,
    });
  if (iters > 0) await run(printed, mnist32, iters, every);
  if (mnistIters > 0) await run(mnist32, printed, mnistIters, 0);

  // 4. Forgetting without replay, both orders: R[0][0] vs R[1][0] (what replay has to protect).
  const perTask = intArg('forgetting', 0);
  for (const order of perTask > 0
    ? [
        [mnist32, printed],
        [printed, mnist32],
      ]
    : []) {
    const [a, b] = order as [typeof printed, typeof printed];
    const seq = E.domainSequence([a, b], { name: `${a.name}_then_${b.name}` });
    try {
      const r = await E.trainSequence(seq, config(perTask), { progress: false });
      const R = r.accuracy.map((row) => row.map((v) => (100 * v).toFixed(2)));
      console.log(
        `no replay, ${a.name} then ${b.name}, ${perTask} it per task ` +
          `(${r.totalSeconds.toFixed(0)} s): ` +
          `${a.name} ${R[0]?.[0]} % -> ${R[1]?.[0]} % after ${b.name}; ` +
          `${b.name} ${R[0]?.[1]} % -> ${R[1]?.[1]} %`,
      );
      r.scholar.dispose();
    } finally {
      seq.dispose();
    }
  }
  console.log(`tensors alive at the end: ${tf.memory().numTensors}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
