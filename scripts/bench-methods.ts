/**
 * The "regularisation" rows of `npm run bench` (issue 12): the iteration of each method beside the
 * plain solver step, measured paired — every round runs one iteration of each variant in turn, so
 * load from other processes hits all of them alike — and reported as medians and as the median of
 * the per-round ratios to the plain step. The solver is presets.splitMnistGR()'s 2×400 MLP at
 * MNIST shapes, on the split-MNIST GR batch (128 real + 128 replayed rows) unless a row says
 * otherwise. Quiet-machine re-measure: `npm run bench -- --only=regularisation --iters=200`.
 */
import type * as Engine from '../lib/engine';
import type { tf as TF } from '../lib/tf';

export interface MethodRow {
  readonly name: string;
  /** Median ms per iteration. */
  readonly ms: number;
  /** Median over rounds of (this variant's ms / the plain step's ms in the same round). */
  readonly pairedRatio: number;
}

/** Times the method variants paired with the plain solver step; returns one row per variant. */
export async function benchMethods(
  E: typeof Engine,
  tf: typeof TF,
  seq: Engine.TaskSequence,
  rounds: number,
): Promise<MethodRow[]> {
  const gr = E.presets.splitMnistGR();
  const D = seq.inputShape[0] as number;
  const C = seq.numOutputs;
  const solver = E.buildSolver(gr.solver, [D], C, 1);
  const vae = E.buildGenerator(gr.generator!, [D], 2);
  const scholar = E.createScholar(vae, solver);
  const prev = E.snapshotScholar(scholar);
  const st = E.createSolverTrainer(solver);
  const vt = E.createGeneratorTrainer(vae);
  const none = E.configWith(gr, { generator: null, replay: { mode: 'none' } });
  const lwf = E.configWith(none, { lwf: { temperature: 2 } });
  const grLwf = E.configWith(gr, { lwf: { temperature: 2 } });
  const plans = {
    gr: E.planTask(gr, seq, 1, prev, true),
    none: E.planTask(none, seq, 1, prev, false),
    lwf: E.planTask(lwf, seq, 1, prev, false),
    grLwf: E.planTask(grLwf, seq, 1, prev, true),
  };
  const fixedBatch = plans.gr.build(0);
  const fixed = fixedBatch.solver;
  // Regularisers made active by one consolidation on task 0 (Fisher on 1000 examples: timing only).
  const task0 = seq.tasks[0]!;
  const targets = tf.tidy(() => tf.oneHot(tf.cast(task0.train.y, 'int32'), C).toFloat());
  const data = {
    x: task0.train.x,
    targets: targets as Engine.TaskEndData['targets'],
    mask: null,
    seed: 1,
  };
  const ewcCfg = { ...E.presets.regularizer('ewc'), fisherExamples: 1000 };
  const onlineCfg = { ...E.presets.regularizer('online-ewc'), fisherExamples: 1000 };
  const regs = {
    ewc: E.createRegularizer(ewcCfg, solver.params)!,
    online: E.createRegularizer(onlineCfg, solver.params)!,
    si: E.createRegularizer(E.presets.regularizer('si'), solver.params)!,
  };
  for (const r of Object.values(regs)) r.endTask(solver, data);

  type Step = (i: number) => void;
  const iteration =
    (
      plan: Engine.TaskPlan,
      g: Engine.GeneratorTrainer | null,
      reg: Engine.Regularizer | null,
    ): Step =>
    (i) => {
      const o = E.runIteration(plan, st, g, i, i, false, reg);
      tf.dispose([...(o.solver === null ? [] : [o.solver]), ...Object.values(o.generator)]);
    };
  const regStep =
    (reg: Engine.Regularizer): Step =>
    () => {
      E.regularizedStep(st, reg, fixed, false);
    };
  const variants: [string, Step][] = [
    ['plain solver step (MLP, 128+128 rows)', () => void st.step(fixed, false)],
    ['EWC step (same batch + penalty gradient)', regStep(regs.ewc)],
    ['online EWC step (same batch + penalty gradient)', regStep(regs.online)],
    ['SI step (same batch + penalty gradient + path integral)', regStep(regs.si)],
    [
      'SI path integral alone (same batch, penalty gradient left out)',
      regStep({ ...regs.si, addGradients: (_w, g) => g }),
    ],
    ['no-replay iteration (128 rows: batch + step)', iteration(plans.none, null, null)],
    [
      'LwF iteration (128 real + 128 LwF rows, one forward; batch, labels, step)',
      iteration(plans.lwf, null, null),
    ],
    ['GR iteration (VAE, 128+128, solver + generator)', iteration(plans.gr, vt, null)],
    ['GR + EWC iteration', iteration(plans.gr, vt, regs.ewc)],
    ['GR + LwF iteration (128 + 128 LwF + 128 replayed)', iteration(plans.grLwf, vt, null)],
  ];
  // Synchronise: read one parameter value (the native backend runs eagerly, this is cheap).
  const sync = (): void => {
    const w = solver.params.variables[0]!.read();
    w.dataSync();
    w.dispose();
  };
  const times: number[][] = variants.map(() => []);
  const warm = 3;
  let before = 0; // tensors after the warm-up rounds (caches filled)
  for (let round = 0; round < rounds + warm; round++) {
    if (round === warm) before = tf.memory().numTensors;
    variants.forEach(([, step], v) => {
      const t = performance.now();
      step(round);
      sync();
      if (round >= warm) times[v]!.push(performance.now() - t);
    });
  }
  if (tf.memory().numTensors !== before) {
    throw new Error(`method benchmark leaked ${tf.memory().numTensors - before} tensors`);
  }
  const median = (a: readonly number[]): number =>
    [...a].sort((x, y) => x - y)[a.length >> 1] ?? NaN;
  const plain = times[0]!;
  const rows = variants.map(([name], v) => ({
    name,
    ms: median(times[v]!),
    pairedRatio: median(times[v]!.map((t, i) => t / plain[i]!)),
  }));

  tf.dispose([fixed.x, fixed.targets, fixedBatch.genX, targets]);
  Object.values(plans).forEach((p) => p.dispose());
  Object.values(regs).forEach((r) => r.dispose());
  [st, vt].forEach((t) => t.dispose());
  [prev, scholar].forEach((s) => s.dispose());
  return rows;
}

const overBudget = (r: MethodRow): string =>
  `${r.name.split(' (')[0] ?? r.name} +${((r.pairedRatio - 1) * 100).toFixed(0)} %`;

/** The rows as a table, with the ≤ 25 % target of issue 12 checked for EWC, SI and LwF. */
export function formatMethodRows(rows: readonly MethodRow[]): string {
  const head = ['regularisation (paired with the plain solver step)', 'ms/iter', '× plain'];
  const table = rows.map((r) => [r.name, r.ms.toFixed(2), r.pairedRatio.toFixed(3)]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const fmt = (r: readonly string[]): string =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...table.map(fmt)];
  const over = rows.filter(
    (r) => /^(EWC|online EWC|SI|LwF) (step|iteration) /.test(r.name) && r.pairedRatio > 1.25,
  );
  lines.push(
    over.length === 0
      ? 'EWC, online EWC, SI and LwF each add ≤ 25 % to the plain solver step (paired medians).'
      : `Above the 25 % budget: ${over.map(overBudget).join(', ')}.`,
  );
  return lines.join('\n');
}
