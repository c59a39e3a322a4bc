/**
 * `npm run bench`: time per iteration of the engine's steps at MNIST shapes
 * (784 inputs, 10 outputs, 2×400 MLP solver, VAE 2×400 / z 100 as in
 * presets.splitMnistGR(); batch 128 real + 128 replayed), printed as a table
 * with ms/iter, it/s, native ops per iteration and achieved GFLOP/s. Steps run as in
 * training on iterations whose losses are not read (no loss ops).
 *
 * Page faults are expensive on this VM, so by default the benchmark re-executes
 * itself with glibc's malloc told to keep freed memory (MALLOC_MMAP_THRESHOLD_,
 * MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_; these only work if set before the
 * process starts). Flags:
 *   --malloc=on|off|both   run with the malloc settings, without, or both (default on)
 *   --iters=N              timed iterations per row (default 40)
 *   --only=a,b             rows whose name contains one of these words ('regularisation':
 *                          the paired EWC / online EWC / SI / LwF rows of bench-methods.ts)
 *   --profile              after the table, each row's native ops by type: calls and
 *                          milliseconds per iteration (the ops run synchronously, so the
 *                          time around each call is the op's own time plus its binding cost)
 *   --compare-wgan         after the table: the WGAN-GP critic and generator gradients by
 *                          the hand-written passes against tf.js autodiff (the reference),
 *                          alternating blocks of 5 calls so both see the same machine load;
 *                          prints min / p25 / median ms and their ratios (gradients only:
 *                          the Adam update, the same for both, is left out)
 *   --full-run             instead of the table: the whole split-MNIST class-IL generative
 *                          replay run of presets.splitMnistGR() (5 tasks × 2000 iterations),
 *                          end to end, printing wall time and the accuracy matrix
 *   --seed=N               seed of the full run (default 0, the preset's)
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { benchMethods, formatMethodRows } from './bench-methods';

export const MALLOC_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: '4294967296',
  MALLOC_TRIM_THRESHOLD_: '4294967296',
  MALLOC_TOP_PAD_: '268435456',
});

function arg(name: string, def: string): string {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a === undefined ? def : a.slice(name.length + 3);
}

function mallocOn(): boolean {
  return Object.entries(MALLOC_ENV).every(([k, v]) => process.env[k] === v);
}

function reexec(withMalloc: boolean): number {
  const env: NodeJS.ProcessEnv = { ...process.env, DGR_BENCH_CHILD: '1' };
  for (const [k, v] of Object.entries(MALLOC_ENV)) {
    if (withMalloc) env[k] = v;
    else delete env[k];
  }
  const r = spawnSync(process.execPath, [__filename, ...process.argv.slice(2)], {
    env,
    stdio: 'inherit',
  });
  return r.status ?? 1;
}

async function run(): Promise<void> {
  // Loaded here, after the re-exec decision: TensorFlow must start with the final environment.
  /* eslint-disable @typescript-eslint/no-require-imports --
   * TensorFlow must load after the malloc re-exec decision */
  const { tf } = require('../lib/tf') as typeof import('../lib/tf');
  const E = require('../lib/engine') as typeof import('../lib/engine');
  /* eslint-enable @typescript-eslint/no-require-imports */
  type Tensor = import('@tensorflow/tfjs-node').Tensor;

  const iters = Number(arg('iters', '40'));
  const only = arg('only', '')
    .split(',')
    .filter((s) => s !== '');
  const cfg = E.presets.splitMnistGR();
  const B = cfg.batchSize;
  const Br = cfg.replay.batchSize;
  const D = 784;
  const C = 10;

  // Two class-IL tasks of random "images" at MNIST shapes (timing only; the values do not matter).
  const rng = E.createRng(1);
  const mkTask = (t: number, n: number): import('../lib/engine').Task => {
    const data = (
      m: number,
    ): { x: Tensor; y: import('@tensorflow/tfjs-node').Tensor1D; count: number } => ({
      x: tf.tensor2d(rng.uniformArray(m * D), [m, D]),
      y: tf.tensor1d(
        Int32Array.from({ length: m }, (_, i) => 2 * t + (i % 2)),
        'int32',
      ),
      count: m,
    });
    return {
      index: t,
      name: `t${t}`,
      classes: [2 * t, 2 * t + 1],
      train: data(n),
      test: data(100),
    };
  };
  const tasks = [mkTask(0, 4000), mkTask(1, 4000)];
  const seq: import('../lib/engine').TaskSequence = {
    name: 'bench',
    scenario: 'class',
    inputShape: [D],
    numOutputs: C,
    tasks,
    dispose: () => tasks.forEach((t) => tf.dispose([t.train.x, t.train.y, t.test.x, t.test.y])),
  };

  const solver = E.buildSolver(cfg.solver, [D], C, 1);
  const vae = E.buildGenerator(cfg.generator!, [D], 2);
  const scholar = E.createScholar(vae, solver);
  const prev = E.snapshotScholar(scholar);
  const st = E.createSolverTrainer(solver);
  const vt = E.createGeneratorTrainer(vae);
  const plan = E.planTask(cfg, seq, 1, prev, true);
  const wg = E.buildWganGp(E.presets.wganGp('mlp'), [D], 3);
  const wgt = E.createWganGpTrainer(wg);
  const wc = E.buildWganGp(E.presets.wganGp('dcgan'), [28, 28, 1], 4);
  const wct = E.createWganGpTrainer(wc);

  // FLOP counts (multiply-add = 2 FLOPs). A training step ≈ forward + backward (input and weight
  // gradients) = 3 forward passes, minus the input gradient of the first layer.
  const sM = solver.macsPerExample;
  const first = D * 400;
  const eM = vae.macs.encoder as number;
  const dM = vae.macs.decoder as number;
  const solverFlops = 2 * (B + Br) * (3 * sM - first);
  const vaeFlops = 2 * (B + Br) * (3 * (eM + dM) - first);
  const sampleFlops = 2 * Br * (dM + sM);
  const gM = wg.macs.generator as number;
  const cM = wg.macs.critic as number;
  // critic step: G forward (B), critic on real+fake (2B, fwd+bwd), GP: critic fwd+input-grad on B,
  // and its double backward (~2 more passes)
  const criticFlops = (bs: number, g: number, c: number): number =>
    2 * bs * g + 2 * (2 * bs) * 3 * c + 2 * bs * 6 * c;
  const genFlops = (bs: number, g: number, c: number): number => 2 * bs * (3 * g + 2 * c);
  const x256 = tf.tensor2d(rng.uniformArray((B + Br) * D), [B + Br, D]);
  const w256 = tf.fill([B + Br], 1 / (B + Br)) as import('@tensorflow/tfjs-node').Tensor1D;
  const xb = tf.tensor2d(rng.uniformArray(B * D), [B, D]);
  const xb4 = xb.reshape([B, 28, 28, 1]);
  const fixedBatch = plan.build(0);
  const fixed = fixedBatch.solver;

  // Count native op executions (wrap the backend's binding: its own properties are read-only).
  const backend = tf.backend() as unknown as { binding: Record<string, unknown> };
  const origBinding = backend.binding;
  let ops = 0;
  const counting: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(origBinding)) {
    const v = origBinding[key];
    counting[key] =
      typeof v === 'function' ? (v as (...b: unknown[]) => unknown).bind(origBinding) : v;
  }
  const exec = origBinding.executeOp as (...b: unknown[]) => unknown;
  const profile = process.argv.includes('--profile');
  let opTimes = new Map<string, { calls: number; ms: number }>();
  counting.executeOp = (...a: unknown[]): unknown => {
    ops++;
    if (!profile) return exec.apply(origBinding, a);
    const t0 = performance.now();
    try {
      return exec.apply(origBinding, a);
    } finally {
      const name = String(a[0]);
      const e = opTimes.get(name) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += performance.now() - t0;
      opTimes.set(name, e);
    }
  };
  backend.binding = counting;

  interface Row {
    name: string;
    ms: number;
    ops: number;
    gflop: number;
    /** Per op type: calls and ms summed over the n timed iterations (--profile). */
    byOp: Map<string, { calls: number; ms: number }>;
    n: number;
  }
  const rows: Row[] = [];
  const bench = async (
    name: string,
    flops: number,
    step: (i: number) => Tensor[] | void,
    n = iters,
  ): Promise<void> => {
    if (only.length > 0 && !only.some((o) => name.includes(o))) return;
    for (let i = 0; i < 5; i++) tf.dispose(step(i) ?? []);
    const before = tf.memory().numTensors;
    ops = 0;
    opTimes = new Map();
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const out = step(i + 5) ?? [];
      // synchronise (the native backend runs eagerly anyway)
      if (out.length > 0) await out[0]!.data();
      times.push(performance.now() - t);
      tf.dispose(out);
    }
    if (tf.memory().numTensors !== before)
      throw new Error(`${name} leaked ${tf.memory().numTensors - before} tensors`);
    times.sort((a, b) => a - b);
    // median: robust to other load on the machine
    const ms = times[Math.floor(times.length / 2)] as number;
    rows.push({ name, ms, ops: ops / n, gflop: flops / 1e9, byOp: opTimes, n });
    opTimes = new Map(); // the next row's warm-up must not count here
  };

  const loss = (o: {
    solver: Tensor | null;
    generator: Readonly<Record<string, Tensor>>;
  }): Tensor[] => [...(o.solver === null ? [] : [o.solver]), ...Object.values(o.generator)];
  await bench(`solver step (MLP 784-400-400-10, ${B}+${Br})`, solverFlops, () => {
    st.step(fixed, false);
  });
  await bench(`VAE step (2x400, z 100, ${B}+${Br})`, vaeFlops, (i) =>
    Object.values(vt.step(x256, w256, i, false)),
  );
  await bench(`replay sampling (VAE decode + label, ${Br})`, sampleFlops, (i) => {
    const s = prev.sample(Br, { seed: i, activeUnits: [0, 1] });
    return [s.x, s.y];
  });
  await bench(
    `full GR iteration (batch ${B} + ${Br} replayed, losses not read)`,
    solverFlops + vaeFlops + sampleFlops,
    (i) => loss(E.runIteration(plan, st, vt, i, i, false)),
  );
  await bench(
    `WGAN-GP mlp critic step (${B})`,
    criticFlops(B, gM, cM),
    (i) => Object.values(wgt.criticStep(xb, null, i)),
    Math.max(5, iters / 2),
  );
  await bench(
    `WGAN-GP mlp generator step (${B})`,
    genFlops(B, gM, cM),
    (i) => Object.values(wgt.generatorStep(B, i)),
    Math.max(5, iters / 2),
  );
  const dcG = wc.macs.generator as number;
  const dcC = wc.macs.critic as number;
  await bench(
    `WGAN-GP dcgan critic step (${B}, 28x28)`,
    criticFlops(B, dcG, dcC),
    (i) => Object.values(wct.criticStep(xb4, null, i)),
    Math.max(3, iters / 8),
  );
  await bench(
    `WGAN-GP dcgan generator step (${B})`,
    genFlops(B, dcG, dcC),
    (i) => Object.values(wct.generatorStep(B, i)),
    Math.max(3, iters / 8),
  );
  backend.binding = origBinding;

  // Paired comparison of the hand-written WGAN-GP passes with tf.js autodiff (--compare-wgan).
  const compareLines: string[] = [];
  type Method = 'manual' | 'autodiff';
  const compare = (name: string, run: (m: Method, i: number) => Tensor[], rounds: number): void => {
    if (only.length > 0 && !only.some((o) => name.includes(o))) return;
    const ts: Record<Method, number[]> = { manual: [], autodiff: [] };
    const methods = ['autodiff', 'manual'] as const;
    for (const m of methods) for (let i = 0; i < 3; i++) tf.dispose(run(m, i));
    for (let r = 0; r < rounds; r++) {
      for (const m of methods) {
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          const out = run(m, 100 + 5 * r + i);
          out[0]?.dataSync();
          ts[m].push(performance.now() - t0);
          tf.dispose(out);
        }
      }
    }
    const q = (v: number[], p: number): number =>
      [...v].sort((a, b) => a - b)[Math.floor(p * (v.length - 1))] as number;
    const ps = [0, 0.25, 0.5];
    const f = (v: number[]): string => ps.map((p) => q(v, p).toFixed(1).padStart(7)).join('');
    const ratio = ps.map((p) => (q(ts.autodiff, p) / q(ts.manual, p)).toFixed(2)).join(' / ');
    compareLines.push(`${name} (${ts.manual.length} calls each; ms min, p25, median)`);
    compareLines.push(`  tf.js autodiff ${f(ts.autodiff)}`);
    compareLines.push(`  hand-written   ${f(ts.manual)}`);
    compareLines.push(`  autodiff / hand-written: ${ratio}`);
  };
  if (process.argv.includes('--compare-wgan')) {
    const cg =
      (t: typeof wgt, xs: Tensor) =>
      (m: Method, i: number): Tensor[] => {
        const r = t.criticGradients(xs, null, i, m);
        return [r.critic, r.gp, ...r.grads];
      };
    const gg =
      (t: typeof wgt) =>
      (m: Method, i: number): Tensor[] => {
        const r = t.generatorGradients(B, i, m);
        return [r.generator, ...r.grads];
      };
    const rounds = Math.max(2, Math.round(iters / 4));
    compare(`WGAN-GP mlp critic gradients (${B})`, cg(wgt, xb), rounds);
    compare(`WGAN-GP mlp generator gradients (${B})`, gg(wgt), rounds);
    const convRounds = Math.max(2, Math.round(rounds / 4));
    compare(`WGAN-GP dcgan critic gradients (${B}, 28x28)`, cg(wct, xb4), convRounds);
    compare(`WGAN-GP dcgan generator gradients (${B})`, gg(wct), convRounds);
  }

  const load = os.loadavg()[0] as number;
  console.log(
    `\nengine benchmark — tfjs-node ${tf.version.tfjs}, ${os.cpus().length} cores, ` +
      `malloc env ${mallocOn() ? 'ON' : 'off'}, ` +
      `load average ${load.toFixed(2)} (other processes skew timings), ` +
      `median of ${iters} iterations`,
  );
  const head = ['step', 'ms/iter', 'it/s', 'ops/iter', 'GFLOP/iter', 'GFLOP/s'];
  const table = rows.map((r) => [
    r.name,
    r.ms.toFixed(2),
    (1000 / r.ms).toFixed(1),
    r.ops.toFixed(0),
    r.gflop.toFixed(3),
    (r.gflop / (r.ms / 1000)).toFixed(1),
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...table.map((r) => (r[i] as string).length)),
  );
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of table) console.log(fmt(r));
  if (profile) {
    for (const r of rows) {
      const total = [...r.byOp.values()].reduce((a, e) => a + e.ms, 0) / r.n;
      const head = `native ops by type (mean per iteration; inside ops ${total.toFixed(2)} ms)`;
      console.log(`\n${r.name}: ${head}`);
      const sorted = [...r.byOp.entries()].sort((a, b) => b[1].ms - a[1].ms);
      for (const [op, e] of sorted) {
        const calls = (e.calls / r.n).toFixed(1).padStart(6);
        const ms = (e.ms / r.n).toFixed(3).padStart(8);
        const share = ((100 * e.ms) / r.n / total).toFixed(1).padStart(5);
        console.log(`  ${op.padEnd(28)} ${calls} calls ${ms} ms ${share} %`);
      }
    }
  }
  if (compareLines.length > 0) console.log(`\n${compareLines.join('\n')}`);
  const full = rows.find((r) => r.name.startsWith('full GR'));
  const solverRow = rows.find((r) => r.name.startsWith('solver step'));
  const vaeRow = rows.find((r) => r.name.startsWith('VAE step'));
  if (full !== undefined && solverRow !== undefined && vaeRow !== undefined) {
    const est = (2000 * (solverRow.ms * 0.5 + vaeRow.ms * 0.5) + 8000 * full.ms) / 1000;
    console.log(
      `\nfull GR iteration: ${full.ms.toFixed(1)} ms (target ≤ 40 ms). Estimated split-MNIST ` +
        'class-IL GR run (5 × 2000 iterations, task 1 without replay, evaluation excluded): ' +
        `${(est / 60).toFixed(1)} min`,
    );
  }

  // issue 12: EWC, online EWC, SI, LwF beside the plain solver step, paired (bench-methods.ts).
  if (only.length === 0 || only.some((o) => 'regularisation'.includes(o))) {
    console.log(`\n${formatMethodRows(await benchMethods(E, tf, seq, iters))}`);
  }

  tf.dispose([x256, w256, xb, xb4, fixed.x, fixed.targets, fixedBatch.genX]);
  plan.dispose();
  [st, vt, wgt, wct].forEach((t) => t.dispose());
  [prev, scholar].forEach((s) => s.dispose());
  [wg, wc].forEach((g) => g.dispose());
  seq.dispose();
}

async function fullRun(): Promise<void> {
  /* eslint-disable @typescript-eslint/no-require-imports --
   * TensorFlow must load after the malloc re-exec decision */
  const { tf } = require('../lib/tf') as typeof import('../lib/tf');
  const E = require('../lib/engine') as typeof import('../lib/engine');
  const { loadMnist } = require('../lib/data/mnist') as typeof import('../lib/data/mnist');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const t0 = performance.now();
  const cfg = E.configWith(E.presets.splitMnistGR(), { seed: Number(arg('seed', '0')) });
  const seq = E.splitMnist(await loadMnist(), { scenario: 'class' });
  const tData = (performance.now() - t0) / 1000;
  console.log(
    `split-MNIST class-IL generative replay (presets.splitMnistGR, seed ${cfg.seed}: ` +
      `${cfg.iterations} iterations × ${seq.tasks.length} tasks, batch ${cfg.batchSize} + ` +
      `${cfg.replay.batchSize} replayed), malloc env ${mallocOn() ? 'ON' : 'off'}, ` +
      `load average ${(os.loadavg()[0] as number).toFixed(2)}`,
  );
  const res = await E.trainSequence(seq, cfg, { progress: { everySeconds: 30 } });
  const total = (performance.now() - t0) / 1000;
  console.log(
    `\ndata ${tData.toFixed(1)} s; training per task (s): ` +
      `${res.taskSeconds.map((s) => s.toFixed(1)).join(', ')}; ` +
      `trainSequence ${res.totalSeconds.toFixed(1)} s; end to end ${total.toFixed(1)} s ` +
      `(${Math.floor(total / 60)} min ${Math.round(total % 60)} s); ` +
      `load average now ${(os.loadavg()[0] as number).toFixed(2)}`,
  );
  console.log('R[i][j] (accuracy on task j after task i):');
  for (const row of res.accuracy) console.log('  ' + row.map((v) => v.toFixed(3)).join('  '));
  const m = E.computeMetrics(res.accuracy);
  console.log(
    `average accuracy ${m.averageAccuracy.toFixed(4)}, BWT ${m.backwardTransfer.toFixed(4)}, ` +
      `forgetting ${m.forgetting.toFixed(4)}`,
  );
  res.scholar.dispose();
  seq.dispose();
  void tf;
}

function main(): void {
  const mode = arg('malloc', 'on');
  if (!['on', 'off', 'both'].includes(mode))
    throw new Error(`--malloc must be on, off or both, got ${mode}`);
  if (process.env.DGR_BENCH_CHILD === '1') {
    (process.argv.includes('--full-run') ? fullRun() : run()).catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
    return;
  }
  let status = 0;
  if (mode === 'off' || mode === 'both') status ||= reexec(false);
  if (mode === 'on' || mode === 'both') status ||= reexec(true);
  process.exit(status);
}

main();
