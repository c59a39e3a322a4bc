/**
 * `npm run check-identical`: a refactoring guard. Runs short fixed-seed trainings through the
 * engine (trainSequence in every scenario and replay mode, hard and soft targets, r numeric and
 * 1/t, VAE and WGAN-GP generators), the notebook chain of scholars (lib/notebook/chain.ts) and a
 * student taught by a scholar (lib/notebook/scholar.ts), on small MNIST subsets, and prints every
 * accuracy matrix plus a checksum of the final solver weights as JSON.
 *
 * Save the output before a refactor and diff it after: a refactor that keeps behaviour gives
 * byte-identical output.
 *   npm run check-identical > before.json   (change the code)
 *   npm run check-identical > after.json && diff before.json after.json
 */
import { tf } from '../lib/tf';
import { loadMnist } from '../lib/data/mnist';
import { configWith, presets, type ExperimentConfig } from '../lib/engine/config';
import { splitMnist, permutedMnist } from '../lib/engine/tasks';
import { trainSequence } from '../lib/engine/train';
import { evaluate } from '../lib/engine/eval';
import type { Scenario, TaskSequence } from '../lib/engine/types';
import type { Solver } from '../lib/engine/solvers';
import { runScholarChain, disposeChain, type ChainScholar } from '../lib/notebook/chain';
import { trainStudentSolver } from '../lib/notebook/scholar';
import { firstTasks } from '../lib/notebook/mixed-loss';

const ITERS = 30;
const SUBSET = { trainPerTask: 400, testPerTask: 200 };

/**
 * Sum and sum of squares of a solver's weights, in float64 (changes with any weight bit that
 * matters).
 */
function checksum(solver: Solver): [number, number] {
  const flat = solver.params.readFlat();
  try {
    const v = flat.dataSync();
    let s = 0;
    let s2 = 0;
    for (const x of v) {
      s += x;
      s2 += x * x;
    }
    return [s, s2];
  } finally {
    flat.dispose();
  }
}

/** Tiny models so the whole check runs in about a minute. */
function small(
  base: ExperimentConfig,
  patch: Parameters<typeof configWith>[1] = {},
): ExperimentConfig {
  const shrunk = configWith(base, {
    iterations: ITERS,
    batchSize: 32,
    solver: { hidden: [64, 64] },
    replay: { batchSize: 32 },
    ...(base.generator?.kind === 'vae' ? { generator: { hidden: [64], latent: 8 } } : {}),
    ...(base.generator?.kind === 'wgan-gp'
      ? { generator: { hidden: [32, 64], latent: 16, criticSteps: 2 } }
      : {}),
  });
  return configWith(shrunk, patch);
}

async function main(): Promise<void> {
  const mnist = await loadMnist();
  const out: Record<string, unknown> = {};
  const split = (scenario: Scenario): TaskSequence =>
    firstTasks(splitMnist(mnist, { scenario, ...SUBSET }), 3);
  const record = async (
    name: string,
    sequence: TaskSequence,
    config: ExperimentConfig,
  ): Promise<void> => {
    const run = await trainSequence(sequence, config, {
      progress: false,
      curveEvery: 15,
      curveMaxPerTask: 50,
    });
    out[name] = {
      accuracy: run.accuracy,
      curves: run.curves.map((c) => c.accuracy),
      solver: checksum(run.scholar.solver),
    };
    run.scholar.dispose();
  };

  // the first 3 tasks of split MNIST (digits 0/1, 2/3, 4/5) in every scenario and replay mode
  for (const scenario of ['class', 'task', 'domain'] as const) {
    const seq = split(scenario);
    try {
      for (const mode of ['none', 'noise', 'exact'] as const) {
        await record(`${scenario}/${mode}`, seq, small(presets.splitMnist(mode, scenario)));
      }
      await record(`${scenario}/gr-vae`, seq, small(presets.splitMnistGR(), { scenario }));
      await record(
        `${scenario}/gr-vae-soft-r0.3`,
        seq,
        small(presets.splitMnistGRDistill(), { scenario, replay: { ratio: 0.3 } }),
      );
      if (scenario === 'class') {
        await record(
          `${scenario}/noise-soft`,
          seq,
          small(presets.splitMnist('noise', scenario), {
            replay: { targets: 'soft', temperature: 3 },
          }),
        );
        await record(
          `${scenario}/exact-r0.7`,
          seq,
          small(presets.splitMnist('exact', scenario), { replay: { ratio: 0.7 } }),
        );
      }
    } finally {
      seq.dispose();
    }
  }

  // permuted MNIST, domain-IL, the paper's WGAN-GP (mlp) generator
  const perm = permutedMnist(mnist, { numTasks: 2, ...SUBSET });
  try {
    await record('perm/gr-wgangp', perm, small(presets.permutedMnistDGR()));
    await record(
      'perm/gr-wgangp-r0.5-soft',
      perm,
      small(presets.permutedMnistDGR(), { replay: { ratio: 0.5, targets: 'soft' } }),
    );
  } finally {
    perm.dispose();
  }

  // the chain of scholars (notebook 04) and a student taught only by a scholar (notebook 02)
  const all = splitMnist(mnist, { scenario: 'class', classesPerTask: 10, ...SUBSET });
  try {
    const config = small(presets.splitMnistGR(), { iterations: 20 });
    const chain = await runScholarChain(all, config, { generations: 3, progress: false });
    try {
      const rows: number[][] = [];
      for (const g of chain) rows.push([g.scholars[0]?.accuracy ?? Number.NaN]);
      out['chain/vae'] = {
        accuracy: rows,
        solver: chain.map((g) => checksum((g.scholars[0] as ChainScholar).scholar.solver)),
      };
      const teacher = chain[0]?.scholars[0];
      if (teacher === undefined) throw new Error('check-identical: the chain is empty');
      for (const inputs of ['generator', 'noise'] as const) {
        const student = await trainStudentSolver(
          teacher.scholar,
          {
            solver: config.solver,
            inputs,
            iterations: 20,
            batchSize: 32,
            seed: 3,
            activeUnits: [0, 1, 2, 3, 4, 5, 6, 7],
          },
          { lossEvery: 10 },
        );
        out[`student/${inputs}`] = {
          accuracy: await evaluate(student.solver, all, { trainedUpTo: 0 }),
          losses: student.losses,
          solver: checksum(student.solver),
        };
        student.solver.dispose();
      }
    } finally {
      disposeChain(chain);
    }
  } finally {
    all.dispose();
  }
  out.tensorsLeft = tf.memory().numTensors;
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
