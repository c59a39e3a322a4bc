/**
 * Exploration for notebook 06 (Shin et al. 2017 §4.2, new domains), to choose the paper profile's
 * budget: one order of the two-domain sequence (MNIST resized to 32×32×3, and the second domain
 * of `loadSecondDomain`: SVHN when present, else the synthetic printed digits), several replay
 * methods at the same iterations per task, the CNN solver and DCGAN WGAN-GP of
 * presets.svhnMnistDGR(). Appends one JSON line per method (accuracy matrix, the first domain's
 * accuracy before and after the second task, seconds) and a last line with the recovery of each
 * generative method: (GR − none) / (exact − none) on the first domain after task 2.
 *
 * Usage: node build/scripts/exp-domains.js '<json options>' out.jsonl
 * Options (defaults): order 'second-first' | 'mnist-first' ('second-first'), iterations (1000),
 * batch (64), ratio (0.4), criticSteps (5), train (20000), test (2000), seed (0),
 * methods (['none', 'exact', 'gr-wgan']; also 'noise', 'lwf', 'lwf-gr-wgan', 'gr-vae').
 * Results of 2026-12-01: results/investigations/domains-2026-12-01.jsonl. Seconds are only
 * meaningful on a quiet machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as dgr from '../lib';

interface Opts {
  order: 'second-first' | 'mnist-first';
  iterations: number;
  batch: number;
  ratio: number;
  criticSteps: number;
  train: number;
  test: number;
  seed: number;
  methods: string[];
  tag?: string;
}

async function main(): Promise<void> {
  const o: Opts = {
    order: 'second-first',
    iterations: 1000,
    batch: 64,
    ratio: 0.4,
    criticSteps: 5,
    train: 20000,
    test: 2000,
    seed: 0,
    methods: ['none', 'exact', 'gr-wgan'],
    ...(JSON.parse(process.argv[2] ?? '{}') as Partial<Opts>),
  };
  const out = process.argv[3] ?? '/dev/null';
  const second = await dgr.loadSecondDomain({
    seed: o.seed,
    trainCount: o.train,
    testCount: o.test,
  });
  const mnist = await dgr.loadMnist();
  const tail = (s: dgr.ImageSplit, n: number): dgr.ImageSplit =>
    dgr.mnistTo32x32x3(dgr.examplesFrom(s, s.count - n, n));
  const D1 = dgr.MNIST32_DOMAIN;
  const D2 = second.domain;
  const m = { name: D1.name, train: tail(mnist.train, o.train), test: tail(mnist.test, o.test) };
  const s = { name: D2.name, train: second.train, test: second.test };
  const [first, then] = o.order === 'mnist-first' ? [m, s] : [s, m];
  const ids = o.order === 'mnist-first' ? [D1, D2] : [D2, D1];
  const seq = dgr.domainSequence([first, then], {
    name: dgr.domainSequenceName(ids),
    seed: o.seed,
  });
  const base = dgr.configWith(dgr.presets.svhnMnistDGR(), {
    seed: o.seed,
    iterations: o.iterations,
    batchSize: o.batch,
    replay: { batchSize: o.batch, ratio: o.ratio },
    generator: { criticSteps: o.criticSteps },
  });
  const configs: Record<string, dgr.ExperimentConfig> = {
    none: dgr.configWith(base, { generator: null, replay: { mode: 'none' } }),
    noise: dgr.configWith(base, { generator: null, replay: { mode: 'noise' } }),
    exact: dgr.configWith(base, { generator: null, replay: { mode: 'exact' } }),
    'gr-wgan': base,
    'gr-vae': dgr.configWith(base, { generator: dgr.presets.splitMnistGR().generator }),
    lwf: dgr.configWith(base, {
      generator: null,
      replay: { mode: 'none' },
      lwf: { temperature: 2 },
    }),
    'lwf-gr-wgan': dgr.configWith(base, { lwf: { temperature: 2 } }),
  };
  const load = os.loadavg()[0] ?? Number.NaN;
  console.log(`${seq.name}, ${o.iterations} it/task, load average ${load.toFixed(1)}`);
  const firstAfter: Record<string, number> = {};
  for (const method of o.methods) {
    const config = configs[method];
    if (config === undefined) throw new RangeError(`unknown method ${method}`);
    const r = await dgr.trainSequence(seq, config, { progress: { everySeconds: 120 } });
    r.scholar.dispose();
    const R = r.accuracy;
    const before = R[0]?.[0] ?? Number.NaN;
    const after = R[1]?.[0] ?? Number.NaN;
    firstAfter[method] = after;
    const rec = {
      tag: o.tag ?? 'D06',
      sequence: seq.name,
      method,
      options: o,
      R,
      firstBefore: before,
      firstAfter: after,
      secondAfter: R[1]?.[1] ?? Number.NaN,
      taskSeconds: r.taskSeconds,
      loadAverage: os.loadavg()[0],
    };
    fs.appendFileSync(out, JSON.stringify(rec) + '\n');
    const pct = (v: number): string => (100 * v).toFixed(2);
    console.log(
      `${method}: first domain ${pct(before)} -> ${pct(after)} %, ` +
        `second ${pct(rec.secondAfter)} % ` +
        `(${r.taskSeconds.map((t) => t.toFixed(0)).join(' + ')} s)`,
    );
  }
  const none = firstAfter.none;
  const exact = firstAfter.exact;
  if (none !== undefined && exact !== undefined) {
    const recovery: Record<string, number> = {};
    for (const [k, v] of Object.entries(firstAfter))
      if (k !== 'none' && k !== 'exact') recovery[k] = (v - none) / (exact - none);
    fs.appendFileSync(
      out,
      JSON.stringify({ tag: o.tag ?? 'D06', sequence: seq.name, recovery }) + '\n',
    );
    console.log('recovery of exact replay’s gain on the first domain:', recovery);
  }
  seq.dispose();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
