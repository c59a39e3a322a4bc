/**
 * Tests of lib/notebook/chain.ts (notebook 04): a chain of scholars, each trained only on the
 * previous one's generative replay (hard and soft solver chains, separate budgets, WGAN-GP with
 * fresh critic batches, checkpoints and resume), and the sample-quality measures. Tiny models on
 * synthetic Gaussian blobs; the file runs in seconds.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import type { Tensor } from '@tensorflow/tfjs-node';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CheckpointError,
  configWith,
  createRng,
  evaluate,
  presets,
  trainSequence,
} from '../lib/engine';
import {
  chainAccuracy,
  chainDriftFigure,
  chainScholar,
  disposeChain,
  frechetDistance,
  labelAgreement,
  rerunSolverChains,
  runScholarChain,
  sampleQuality,
  symmetricEigen,
  type ChainGeneration,
  type ChainOptions,
  type SampleQuality,
} from '../lib/notebook/chain';
import { blobSequence, flatValues as flat, tinyConfig } from './fixtures';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-chain-');

test(
  'symmetricEigen: ' + 'reconstructs the matrix (V diag(λ) Vᵀ = A) and finds known eigenvalues',
  () => {
    const A = [4, 1, 0, 1, 3, 1, 0, 1, 2];
    const { values, vectors } = symmetricEigen(A, 3);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++)
          s +=
            (vectors[i * 3 + k] as number) * (values[k] as number) * (vectors[j * 3 + k] as number);
        assert.ok(Math.abs(s - (A[i * 3 + j] as number)) < 1e-9, `entry ${i},${j}: ${s}`);
      }
    const sorted = [...symmetricEigen([2, 0, 0, 5], 2).values].sort((a, b) => a - b);
    assert.deepEqual(sorted, [2, 5]);
    assert.throws(() => symmetricEigen([1, 2, 3], 2), /n×n/);
  },
);

test('frechetDistance: 0 for the same set, ‖Δμ‖² for a shift, (σa − σb)² in 1-D', () => {
  const rng = createRng(3);
  const n = 400;
  const d = 3;
  const a = new Float64Array(n * d).map(() => rng.normal());
  assert.ok(frechetDistance(a, n, a, n, d) < 1e-8);
  const shifted = a.map((v, i) => v + (i % d === 0 ? 2 : 0));
  assert.ok(
    Math.abs(frechetDistance(a, n, shifted, n, d) - 4) < 1e-6,
    'a shift of 2 along one axis gives 4',
  );
  const x = new Float64Array(n).map(() => rng.normal());
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const y = x.map((v) => 3 * v);
  assert.ok(Math.abs(frechetDistance(x, n, y, n, 1) - (3 * sd - sd) ** 2 - (2 * mean) ** 2) < 1e-6);
  assert.throws(() => frechetDistance(a, n, a, n - 1, d), /expected/);
});

/**
 * The weights of every solver of a chain, generation by generation, in the order of its targets.
 */
async function solverWeights(chain: readonly ChainGeneration[]): Promise<Float32Array[][]> {
  const out: Float32Array[][] = [];
  for (const g of chain)
    out.push(await Promise.all(g.scholars.map((s) => flat(s.scholar.solver.params))));
  return out;
}

test(
  'runScholarChain: scholar 2 learns from replay alone, hard and soft chains share one ' +
    'generator chain; no leak',
  async () => {
    const seq = blobSequence({ classesPerTask: 4, repeatClasses: true });
    try {
      const n0 = tf.memory().numTensors;
      const lines: string[] = [];
      const chain = await runScholarChain(seq, tinyConfig(1000), {
        generations: 2,
        solverIterations: 600,
        targets: ['hard', 'soft'],
        progress: { everySeconds: 0, write: (l) => lines.push(l) },
      });
      try {
        assert.deepEqual(
          chain.map((g) => [g.generation, g.source, g.restored]),
          [
            [1, 'real data', false],
            [2, 'generative replay', false],
          ],
        );
        const [g1, g2] = chain as [ChainGeneration, ChainGeneration];
        assert.equal(
          chainScholar(g1, 'hard').scholar.solver,
          chainScholar(g1, 'soft').scholar.solver,
        );
        assert.notEqual(
          chainScholar(g2, 'hard').scholar.solver,
          chainScholar(g2, 'soft').scholar.solver,
        );
        assert.equal(
          chainScholar(g2, 'hard').scholar.generator,
          chainScholar(g2, 'soft').scholar.generator,
        );
        assert.ok(chain.every((g) => g.scholars.every((s) => s.scholar.frozen)));
        const [accT] = await evaluate(chainScholar(g1, 'hard').scholar.solver, seq);
        assert.equal(chainAccuracy(chain, 'hard')[0], accT);
        for (const t of ['hard', 'soft'] as const) {
          const acc = chainAccuracy(chain, t);
          assert.ok((acc[0] as number) > 0.9, `scholar 1: ${acc[0]}`);
          assert.ok((acc[1] as number) > 0.75, `scholar 2 (${t}) from replay only: ${acc[1]}`);
        }
        assert.ok(lines.some((l) => l.includes('scholar 2 generator (replay of scholar 1)')));
        assert.ok(lines.some((l) => l.includes('scholar 2 solvers (hard and soft targets')));
        assert.throws(() => chainScholar(g1, 'x' as never), /no 'x' chain/);
      } finally {
        disposeChain(chain);
      }
      assert.equal(tf.memory().numTensors, n0, 'a disposed chain leaves no tensors');
    } finally {
      seq.dispose();
    }
  },
);

test(
  'runScholarChain: same seed, same chain; different seeds differ; ' +
    'bad options are refused by name',
  async () => {
    const seq = blobSequence({ classesPerTask: 4, repeatClasses: true });
    try {
      const weights = async (seed: number): Promise<Float32Array[][]> => {
        const chain = await runScholarChain(seq, tinyConfig(40, { seed }), {
          generations: 3,
          progress: false,
        });
        try {
          assert.deepEqual(
            chain.map((g) => g.scholars.map((s) => s.targets)),
            [['hard'], ['hard'], ['hard']],
          );
          return await solverWeights(chain);
        } finally {
          disposeChain(chain);
        }
      };
      const a = await weights(0);
      const b = await weights(0);
      const c = await weights(1);
      assert.deepEqual(a, b, 'the chain is deterministic');
      assert.notDeepEqual(a[2], c[2]);
      const bad = async (opts: Partial<ChainOptions>, message: RegExp): Promise<void> =>
        assert.rejects(runScholarChain(seq, tinyConfig(5), { generations: 2, ...opts }), message);
      await bad({ generations: 0 }, /options\.generations must be a positive integer, got 0/);
      await bad({ generatorIterations: 1.5 }, /options\.generatorIterations must be a positive/);
      await bad({ solverIterations: -1 }, /options\.solverIterations must be a positive/);
      await bad(
        { targets: [] },
        /options\.targets must be a non-empty list of distinct 'hard', 'soft'/,
      );
      await bad({ targets: ['hard', 'hard'] }, /options\.targets/);
      await bad({ targets: ['argmax' as never] }, /options\.targets.*"argmax"/);
      await bad({ freshCriticBatches: 'yes' as never }, /options\.freshCriticBatches must be true/);
      await bad(
        { stopAfterGeneration: 3 },
        /options\.stopAfterGeneration must be an integer in 1\.\.2/,
      );
      await assert.rejects(
        runScholarChain(seq, configWith(presets.splitMnist('none'), { iterations: 5 }), {
          generations: 2,
        }),
        /generator is null/,
      );
    } finally {
      seq.dispose();
    }
    const two = blobSequence({ classesPerTask: 4, repeatClasses: true, perClass: 16, numTasks: 2 });
    try {
      await assert.rejects(
        runScholarChain(two, tinyConfig(5), { generations: 2 }),
        /exactly one task/,
      );
    } finally {
      two.dispose();
    }
  },
);

test(
  "rerunSolverChains: at the chain's own budget it gives the chain's accuracies; another " +
    'budget trains new solvers on the same generators; nothing leaks',
  async () => {
    const seq = blobSequence({ classesPerTask: 4, repeatClasses: true });
    const config = tinyConfig(40);
    const opts = { generations: 3, targets: ['hard', 'soft'] as const, progress: false as const };
    const chain = await runScholarChain(seq, config, opts);
    try {
      const before = tf.memory().numTensors;
      const same = await rerunSolverChains(seq, config, chain, {
        solverIterations: 40,
        targets: ['soft', 'hard'],
        progress: false,
      });
      assert.deepEqual(
        same.map((r) => [r.targets, r.accuracy]),
        [
          ['soft', chainAccuracy(chain, 'soft')],
          ['hard', chainAccuracy(chain, 'hard')],
        ],
      );
      const other = await rerunSolverChains(seq, config, chain, {
        solverIterations: 7,
        progress: false,
      });
      assert.equal(other.length, 1);
      const [hard] = other;
      assert.equal(hard?.solverIterations, 7);
      assert.equal(hard?.accuracy[0], chainAccuracy(chain, 'hard')[0], 'scholar 1 is reused');
      assert.notDeepEqual(hard?.accuracy.slice(1), chainAccuracy(chain, 'hard').slice(1));
      assert.equal(hard?.seconds[0], 0);
      assert.ok((hard?.seconds[2] ?? 0) > 0);
      assert.equal(tf.memory().numTensors, before, 'the rerun frees its solvers');
      // Kept in the chain's folder and read back; a damaged or foreign record is refused.
      const dir = tmpDir();
      const keep = { solverIterations: 7, progress: false as const, checkpointDir: dir };
      const kept = await rerunSolverChains(seq, config, chain, keep);
      assert.deepEqual(
        kept.map((r) => [r.accuracy, r.restored]),
        [[hard?.accuracy, false]],
      );
      const back = await rerunSolverChains(seq, config, chain, keep);
      assert.deepEqual(
        back,
        kept.map((r) => ({ ...r, restored: true })),
      );
      const file = path.join(dir, 'solver-rerun-7-hard.json');
      const foreign = await runScholarChain(seq, tinyConfig(40, { seed: 3 }), opts);
      try {
        await assert.rejects(
          rerunSolverChains(seq, config, foreign, keep),
          (e: Error) => e.message.includes(file) && /belongs to another chain/.test(e.message),
        );
      } finally {
        disposeChain(foreign);
      }
      fs.writeFileSync(file, '{"kind": "dgr-solver-rerun", "chain": [');
      await assert.rejects(
        rerunSolverChains(seq, config, chain, keep),
        /is not readable JSON .*; delete it to train the rerun again/,
      );
      assert.equal(tf.memory().numTensors, before, 'nothing kept from the reruns');
      await assert.rejects(
        rerunSolverChains(seq, config, chain.slice(1), { solverIterations: 5, progress: false }),
        /chain must start with generation 1/,
      );
      await assert.rejects(
        rerunSolverChains(seq, config, chain, { solverIterations: 0, progress: false }),
        /options\.solverIterations must be a positive integer, got 0/,
      );
    } finally {
      disposeChain(chain);
    }
  },
);

test('runScholarChain with WGAN-GP: fresh critic batches change the run; no leak', async () => {
  const seq = blobSequence({ classesPerTask: 4, repeatClasses: true, perClass: 32 });
  const wgan = { ...presets.wganGp('mlp'), hidden: [16], latent: 4, criticSteps: 2 };
  try {
    const generators = async (fresh: boolean): Promise<Float32Array[]> => {
      const n0 = tf.memory().numTensors;
      const chain = await runScholarChain(seq, tinyConfig(6, { generator: wgan }), {
        generations: 2,
        solverIterations: 4,
        freshCriticBatches: fresh,
        progress: false,
      });
      try {
        const G = chain.map((g) => g.scholars[0]?.scholar.generator?.params.generator);
        return await Promise.all(G.map((p) => flat(p as { readFlat(): Tensor })));
      } finally {
        disposeChain(chain);
        assert.equal(tf.memory().numTensors, n0, `fresh ${fresh}: no tensor leak`);
      }
    };
    const fresh = await generators(true);
    assert.deepEqual(await generators(true), fresh, 'deterministic');
    assert.notDeepEqual(await generators(false), fresh, 'one batch per step trains differently');
  } finally {
    seq.dispose();
  }
});

test(
  'runScholarChain checkpoints: an interrupted chain resumes after its last finished generation ' +
    'and ends as an uninterrupted one',
  async () => {
    const seq = blobSequence({ classesPerTask: 4, repeatClasses: true });
    const config = tinyConfig(30);
    const opts: ChainOptions = {
      generations: 3,
      solverIterations: 50,
      targets: ['hard', 'soft'],
      progress: false,
    };
    const dir = path.join(tmpDir(), 'chain');
    try {
      const n0 = tf.memory().numTensors;
      const whole = await runScholarChain(seq, config, opts);
      const expected = await solverWeights(whole);
      const expectedAcc = [chainAccuracy(whole, 'hard'), chainAccuracy(whole, 'soft')];
      disposeChain(whole);

      const first = await runScholarChain(seq, config, {
        ...opts,
        checkpointDir: dir,
        stopAfterGeneration: 2,
      });
      const firstSeconds = first.map((g) => g.seconds);
      assert.deepEqual(
        first.map((g) => g.restored),
        [false, false],
      );
      disposeChain(first);

      const seen: number[] = [];
      const resumed = await runScholarChain(seq, config, {
        ...opts,
        checkpointDir: dir,
        onGeneration: (g) => void seen.push(g.generation),
      });
      try {
        assert.deepEqual(seen, [1, 2, 3]);
        assert.deepEqual(
          resumed.map((g) => g.restored),
          [true, true, false],
          'generations 1-2 restored',
        );
        assert.deepEqual(
          resumed.slice(0, 2).map((g) => g.seconds),
          firstSeconds,
          'seconds of the run that trained them',
        );
        assert.deepEqual(
          await solverWeights(resumed),
          expected,
          'the same weights as without interruption',
        );
        assert.deepEqual(
          [chainAccuracy(resumed, 'hard'), chainAccuracy(resumed, 'soft')],
          expectedAcc,
        );
        const G = (g: ChainGeneration): Tensor =>
          g.scholars[0]?.scholar.generator?.sample(8, 5) as Tensor;
        const [x3, x3w] = [G(resumed[2] as ChainGeneration), G(resumed[2] as ChainGeneration)];
        assert.deepEqual(await x3.data(), await x3w.data());
        tf.dispose([x3, x3w]);
      } finally {
        disposeChain(resumed);
      }
      const again = await runScholarChain(seq, config, { ...opts, checkpointDir: dir });
      assert.deepEqual(
        again.map((g) => g.restored),
        [true, true, true],
        'a finished chain is only restored',
      );
      disposeChain(again);
      assert.equal(tf.memory().numTensors, n0, 'no tensor leak');

      await assert.rejects(
        runScholarChain(seq, config, { ...opts, solverIterations: 51, checkpointDir: dir }),
        (e: Error) =>
          e instanceof CheckpointError &&
          /holds a checkpoint of a different run/.test(e.message) &&
          /differ in \(checkpoint → this run\):\n {2}chain\.solverIterations: 50 → 51/.test(
            e.message,
          ),
      );
      await assert.rejects(
        runScholarChain(seq, tinyConfig(30, { seed: 4 }), { ...opts, checkpointDir: dir }),
        /different run[^]*config\.seed: 0 → 4/,
      );
      await assert.rejects(
        runScholarChain(seq, config, { ...opts, targets: ['soft', 'hard'], checkpointDir: dir }),
        /chain\.targets\[0\]: "hard" → "soft"/,
      );
      assert.equal(tf.memory().numTensors, n0, 'no tensor leak after refusals');
    } finally {
      seq.dispose();
    }
  },
);

test(
  'sampleQuality and labelAgreement: real data scores better than noise; ' +
    'a classifier agrees with itself',
  async () => {
    const seq = blobSequence({ classesPerTask: 4, repeatClasses: true });
    const run = await trainSequence(seq, tinyConfig(300), { progress: false });
    try {
      const judge = run.scholar.solver;
      const real = seq.tasks[0]?.test.x as Tensor;
      const train = seq.tasks[0]?.train.x as Tensor;
      const noise = tf.randomUniform([128, 20], 0, 1, 'float32', 5);
      const n0 = tf.memory().numTensors;
      const qReal = await sampleQuality(judge, train, real);
      const qNoise = await sampleQuality(judge, noise, real);
      assert.equal(tf.memory().numTensors, n0, 'no tensor leak');
      assert.ok(
        qReal.frechetLogits < qNoise.frechetLogits,
        `FD real ${qReal.frechetLogits} < noise ${qNoise.frechetLogits}`,
      );
      assert.ok(
        qReal.classBalance > 0.95,
        `real data has all 4 classes equally: ${qReal.classBalance}`,
      );
      assert.ok(Math.abs(qReal.classShares.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      assert.equal(await labelAgreement(judge, judge, real), 1);
      noise.dispose();
    } finally {
      run.scholar.dispose();
      seq.dispose();
    }
  },
);

test(
  'chainDriftFigure: one line per solver chain in %, one dashed right-axis line ' +
    'per generator chain',
  () => {
    const q = (frechetLogits: number): SampleQuality => ({
      judgeConfidence: 0.9,
      classShares: [0.5, 0.5],
      classBalance: 1,
      frechetLogits,
    });
    const solverChains = [
      { name: 'WGAN-GP, hard', accuracy: [0.9, 0.8] },
      { name: 'VAE, soft', accuracy: [0.95, 0.9] },
    ];
    const quality = { 'WGAN-GP': [q(1), q(2)], VAE: [q(3), q(4)] };
    const fig = chainDriftFigure([1, 2], solverChains, quality);
    assert.deepEqual(
      fig.data.map((t) => t.name),
      [
        'WGAN-GP, hard: test accuracy (%)',
        'VAE, soft: test accuracy (%)',
        'WGAN-GP: Fréchet distance of G samples',
        'VAE: Fréchet distance of G samples',
      ],
    );
    assert.deepEqual(fig.data[0]?.y, [90, 80]);
    assert.deepEqual(fig.data[3]?.y, [3, 4]);
    assert.deepEqual(fig.data[1]?.x, [1, 2]);
    assert.equal(fig.data[0]?.yaxis, undefined, 'accuracy on the left axis');
    assert.equal(fig.data[2]?.yaxis, 'y2', 'Fréchet distance on the right axis');
    const layout = fig.layout as Record<string, { title?: { text?: string } }>;
    assert.equal(layout.xaxis?.title?.text, 'scholar (generation)');
    assert.equal(layout.yaxis?.title?.text, 'test accuracy (%)');
    assert.equal(layout.yaxis2?.title?.text, 'Fréchet distance to real (judge logits)');
    assert.ok((fig.layout?.width ?? Infinity) <= 1000);
    assert.throws(
      () => chainDriftFigure([1, 2, 3], solverChains, quality),
      /WGAN-GP, hard: test accuracy \(%\) has 2 values for 3 generations/,
    );
  },
);
