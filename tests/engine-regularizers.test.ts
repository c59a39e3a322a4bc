/**
 * Tests of EWC, online EWC, SI (lib/engine/regularizers.ts) and LwF, and of their config
 * validation and presets (issue 12). Tiny nets, values checked against hand computations.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-node';
import {
  ConfigError,
  VAN_DE_VEN_2019,
  buildSolver,
  configWith,
  createEwc,
  createParams,
  createRegularizer,
  createSi,
  createSolverTrainer,
  diagonalFisher,
  domainSequence,
  activeOutputs,
  createScholar,
  planTask,
  presets,
  regularizedStep,
  runName,
  runNameParts,
  snapshotScholar,
  solverLoss,
  trainSequence,
  siImportance,
  validateConfig,
} from '../lib/engine';
import type {
  EwcConfig,
  ExperimentConfig,
  ParamSet,
  Solver,
  SolverBatch,
  TaskEndData,
} from '../lib/engine';
import { blobSequence, flatValues, tinyConfig } from './fixtures';

const adamCfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

async function values(t: Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

async function flat(ts: readonly Tensor[]): Promise<number[]> {
  const out: number[] = [];
  for (const t of ts) out.push(...(await values(t)));
  return out;
}

function close(a: readonly number[], b: readonly number[], tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  a.forEach((v, i) => {
    const w = b[i] as number;
    assert.ok(Math.abs(v - w) <= tol * Math.max(1, Math.abs(w)), `${what}[${i}]: ${v} vs ${w}`);
  });
}

/** Softmax of a JS vector (doubles). */
function softmax(z: readonly number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * A linear softmax classifier x [2] → 2 logits (MLP with no hidden layer), parameters
 * [W (2×2) row-major, b (2)] set to `w`.
 */
function linearSolver(w: readonly number[]): Solver {
  const s = buildSolver({ kind: 'mlp', hidden: [], init: 'torch', optimizer: adamCfg }, [2], 2, 3);
  s.params.assignFlat(tf.tensor1d(w as number[]));
  return s;
}

/** Per-example gradient of −log p(y|x) of the linear model, by hand: [x ⊗ (p − e_y), p − e_y]. */
function handGrad(w: readonly number[], x: readonly number[], y: number): number[] {
  const z = [0, 1].map(
    (j) =>
      (x[0] as number) * (w[j] as number) +
      (x[1] as number) * (w[2 + j] as number) +
      (w[4 + j] as number),
  );
  const d = softmax(z).map((p, j) => p - (j === y ? 1 : 0));
  return [x[0]! * d[0]!, x[0]! * d[1]!, x[1]! * d[0]!, x[1]! * d[1]!, d[0]!, d[1]!];
}

function taskData(xs: number[][], ys: number[], seed = 1): TaskEndData {
  return {
    x: tf.tensor2d(xs),
    targets: tf.oneHot(tf.tensor1d(ys, 'int32'), 2).toFloat() as Tensor2D,
    mask: null,
    seed,
  };
}

function disposeData(d: TaskEndData): void {
  tf.dispose([d.x, d.targets]);
}

const ewc = (patch: Partial<EwcConfig> = {}): EwcConfig => ({
  kind: 'ewc',
  lambda: 3,
  online: false,
  gamma: 1,
  fisherLabels: 'empirical',
  fisherExamples: 'all',
  ...patch,
});

test('EWC: Fisher, penalty and gradient equal the hand-computed values on a tiny net', async () => {
  const theta1 = [0.3, -0.2, 0.5, 0.1, 0.05, -0.1];
  const theta2 = [-0.4, 0.6, 0.2, -0.3, 0.2, 0.0];
  const theta = [0.1, 0.1, -0.2, 0.4, -0.05, 0.3];
  const xs1 = [
    [1, 2],
    [0.5, -1],
    [-1.5, 0.3],
  ];
  const ys1 = [0, 1, 1];
  const xs2 = [
    [0.2, 0.7],
    [2, -0.4],
  ];
  const ys2 = [1, 0];
  const handFisher = (w: number[], xs: number[][], ys: number[]): number[] => {
    const f = new Array<number>(6).fill(0);
    xs.forEach((x, n) =>
      handGrad(w, x, ys[n] as number).forEach(
        (g, i) => (f[i] = (f[i] as number) + (g * g) / xs.length),
      ),
    );
    return f;
  };
  const F1 = handFisher(theta1, xs1, ys1);
  const F2 = handFisher(theta2, xs2, ys2);
  for (const online of [false, true]) {
    const gamma = online ? 0.7 : 1;
    const solver = linearSolver(theta1);
    const reg = createEwc(ewc({ online, gamma }), solver.params);
    const d1 = taskData(xs1, ys1);
    const d2 = taskData(xs2, ys2);
    try {
      const f = diagonalFisher(solver, d1, 'empirical', 'all');
      close(await flat(f), F1, 1e-5, 'Fisher of task 1');
      tf.dispose(f);
      reg.endTask(solver, d1);
      solver.params.assignFlat(tf.tensor1d(theta2));
      reg.endTask(solver, d2);
      solver.params.assignFlat(tf.tensor1d(theta));
      // Hand: offline (λ/2)·Σ_k F_k (θ − θ*_k)²; online (λ/2)·γ·F̃ (θ − θ*_2)², F̃ = γ·F_1 + F_2.
      const lam = 3;
      let pen = 0;
      const grad = new Array<number>(6).fill(0);
      for (let i = 0; i < 6; i++) {
        const t = theta[i] as number;
        if (online) {
          const ft = gamma * (F1[i] as number) + (F2[i] as number);
          pen += 0.5 * lam * gamma * ft * (t - theta2[i]!) ** 2;
          grad[i] = lam * gamma * ft * (t - theta2[i]!);
        } else {
          pen += 0.5 * lam * (F1[i]! * (t - theta1[i]!) ** 2 + F2[i]! * (t - theta2[i]!) ** 2);
          grad[i] = lam * (F1[i]! * (t - theta1[i]!) + F2[i]! * (t - theta2[i]!));
        }
      }
      const w = solver.params.read();
      const zeros = w.map((t) => tf.zerosLike(t));
      const p = reg.penalty(w);
      const g = reg.addGradients(w, zeros);
      const name = online ? 'online EWC' : 'EWC';
      close([(await values(p))[0] as number], [pen], 1e-5, `${name} penalty`);
      close(await flat(g), grad, 1e-5, `${name} gradient`);
      tf.dispose([...w, ...zeros, p, ...g]);
    } finally {
      disposeData(d1);
      disposeData(d2);
      reg.dispose();
      solver.dispose();
    }
  }
});

test('Fisher: MLP shortcut = per-example autodiff; sampled labels → the true Fisher', async () => {
  const seq = blobSequence({ numTasks: 1, classesPerTask: 3, perClass: 8, seed: 4 });
  const solver = buildSolver(
    { kind: 'mlp', hidden: [7, 5], init: 'torch', optimizer: adamCfg },
    [20],
    3,
    9,
  );
  const task = seq.tasks[0]!;
  const data: TaskEndData = {
    x: task.train.x,
    targets: tf.oneHot(tf.cast(task.train.y, 'int32'), 3).toFloat() as Tensor2D,
    mask: tf.tensor2d([[0, 0, -1e9]]),
    seed: 5,
  };
  // The same solver seen as a non-MLP: diagonalFisher takes the per-example autodiff path.
  const generic = { ...solver, config: { kind: 'cnn' } } as unknown as Solver;
  try {
    for (const labels of ['empirical', 'predicted', 'sampled'] as const) {
      const a = diagonalFisher(solver, data, labels, 10, 4);
      const b = diagonalFisher(generic, data, labels, 10, 4);
      close(await flat(a), await flat(b), 1e-4, `${labels}: shortcut vs autodiff`);
      const nonzero = (await flat(a)).filter((v) => v > 0).length;
      assert.ok(nonzero > 10, `${labels}: the Fisher is not all zero`);
      tf.dispose([...a, ...b]);
    }
    // One input repeated 4000 times: the sampled estimate → Σ_c p_c·g_c² (the true Fisher).
    const x1 = tf.tile(tf.slice(task.train.x, 0, 1), [4000, 1]);
    const one: TaskEndData = {
      ...data,
      x: x1,
      targets: tf.tile(tf.slice(data.targets, 0, 1), [4000, 1]) as Tensor2D,
    };
    const sampled = await flat(diagonalFisher(solver, one, 'sampled', 'all', 1000));
    const p = softmax(
      Array.from(await values(tf.add(solver.predict(tf.slice(task.train.x, 0, 1)), data.mask!))),
    );
    const truth = new Array<number>(sampled.length).fill(0);
    for (let c = 0; c < 2; c++) {
      const yc = tf.oneHot(tf.tensor1d([c], 'int32'), 3).toFloat() as Tensor2D;
      const fc = await flat(
        diagonalFisher(
          solver,
          { ...data, x: tf.slice(task.train.x, 0, 1), targets: yc },
          'empirical',
          'all',
        ),
      );
      fc.forEach((v, i) => (truth[i] = (truth[i] as number) + (p[c] as number) * v));
    }
    const num = sampled.reduce((a, v, i) => a + Math.abs(v - truth[i]!), 0);
    const den = truth.reduce((a, v) => a + v, 0);
    assert.ok(
      num / den < 0.1,
      `sampled Fisher within 10 % of the true Fisher (L1 ${(num / den).toFixed(3)})`,
    );
  } finally {
    tf.dispose([data.targets, data.mask!]);
    solver.dispose();
    seq.dispose();
  }
});

/** A ParamSet θ ∈ R^n (one tensor) for optimiser-free tests. */
function vectorParams(v: readonly number[]): ParamSet {
  const p = createParams(
    [{ name: 'theta', shape: [v.length], init: 'zeros', fanIn: 1, fanOut: 1 }],
    1,
  );
  p.assignFlat(tf.tensor1d(v as number[]));
  return p;
}

test('SI: importance on a quadratic loss = the closed form (→ h/(2 − ηh) converged)', async () => {
  // L(θ) = ½ Σ h_i (θ_i − θ°_i)², gradient descent θ ← θ − η·g for N steps from θ0.
  const h = [0.5, 2, 8];
  const opt = [1, -1, 0.5];
  const theta0 = [0, 0.5, 2.5];
  for (const [eta, N, xi] of [
    [0.01, 50, 0.1],
    [0.01, 3000, 1e-6],
  ] as const) {
    const params = vectorParams(theta0);
    const c = 0.7;
    const reg = createSi({ kind: 'si', c, xi }, params);
    let theta = [...theta0];
    for (let t = 0; t < N; t++) {
      const g = theta.map((v, i) => (h[i] as number) * (v - (opt[i] as number)));
      const next = theta.map((v, i) => v - eta * (g[i] as number));
      const [gT, before] = [tf.tensor1d(g), tf.tensor1d(theta)];
      reg.observeStep([gT], [before]);
      tf.dispose([gT, before]);
      theta = next;
    }
    params.assignFlat(tf.tensor1d(theta));
    reg.endTask({ params } as Solver, {} as TaskEndData);
    // ω = η Σ_t g_t² = η h² d0² (1 − a^{2N})/(1 − a²), a = 1 − ηh; Δ = d0 (a^N − 1).
    const closed = h.map((hi, i) => {
      const d0 = theta0[i]! - opt[i]!;
      const a = 1 - eta * hi;
      const omega = eta * hi * hi * d0 * d0 * ((1 - a ** (2 * N)) / (1 - a * a));
      const delta = d0 * (a ** N - 1);
      return omega / (delta * delta + xi);
    });
    const [omegaT] = siImportance(reg);
    const got = await flat([omegaT!]);
    close(got, closed, 1e-3, `SI importance (η ${eta}, N ${N}, ξ ${xi})`);
    // Converged, ξ → 0: Ω → h/(2 − ηh), i.e. half the curvature h as η → 0.
    if (xi < 1e-3)
      close(
        got,
        h.map((v) => v / (2 - eta * v)),
        1e-3,
        'converged path: Ω → h/(2 − ηh)',
      );
    // Surrogate gradient 2c·Ω·(θ − θ*), with θ* the end of the task.
    const w = [tf.tensor1d(theta.map((v) => v + 0.25))];
    const g = reg.addGradients(w, [tf.zeros([3])]);
    close(
      await flat(g),
      got.map((o) => 2 * c * o * 0.25),
      1e-4,
      'SI gradient',
    );
    tf.dispose([omegaT!, ...w, ...g]);
    reg.dispose();
    params.dispose();
  }
});

test('SI with Adam: the telescoped path integral = −Σ g ⊙ Δθ read around every step', async () => {
  // Adam updates θ in place, so the direct sum needs θ before and after each step; the
  // regulariser never reads θ after the update. Both must give the same importance Ω.
  const seq = blobSequence({ numTasks: 1, classesPerTask: 2, perClass: 16, seed: 4 });
  const task = seq.tasks[0]!;
  const targets = tf.oneHot(tf.cast(task.train.y, 'int32'), 2).toFloat() as Tensor2D;
  const solver = buildSolver(
    { kind: 'mlp', hidden: [8], init: 'torch', optimizer: adamCfg },
    [20],
    2,
    5,
  );
  const trainer = createSolverTrainer(solver);
  const c = 0.5;
  const xi = 0.1;
  const reg = createSi({ kind: 'si', c, xi }, solver.params);
  const flatOf = async (ts: readonly Tensor[]): Promise<number[]> => {
    const out = await flat(ts);
    tf.dispose(ts as Tensor[]);
    return out;
  };
  const start = await flatOf(solver.params.read());
  const omega = start.map(() => 0);
  try {
    for (let t = 0; t < 12; t++) {
      const rows = 8;
      const batch: SolverBatch = {
        x: tf.slice(task.train.x, (t * rows) % 24, rows),
        targets: tf.slice(targets, (t * rows) % 24, rows),
        weights: tf.fill([rows], 1 / rows),
        mask: null,
        invTemperature: null,
      };
      const before = await flatOf(solver.params.read());
      const { loss, grads } = trainer.gradients(batch, false);
      const g = await flat(grads);
      const w = solver.params.read();
      reg.observeStep(grads, w);
      tf.dispose(w);
      trainer.optimizer.apply(grads);
      const after = await flatOf(solver.params.read());
      g.forEach((gi, i) => (omega[i] = omega[i]! - gi * (after[i]! - before[i]!)));
      tf.dispose([...grads, batch.x, batch.targets, batch.weights]);
      if (loss !== null) loss.dispose();
    }
    const end = await flatOf(solver.params.read());
    reg.endTask(solver, {} as TaskEndData);
    const [imp] = siImportance(reg);
    const got = await flat([imp!]);
    imp!.dispose();
    const want = omega.map((o, i) => o / ((end[i]! - start[i]!) ** 2 + xi));
    const scale = Math.max(...want.map(Math.abs));
    assert.ok(scale > 0, 'the steps moved the parameters');
    close(got, want, 1e-4 * scale, 'Ω from the telescoped sum vs the direct path integral');
  } finally {
    reg.dispose();
    solver.dispose();
    targets.dispose();
    seq.dispose();
  }
});

test('regularised steps: no tensor leaked per iteration; state survives a round trip', async () => {
  const seq = blobSequence({ numTasks: 1, classesPerTask: 2, perClass: 16, seed: 2 });
  const task = seq.tasks[0]!;
  const data: TaskEndData = {
    x: task.train.x,
    targets: tf.oneHot(tf.cast(task.train.y, 'int32'), 2).toFloat() as Tensor2D,
    mask: null,
    seed: 3,
  };
  const batch: SolverBatch = {
    x: tf.slice(task.train.x, 0, 8),
    targets: tf.slice(data.targets, 0, 8),
    weights: tf.fill([8], 1 / 8),
    mask: null,
    invTemperature: null,
  };
  try {
    for (const cfg of [
      ewc(),
      ewc({ online: true, gamma: 0.9, fisherLabels: 'sampled', fisherExamples: 5 }),
      { kind: 'si', c: 1, xi: 0.1 } as const,
    ]) {
      const solver = buildSolver(
        { kind: 'mlp', hidden: [16], init: 'torch', optimizer: adamCfg },
        [20],
        2,
        1,
      );
      const trainer = createSolverTrainer(solver);
      const reg = createRegularizer(cfg, solver.params)!;
      try {
        const run = (needLoss: boolean): void => {
          const r = regularizedStep(trainer, reg, batch, needLoss);
          tf.dispose([r.loss, r.penalty].filter((t): t is NonNullable<typeof t> => t !== null));
        };
        for (const phase of ['first task', 'later task']) {
          run(true);
          run(false);
          const before = tf.memory().numTensors;
          for (let i = 0; i < 10; i++) run(i % 2 === 0);
          assert.equal(
            tf.memory().numTensors,
            before,
            `${cfg.kind} (${phase}): tensors leaked per iteration`,
          );
          reg.endTask(solver, data);
        }
        run(false); // one step away from θ*
        const s = reg.state();
        const copy = createRegularizer(cfg, solver.params)!;
        copy.restore(s, 'test');
        const w = solver.params.read();
        const a = reg.penalty(w);
        const b = copy.penalty(w);
        assert.ok((await values(a))[0]! > 0, `${cfg.kind}: penalty after a step away from θ*`);
        assert.equal((await values(b))[0], (await values(a))[0], `${cfg.kind}: restored penalty`);
        tf.dispose([...Object.values(s), ...w, a, b]);
        copy.dispose();
      } finally {
        reg.dispose();
        trainer.dispose();
        solver.dispose();
      }
    }
  } finally {
    tf.dispose([data.targets, batch.x, batch.targets, batch.weights]);
    seq.dispose();
  }
});

test('config: presets carry van de Ven & Tolias (2019) values; bad values name the field', () => {
  const cls = presets.splitMnistRegularized('ewc');
  assert.equal(validateConfig(cls), cls);
  assert.deepEqual(cls.regularizer, {
    kind: 'ewc',
    lambda: 1e8,
    online: false,
    gamma: 1,
    fisherLabels: 'predicted',
    fisherExamples: 'all',
  });
  assert.equal(cls.replay.mode, 'none');
  const oewc = presets.splitMnistRegularized('online-ewc', 'task');
  assert.deepEqual(
    [oewc.scenario, (oewc.regularizer as EwcConfig).lambda, (oewc.regularizer as EwcConfig).gamma],
    ['task', 1e8, 0.8],
  );
  assert.deepEqual(presets.splitMnistRegularized('si', 'domain').regularizer, {
    kind: 'si',
    c: 500,
    xi: 0.1,
  });
  assert.deepEqual(
    presets.permutedMnistRegularized('online-ewc').regularizer,
    presets.regularizer('online-ewc', 'permMNIST', 'domain'),
  );
  assert.equal(
    (presets.permutedMnistRegularized('si').regularizer as { c: number }).c,
    VAN_DE_VEN_2019.permMNIST.domain.si,
  );
  const lwfGr = presets.splitMnistLwf('class', 'generative');
  assert.deepEqual(
    [lwfGr.lwf, lwfGr.replay.mode, lwfGr.generator?.kind],
    [{ temperature: 2 }, 'generative', 'vae'],
  );
  for (const p of [cls, oewc, lwfGr, presets.splitMnistRegularized('si', 'class', 'generative')]) {
    validateConfig(p);
    assert.deepEqual(
      JSON.parse(JSON.stringify(p)),
      p,
      'JSON round trip (checkpoints record the config)',
    );
    assert.ok(Object.isFrozen(p.regularizer ?? p.lwf));
  }
  const base = tinyConfig(5);
  const bad: [unknown, RegExp][] = [
    [
      { regularizer: { ...ewc(), lambda: -1 } },
      /config\.regularizer\.lambda: must be a positive number/,
    ],
    [
      { regularizer: { ...ewc(), gamma: 1.5 } },
      /config\.regularizer\.gamma: γ must be in \(0, 1\]/,
    ],
    [
      { regularizer: { ...ewc(), fisherLabels: 'true' } },
      /config\.regularizer\.fisherLabels: unknown "true"/,
    ],
    [
      { regularizer: { ...ewc(), fisherExamples: 0 } },
      /config\.regularizer\.fisherExamples: must be a positive integer/,
    ],
    [{ regularizer: { ...ewc(), online: 'yes' } }, /config\.regularizer\.online/],
    [
      { regularizer: { kind: 'si', c: 1, xi: 0 } },
      /config\.regularizer\.xi: must be a positive number/,
    ],
    [{ regularizer: { kind: 'si', c: Number.NaN, xi: 0.1 } }, /config\.regularizer\.c/],
    [
      { regularizer: { kind: 'mas', c: 1 } },
      /config\.regularizer\.kind: unknown regulariser "mas"/,
    ],
    [{ lwf: { temperature: 0 } }, /config\.lwf\.temperature: must be a positive number/],
    [
      { regularizer: { ...ewc(), lamda: 1 } },
      /config\.regularizer\.lamda: unknown setting; did you mean lambda\?/,
    ],
    [{ lwf: { temperature: 2, T: 2 } }, /config\.lwf\.T: unknown setting/],
    [{ lwf: 2 }, /config\.lwf: must be \{temperature\} or null/],
  ];
  for (const [patch, re] of bad) {
    const cfg = configWith(base, patch as Parameters<typeof configWith>[1]);
    assert.throws(
      () => validateConfig(cfg),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
      `expected ${re}`,
    );
  }
  validateConfig(configWith(base, { regularizer: null, lwf: null }));
});

test(
  'svhnMnistLwf: the §4.2 domain experiment with LwF, ' + 'alone or with WGAN-GP replay; validated',
  async () => {
    const alone = presets.svhnMnistLwf();
    const withGr = presets.svhnMnistLwf('generative');
    const dgr = presets.svhnMnistDGR();
    assert.deepEqual(
      [alone.lwf, alone.replay.mode, alone.generator, alone.solver],
      [{ temperature: VAN_DE_VEN_2019.lwfTemperature }, 'none', null, dgr.solver],
    );
    assert.deepEqual(
      [withGr.lwf, withGr.replay.mode, withGr.generator, withGr.scenario],
      [{ temperature: 2 }, 'generative', dgr.generator, 'domain'],
    );
    for (const p of [alone, withGr]) {
      assert.equal(validateConfig(p), p);
      assert.ok(Object.isFrozen(p) && Object.isFrozen(p.lwf));
    }
    // Checked against the sequence like every config: 32×32×3 images fit, flat inputs do not.
    const split = (n: number, shape: [number, number, number], seed: number) => ({
      count: n,
      shape,
      images: Uint8Array.from(
        { length: n * shape[0] * shape[1] * shape[2] },
        (_, i) => (i * seed) % 256,
      ),
      labels: Uint8Array.from({ length: n }, (_, i) => (i * seed) % 10),
      numClasses: 10,
    });
    const domain = (name: string, seed: number) => ({
      name,
      train: split(12, [32, 32, 3], seed),
      test: split(6, [32, 32, 3], seed + 1),
    });
    const before = tf.memory().numTensors;
    const seq = domainSequence([domain('a', 3), domain('b', 7)], { name: 'a_to_b' });
    const flat = blobSequence({ numTasks: 2, classesPerTask: 2, perClass: 4, scenario: 'domain' });
    try {
      assert.throws(
        () => validateConfig(withGr, flat),
        (e: Error) => e instanceof ConfigError && /config\.solver: a 'cnn' solver/.test(e.message),
      );
      const small = configWith(withGr, {
        iterations: 2,
        batchSize: 4,
        replay: { batchSize: 4 },
        solver: { channels: [4, 8], hidden: 8 },
        generator: { hidden: [4, 8], criticSteps: 1 },
      });
      const r = await trainSequence(seq, small, { progress: false });
      r.scholar.dispose();
      assert.equal(r.accuracy.length, 2);
      assert.match(runName(runNameParts(small, seq)), /^a_to_b-domain-gr_lwf-wgangp_dcgan-/);
    } finally {
      seq.dispose();
      flat.dispose();
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  },
);

// ------------------------------------------------------------------------------------ LwF

test('LwF: loss = r·CE on the current batch + (1−r)·T²·distillation on its inputs', async () => {
  for (const scenario of ['class', 'task'] as const) {
    const seq = blobSequence({ numTasks: 3, classesPerTask: 2, perClass: 16, scenario, seed: 8 });
    const T = 3;
    const cfg = configWith(tinyConfig(5), {
      scenario,
      generator: null,
      batchSize: 6,
      replay: { mode: 'none' },
      lwf: { temperature: T },
    });
    const C = seq.numOutputs;
    const teacher = createScholar(null, buildSolver(cfg.solver, [20], C, 1));
    const prev = snapshotScholar(teacher);
    const student = buildSolver(cfg.solver, [20], C, 2);
    const k = 2;
    const plan = planTask(cfg, seq, k, prev, false);
    const b = plan.build(1).solver;
    try {
      const B = 6;
      // B real rows; B LwF rows that reuse their inputs (the solver runs on x once).
      assert.deepEqual([b.x.shape[0], b.targets.shape[0], b.repeatFirst], [B, 2 * B, B], scenario);
      const xReal = b.x;
      // By hand: masks of the new solver and of the teacher, row by row.
      const rowMask = (active: readonly number[]): number[] =>
        Array.from({ length: C }, (_, c) => (active.includes(c) ? 0 : -1e9));
      const now = rowMask(activeOutputs(seq, k, 'train'));
      const old = (i: number): number[] =>
        scenario === 'class'
          ? rowMask(activeOutputs(seq, k - 1, 'train'))
          : rowMask(activeOutputs(seq, Math.floor((i * k) / B), 'train'));
      const studentMask = tf.tensor2d(Array.from({ length: B }, () => now));
      const oldMask = tf.tensor2d(Array.from({ length: B }, (_, i) => old(i)));
      const r = 1 / (k + 1);
      const zS = student.predict(xReal);
      const ce = tf.mean(
        tf.neg(
          tf.sum(tf.mul(tf.slice(b.targets, 0, B), tf.logSoftmax(tf.add(zS, studentMask))), 1),
        ),
      );
      const pT = tf.softmax(tf.div(tf.add(prev.solver.predict(xReal), oldMask), T));
      // Task-IL: the student's LwF rows use the teacher's head, like replayed rows.
      const sMaskLwf = scenario === 'class' ? studentMask : oldMask;
      const logQ = tf.logSoftmax(tf.div(tf.add(zS, sMaskLwf), T));
      const distill = tf.mean(tf.neg(tf.sum(tf.mul(pT, logQ), 1)));
      const expected = r * (await values(ce))[0]! + (1 - r) * T * T * (await values(distill))[0]!;
      const w = student.params.read();
      const got = solverLoss(student, w, b);
      close([(await values(got))[0]!], [expected], 1e-5, `${scenario}: LwF loss`);
      // The shared forward gives the loss and gradients of the batch with the rows written out.
      const explicit: SolverBatch = { ...b, x: tf.concat([xReal, xReal], 0), repeatFirst: 0 };
      const trainer = createSolverTrainer(student);
      const shared = trainer.gradients(b);
      const full = trainer.gradients(explicit);
      close([(await values(shared.loss))[0]!], [expected], 1e-5, `${scenario}: hand backprop loss`);
      close(await flat(shared.grads), await flat(full.grads), 1e-5, `${scenario}: gradients`);
      trainer.dispose();
      tf.dispose([studentMask, oldMask, zS, ce, pT, logQ, distill, got, ...w, explicit.x]);
      tf.dispose([shared.loss, full.loss, ...shared.grads, ...full.grads]);
    } finally {
      tf.dispose([b.x, b.targets]);
      plan.dispose();
      [prev, teacher].forEach((s) => s.dispose());
      student.dispose();
      seq.dispose();
    }
  }
});

test('LwF + GR: the (1−r) share is split between LwF and replayed rows', async () => {
  const seq = blobSequence({ numTasks: 2, classesPerTask: 2, perClass: 16, seed: 8 });
  const cfg = configWith(tinyConfig(5), {
    batchSize: 4,
    replay: { batchSize: 3 },
    lwf: { temperature: 2 },
  });
  const live = createScholar(
    (await import('../lib/engine')).buildGenerator(cfg.generator!, [20], 1),
    buildSolver(cfg.solver, [20], 4, 1),
  );
  const prev = snapshotScholar(live);
  const plan = planTask(cfg, seq, 1, prev, true);
  const it = plan.build(1);
  try {
    const w = Array.from(await values(it.solver.weights));
    const r = 0.5;
    const want = [
      ...new Array<number>(4).fill(r / 4),
      ...new Array<number>(3).fill((0.5 * (1 - r)) / 3),
      ...new Array<number>(4).fill((0.5 * (1 - r) * 4) / 4),
    ];
    close(w, want, 1e-6, 'row weights [real ; replayed ; LwF ×T²]');
    assert.equal(it.solver.x.shape[0], 7, 'x = [real ; replayed]; LwF rows reuse the real inputs');
    assert.equal(it.solver.repeatFirst, 4);
    assert.equal(it.genX.shape[0], 7, 'the generator sees real and replayed rows');
    const invT = Array.from(await values(it.solver.invTemperature!));
    assert.deepEqual(invT, [1, 1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]);
    // Shared forward with replayed rows in between: the gradients of the written-out batch.
    const xs = it.solver.x;
    const explicit: SolverBatch = {
      ...it.solver,
      x: tf.concat([xs, tf.slice(xs, 0, 4)], 0),
      repeatFirst: 0,
    };
    const trainer = createSolverTrainer(live.solver);
    const shared = trainer.gradients(it.solver);
    const full = trainer.gradients(explicit);
    close([(await values(shared.loss))[0]!], [(await values(full.loss))[0]!], 1e-5, 'loss');
    close(await flat(shared.grads), await flat(full.grads), 1e-5, 'gradients');
    trainer.dispose();
    tf.dispose([explicit.x, shared.loss, full.loss, ...shared.grads, ...full.grads]);
  } finally {
    tf.dispose([...new Set([it.solver.x, it.solver.targets, it.genX])]);
    plan.dispose();
    [prev, live].forEach((s) => s.dispose());
    seq.dispose();
  }
});

// ------------------------------------------------------------------------------------ trainer

test('trainSequence: EWC, online EWC, SI, LwF, + GR: no leaks; same seed, same R', async () => {
  const base = configWith(tinyConfig(12), { generator: null, replay: { mode: 'none' } });
  const gr = tinyConfig(12);
  const ewcReg = { ...ewc({ lambda: 100, fisherLabels: 'sampled' as const, fisherExamples: 20 }) };
  const cases: [string, ExperimentConfig, string][] = [
    ['EWC', configWith(base, { regularizer: ewcReg }), 'ewc'],
    [
      'online EWC',
      configWith(base, {
        regularizer: ewc({ online: true, gamma: 0.9, fisherLabels: 'predicted' }),
      }),
      'oewc',
    ],
    ['SI', configWith(base, { regularizer: { kind: 'si', c: 1, xi: 0.1 } }), 'si'],
    ['LwF', configWith(base, { lwf: { temperature: 2 } }), 'lwf'],
    ['LwF + GR', configWith(gr, { lwf: { temperature: 2 } }), 'gr_lwf'],
    ['EWC + GR', configWith(gr, { regularizer: ewc({ fisherLabels: 'empirical' }) }), 'gr_ewc'],
    [
      'SI task-IL',
      configWith(base, { scenario: 'task', regularizer: { kind: 'si', c: 1, xi: 0.1 } }),
      'si',
    ],
    ['LwF task-IL', configWith(base, { scenario: 'task', lwf: { temperature: 2 } }), 'lwf'],
  ];
  for (const [name, cfg, method] of cases) {
    validateConfig(cfg);
    const seq = blobSequence({ numTasks: 3, perClass: 16, scenario: cfg.scenario, seed: 123 });
    try {
      const parts = runNameParts(cfg, seq);
      assert.equal(parts.method, method, `${name}: run name method`);
      runName(parts);
      const before = tf.memory().numTensors;
      const a = await trainSequence(seq, cfg, {
        progress: { everySeconds: 0, write: () => undefined },
      });
      a.scholar.dispose();
      assert.equal(
        tf.memory().numTensors,
        before,
        `${name}: trainSequence leaked ${tf.memory().numTensors - before} tensors`,
      );
      const bad = a.losses.find((l) => Object.values(l.losses).some((v) => !Number.isFinite(v)));
      assert.equal(bad, undefined, `${name}: finite losses`);
      if (cfg.regularizer) {
        const kind = cfg.regularizer.kind;
        assert.ok(
          a.losses.some((l) => l.task === 0 && !(kind in l.losses)),
          `${name}: no penalty on task 1`,
        );
        assert.ok(
          a.losses.some((l) => l.task === 2 && (l.losses[kind] ?? 0) > 0),
          `${name}: penalty logged later`,
        );
      }
      const b = await trainSequence(seq, cfg, { progress: false });
      b.scholar.dispose();
      assert.deepEqual(b.accuracy, a.accuracy, `${name}: same seed, same accuracy matrix`);
    } finally {
      seq.dispose();
    }
  }
});

test('trainSequence: EWC or SI resumed from a checkpoint = the uninterrupted run', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-reg-'));
  const base = configWith(tinyConfig(10), { generator: null, replay: { mode: 'none' } });
  const seq = blobSequence({ numTasks: 3, perClass: 16, seed: 123 });
  try {
    for (const reg of [ewc({ lambda: 1000 }), { kind: 'si', c: 10, xi: 0.1 } as const]) {
      const cfg = configWith(base, { regularizer: reg });
      const full = await trainSequence(seq, cfg, { progress: false });
      const fullParams = await flatValues(full.scholar.solver.params);
      full.scholar.dispose();
      const ckdir = path.join(dir, reg.kind);
      const part = await trainSequence(seq, cfg, {
        progress: false,
        checkpointDir: ckdir,
        stopAfterTask: 0,
      });
      part.scholar.dispose();
      const resumed = await trainSequence(seq, cfg, { progress: false, checkpointDir: ckdir });
      const resumedParams = await flatValues(resumed.scholar.solver.params);
      resumed.scholar.dispose();
      assert.equal(resumed.resumedTasks, 1);
      // Tasks 2 and 3 need the restored Fisher/Ω and anchors: same weights, bit for bit.
      assert.deepEqual(resumedParams, fullParams, `${reg.kind}: resumed weights = uninterrupted`);
      assert.deepEqual(resumed.accuracy, full.accuracy, `${reg.kind}: resumed = uninterrupted`);
    }
  } finally {
    seq.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
