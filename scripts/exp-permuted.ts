/**
 * Probe for notebook 05's paper profile (§4.1, permuted MNIST): how close does generative replay
 * with the paper's generator (WGAN-GP, MLP) and hard labels come to exact replay, and at what
 * budget? Results of 2026-12-01: results/investigations/permuted-mnist-wgan-gp-2026-12-01.jsonl.
 *
 * Two tasks of permuted MNIST (every task permuted), the engine's own loop pieces (planTask,
 * runIteration). Task 1 trains the solver and the WGAN-GP for max(budgets) iterations; at each
 * budget b the run is forked (solver weights, Adam state and a frozen scholar): task 2 then trains
 * the solver for b iterations with no replay, exact replay, and generative replay from G_1 with
 * hard and with soft targets (T = 2). Because batches and seeds depend only on (task, iteration),
 * each fork gives exactly what `trainSequence` would give on the 2-task sequence with
 * `iterations: b` (task 2's generator training changes nothing that a 2-task result reads).
 * Usage: node build/scripts/exp-permuted.js '<json options>' out.jsonl
 */
import * as fs from 'node:fs';
import { tf } from '../lib/tf';
import { loadMnist } from '../lib/data/mnist';
import { permutedMnist } from '../lib/engine/tasks';
import { configWith, presets, type ExperimentConfig } from '../lib/engine/config';
import { buildSolver, createSolverTrainer, type SolverTrainer } from '../lib/engine/solvers';
import { buildGenerator, createGeneratorTrainer } from '../lib/engine/generators';
import { createScholar, snapshotScholar, type Scholar } from '../lib/engine/scholar';
import { disposeLosses, planTask, runIteration } from '../lib/engine/replay';
import { evaluate } from '../lib/engine/eval';
import { deriveSeed } from '../lib/rng';

type Variant = 'none' | 'exact' | 'gr-hard' | 'gr-soft';

interface Opts {
  budgets: number[];
  /** Task-2 variants to fork at each budget (default all four). */
  variants?: Variant[];
  seed: number;
  trainPerTask?: number;
  tag: string;
}

function variantConfig(base: ExperimentConfig, v: Variant): ExperimentConfig {
  if (v === 'none') return configWith(base, { replay: { mode: 'none' } });
  if (v === 'exact') return configWith(base, { replay: { mode: 'exact' } });
  if (v === 'gr-soft') return configWith(base, { replay: { targets: 'soft', temperature: 2 } });
  return base;
}

/**
 * A trainable copy of the live solver with the same Adam moments (the fork of the run at budget b).
 */
function forkSolver(
  src: SolverTrainer,
  cfg: ExperimentConfig,
  inputShape: number[],
): SolverTrainer {
  const s = buildSolver(cfg.solver, inputShape, 10, deriveSeed(cfg.seed, 'solver'));
  tf.tidy(() => s.params.assignFlat(src.solver.params.readFlat()));
  const t = createSolverTrainer(s);
  const m = src.optimizer.m.readFlat();
  const v = src.optimizer.v.readFlat();
  t.optimizer.restore(m, v, src.optimizer.steps());
  tf.dispose([m, v]);
  return t;
}

async function main(): Promise<void> {
  const o = { seed: 0, tag: 'P05', ...JSON.parse(process.argv[2] ?? '{}') } as Opts;
  const out = process.argv[3] ?? '/dev/null';
  const mnist = await loadMnist();
  const seq = permutedMnist(mnist, {
    numTasks: 2,
    seed: 0,
    ...(o.trainPerTask === undefined ? {} : { trainPerTask: o.trainPerTask }),
  });
  const base = configWith(presets.permutedMnistDGR(), { seed: o.seed });
  const inputShape = [...seq.inputShape];
  const solver = buildSolver(base.solver, inputShape, 10, deriveSeed(base.seed, 'solver'));
  const gen = buildGenerator(base.generator!, inputShape, deriveSeed(base.seed, 'generator'));
  const scholar = createScholar(gen, solver);
  const solverT = createSolverTrainer(solver);
  const genT = createGeneratorTrainer(gen);
  const plan1 = planTask(base, seq, 0, null, true);
  const budgets = [...o.budgets].sort((a, b) => a - b);
  const variants: Variant[] = o.variants ?? ['none', 'exact', 'gr-hard', 'gr-soft'];
  const t0 = performance.now();
  let it = 0;
  for (const b of budgets) {
    for (; it < b;) {
      it++;
      const genSeed = deriveSeed(base.seed, 'generator-step', 0, it);
      disposeLosses(runIteration(plan1, solverT, genT, it, genSeed, false, null));
    }
    const task1 = await evaluate(solver, seq, { trainedUpTo: 0 });
    const task1Seconds = (performance.now() - t0) / 1000;
    const prev: Scholar = snapshotScholar(scholar);
    for (const v of variants) {
      const cfg = configWith(variantConfig(base, v), { iterations: b });
      const t2 = performance.now();
      const fork = forkSolver(solverT, cfg, inputShape);
      const plan2 = planTask(cfg, seq, 1, prev, false);
      for (let j = 1; j <= b; j++)
        disposeLosses(runIteration(plan2, fork, null, j, 0, false, null));
      plan2.dispose();
      const acc = await evaluate(fork.solver, seq, { trainedUpTo: 1 });
      fork.solver.dispose();
      fork.dispose();
      const line = {
        tag: o.tag,
        seed: o.seed,
        iterations: b,
        variant: v,
        afterTask1: task1,
        afterTask2: acc,
        avg: (acc[0]! + acc[1]!) / 2,
        task1Seconds,
        task2Seconds: (performance.now() - t2) / 1000,
      };
      console.log(JSON.stringify(line));
      fs.appendFileSync(out, JSON.stringify(line) + '\n');
    }
    prev.dispose();
  }
  plan1.dispose();
  solverT.dispose();
  genT.dispose();
  scholar.dispose();
  seq.dispose();
  console.log(`tensors alive: ${tf.memory().numTensors}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
