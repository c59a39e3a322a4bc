/**
 * A chain of scholars from the command line (§3.2, Table 1), for measurements beyond notebook 04
 * (other budgets, generators, seeds): a thin caller of runScholarChain (lib/notebook/chain.ts).
 * Appends one JSON line per generation and solver chain to the output file.
 *
 *   npm run build && node build/scripts/exp-chain.js '<json options>' out.jsonl [checkpointDir]
 *
 * Options (defaults in brackets): gen 'vae' | 'wgan-mlp' | 'wgan-dcgan' ['vae'], genIters,
 * solverIters [2000 each], targets [['hard', 'soft']], generations [3], seed [0],
 * freshCritic [true], tag. The measurements of results/investigations/ were made with an earlier
 * version of this script (its own loop and seeds), so they are not reproduced bit for bit.
 */
import * as fs from 'node:fs';
import { tf } from '../lib/tf';
import { loadMnist } from '../lib/data/mnist';
import { splitMnist } from '../lib/engine/tasks';
import { configWith, presets } from '../lib/engine/config';
import { disposeChain, runScholarChain, type ChainTargets } from '../lib/notebook/chain';

interface Opts {
  readonly gen: 'vae' | 'wgan-mlp' | 'wgan-dcgan';
  readonly genIters: number;
  readonly solverIters: number;
  readonly targets: readonly ChainTargets[];
  readonly generations: number;
  readonly seed: number;
  readonly freshCritic: boolean;
  readonly tag?: string;
}

async function main(): Promise<void> {
  const o: Opts = {
    gen: 'vae',
    genIters: 2000,
    solverIters: 2000,
    targets: ['hard', 'soft'],
    generations: 3,
    seed: 0,
    freshCritic: true,
    ...(JSON.parse(process.argv[2] ?? '{}') as Partial<Opts>),
  };
  const out = process.argv[3] ?? '/dev/null';
  const base = configWith(presets.splitMnistGR(), { seed: o.seed });
  const config =
    o.gen === 'vae'
      ? base
      : configWith(base, { generator: presets.wganGp(o.gen === 'wgan-mlp' ? 'mlp' : 'dcgan') });
  const mnist = await loadMnist();
  const flatten = o.gen !== 'wgan-dcgan';
  const seq = splitMnist(mnist, { scenario: 'class', classesPerTask: 10, flatten });
  const t0 = performance.now();
  try {
    const chain = await runScholarChain(seq, config, {
      generations: o.generations,
      generatorIterations: o.genIters,
      solverIterations: o.solverIters,
      targets: o.targets,
      freshCriticBatches: o.freshCritic,
      checkpointDir: process.argv[4] ?? null,
      progress: { everySeconds: 60, write: (line) => process.stderr.write(`${line}\n`) },
      onGeneration: (g) => {
        for (const s of g.scholars) {
          const rec = { ...o, variant: s.targets, g: g.generation, acc: s.accuracy };
          const total = (performance.now() - t0) / 1000;
          const line = JSON.stringify({ ...rec, seconds: g.seconds, total, restored: g.restored });
          console.log(line);
          fs.appendFileSync(out, `${line}\n`);
        }
      },
    });
    disposeChain(chain);
  } finally {
    seq.dispose();
  }
  process.stderr.write(`tensors left: ${tf.memory().numTensors}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
