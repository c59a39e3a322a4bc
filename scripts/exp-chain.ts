/**
 * Exploration for issue 11 (§3.2, Table 1), not part of the course yet: its options (separate
 * generator and solver budgets, soft targets, fresh real batches per critic step, several solver
 * chains on one generator chain) are to move into lib/notebook/chain.ts for notebook 04's paper
 * profile. Results of 2026-12-01: results/investigations/chain-transfer-2026-12-01.jsonl.
 *
 * Experiment: a chain of scholars with separate generator and solver
 * budgets. One generator chain is shared by several solver chains (variants 'mlp-hard',
 * 'mlp-soft', 'cnn-hard', 'cnn-soft'): scholar g of variant v = <G_g, S_g^v>, taught by
 * <G_{g-1}, S_{g-1}^v>. WGAN-GP critic steps can draw a fresh batch each (Gulrajani et al.).
 * Appends one JSON line per generation and variant to the output file.
 * Usage: node build/scripts/exp-chain.js '<json options>' out.jsonl
 */
import * as fs from 'node:fs';
import { tf } from '../lib/tf';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-node';
import { loadMnist } from '../lib/data/mnist';
import { splitMnist } from '../lib/engine/tasks';
import { presets, configWith } from '../lib/engine/config';
import type { GeneratorConfig, SolverConfig } from '../lib/engine/config';
import { buildSolver, createSolverTrainer, snapshotSolver } from '../lib/engine/solvers';
import type { Solver, SolverTrainer } from '../lib/engine/solvers';
import {
  buildGenerator,
  createGeneratorTrainer,
  snapshotGenerator,
} from '../lib/engine/generators';
import type { Generator, WganGpTrainer } from '../lib/engine/generators';
import { evaluate } from '../lib/engine/eval';
import { createBatchSampler, deriveSeed } from '../lib/rng';
import { gatherRows } from '../lib/engine/native';

interface Opts {
  gen: 'vae' | 'wgan-mlp' | 'wgan-dcgan';
  genHidden?: number[];
  latent?: number;
  solvers: string[];
  genIters: number;
  solverIters: number;
  batch: number;
  T: number;
  generations: number;
  seed: number;
  freshCritic: boolean;
  tag?: string;
}

async function main(): Promise<void> {
  const o = {
    freshCritic: true,
    T: 2,
    batch: 128,
    seed: 0,
    ...JSON.parse(process.argv[2] ?? '{}'),
  } as Opts;
  const out = process.argv[3] ?? '/dev/null';
  const mnist = await loadMnist();
  const seq = splitMnist(mnist, { scenario: 'class', classesPerTask: 10 });
  const task = seq.tasks[0]!;
  const base = presets.splitMnistGR();
  let gcfg: GeneratorConfig;
  if (o.gen === 'vae') {
    gcfg = configWith(base, {
      generator: { hidden: o.genHidden ?? [400, 400], latent: o.latent ?? 100 },
    }).generator!;
  } else {
    const w = presets.wganGp(o.gen === 'wgan-mlp' ? 'mlp' : 'dcgan');
    gcfg = {
      ...w,
      ...(o.genHidden ? { hidden: o.genHidden } : {}),
      ...(o.latent ? { latent: o.latent } : {}),
    };
  }
  const conv = o.gen === 'wgan-dcgan' || o.solvers.some((v) => v.startsWith('cnn'));
  const inputShape = conv ? [28, 28, 1] : [...seq.inputShape];
  const scfgOf = (v: string): SolverConfig =>
    v.startsWith('mlp')
      ? base.solver
      : {
          kind: 'cnn',
          channels: [32, 64],
          hidden: 256,
          init: 'torch',
          optimizer: base.solver.optimizer,
        };
  const B = o.batch;
  const wHard = tf.fill([B], 1 / B) as Tensor1D;
  const wSoft = tf.fill([B], (o.T * o.T) / B) as Tensor1D;
  const invT = tf.fill([B, 1], 1 / o.T) as Tensor2D;
  const reshape = (x: Tensor): Tensor => (conv ? tf.reshape(x, [x.shape[0], ...inputShape]) : x);
  const testX = reshape(task.test.x);
  const evalSeq = {
    ...seq,
    inputShape,
    tasks: [{ ...task, test: { ...task.test, x: testX } }],
  } as typeof seq;
  let prevG: Generator | null = null;
  const prevS = new Map<string, Solver>();
  const t00 = performance.now();
  for (let g = 1; g <= o.generations; g++) {
    const t0 = performance.now();
    const gen = buildGenerator(gcfg, inputShape, deriveSeed(o.seed, 'x-gen', g));
    const gT = createGeneratorTrainer(gen);
    const sol = new Map<string, { s: Solver; t: SolverTrainer }>();
    for (const v of o.solvers) {
      const s = buildSolver(scfgOf(v), inputShape, 10, deriveSeed(o.seed, 'x-solver', g, v.length));
      sol.set(v, { s, t: createSolverTrainer(s) });
    }
    const sampler = createBatchSampler(task.train.count, B, deriveSeed(o.seed, 'x-batches', g));
    const realBatch = (): { x: Tensor; y: Tensor1D } =>
      tf.tidy(() => {
        const idx = tf.tensor1d(sampler.next(), 'int32');
        return {
          x: reshape(gatherRows(task.train.x, idx)),
          y: gatherRows(task.train.y, idx) as Tensor1D,
        };
      });
    const inputs = (seed: number): Tensor =>
      prevG === null
        ? (() => {
            const r = realBatch();
            r.y.dispose();
            return r.x;
          })()
        : prevG.sample(B, seed);
    const N = Math.max(o.genIters, o.solverIters);
    const seconds = { gen: 0, solver: 0 };
    for (let it = 1; it <= N; it++) {
      if (it <= o.solverIters) {
        const ts = performance.now();
        let x: Tensor;
        let y: Tensor1D | null = null;
        if (prevG === null) {
          const r = realBatch();
          x = r.x;
          y = r.y;
        } else x = prevG.sample(B, deriveSeed(o.seed, 'x-srep', g, it));
        for (const [v, { t }] of sol) {
          const soft = prevG !== null && v.endsWith('soft');
          const targets = tf.tidy(() => {
            if (prevG === null) return tf.oneHot(y!, 10).toFloat() as Tensor2D;
            const z = prevS.get(v)!.predict(x);
            return (
              soft
                ? tf.softmax(tf.div(z, o.T))
                : tf.oneHot(tf.argMax(z, 1) as Tensor1D, 10).toFloat()
            ) as Tensor2D;
          });
          t.step(
            {
              x,
              targets,
              weights: soft ? wSoft : wHard,
              mask: null,
              invTemperature: soft ? invT : null,
            },
            false,
          );
          targets.dispose();
        }
        tf.dispose([x, ...(y ? [y] : [])]);
        seconds.solver += (performance.now() - ts) / 1000;
      }
      if (it <= o.genIters) {
        const ts = performance.now();
        const gs = deriveSeed(o.seed, 'x-gstep', g, it);
        if (gcfg.kind === 'wgan-gp' && o.freshCritic) {
          const wt = gT as WganGpTrainer;
          for (let c = 0; c < gcfg.criticSteps; c++) {
            const x = inputs(deriveSeed(o.seed, 'x-grep', g, it, c));
            tf.dispose(Object.values(wt.criticStep(x, null, deriveSeed(gs, 'critic', c))));
            x.dispose();
          }
          tf.dispose(Object.values(wt.generatorStep(B, deriveSeed(gs, 'generator'))));
        } else {
          const x = inputs(deriveSeed(o.seed, 'x-grep', g, it));
          tf.dispose(Object.values(gT.step(x, null, gs, false)));
          x.dispose();
        }
        seconds.gen += (performance.now() - ts) / 1000;
      }
      if (it % 1000 === 0)
        process.stderr.write(
          `g${g} it ${it}/${N} ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
        );
    }
    for (const [v, { s, t }] of sol) {
      const acc = (await evaluate(s, evalSeq))[0]!;
      const rec = {
        tag: o.tag,
        gen: o.gen,
        genHidden: o.genHidden,
        genIters: o.genIters,
        solverIters: o.solverIters,
        freshCritic: o.freshCritic,
        T: o.T,
        seed: o.seed,
        variant: v,
        g,
        acc,
        seconds,
        total: (performance.now() - t00) / 1000,
        tensors: tf.memory().numTensors,
      };
      console.log(JSON.stringify(rec));
      fs.appendFileSync(out, JSON.stringify(rec) + '\n');
      t.dispose();
      prevS.get(v)?.dispose();
      prevS.set(v, snapshotSolver(s));
      s.dispose();
    }
    gT.dispose();
    prevG?.dispose();
    prevG = snapshotGenerator(gen);
    gen.dispose();
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
