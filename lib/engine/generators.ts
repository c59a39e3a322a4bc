/**
 * Generators G of the scholar ⟨G, S⟩ behind one interface: train on a batch,
 * sample n.
 *
 * - WGAN-GP (Gulrajani et al. 2017), the generator of the DGR paper (Shin et
 *   al. 2017, §4): critic and generator, gradient penalty λ‖∇ₓ̂ D(x̂)‖−1)², a
 *   configurable number of critic steps per generator step; an MLP variant and
 *   a DCGAN-style conv variant (transposed-conv G, strided-conv critic, no
 *   batch norm in the critic as the penalty requires). Training steps run
 *   hand-written forward/backward passes with native ops, the penalty's
 *   second-order term included (criticBackprop); tf.js autodiff stays as the
 *   reference they are tested against.
 * - VAE (Kingma & Welling 2014), which the paper allows ("any deep generative
 *   model") and later benchmarks (van de Ven & Tolias 2019) use because it is
 *   cheaper and stabler: fully connected encoder/decoder, Bernoulli decoder,
 *   loss = mean-over-pixels BCE + KL / #pixels, as in van de Ven's code.
 *
 * Inputs and samples are [n, ...inputShape] in [0, 1]. Every random draw takes
 * an explicit seed (see rng.ts), so training and sampling are reproducible.
 */
import { tf } from '../tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import type { GeneratorConfig, VaeConfig, WganGpConfig } from './config';
import {
  Adam,
  ParamSet,
  ParamSpec,
  cloneParams,
  convSpecs,
  createAdam,
  createParams,
  dense,
  denseMacs,
  denseSpecs,
  leakyRelu,
} from './nn';
import {
  biasAdd,
  biasAddGrad,
  concat,
  ew,
  matMul,
  reluGrad,
  split,
  statelessNormal,
  statelessUniform,
} from './native';
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput, leakyReluGrad } from './native';
import { leakyRelu as nLeakyRelu, reshape, sigmoidGrad, sqrt, sum } from './native';
import { deriveSeed } from '../rng';

export interface Generator {
  readonly config: GeneratorConfig;
  /** Shape of one sample, e.g. [784] or [32, 32, 3]. */
  readonly inputShape: readonly number[];
  /** False for a frozen snapshot (which holds only what sampling needs). */
  readonly trainable: boolean;
  /**
   * Parameter sets by name: VAE {encoder, decoder}, WGAN-GP {generator, critic}; a snapshot only
   * the sampling one.
   */
  readonly params: Readonly<Record<string, ParamSet>>;
  /** n samples [n, ...inputShape] in [0, 1], noise drawn from `seed`. */
  sample(n: number, seed: number): Tensor;
  /** Multiply-accumulates per example of the named sub-network forward passes (for GFLOP/s). */
  readonly macs: Readonly<Record<string, number>>;
  dispose(): void;
}

/** Losses of one generator training step (kept scalars; dispose them). */
export type GeneratorLosses = Readonly<Record<string, Scalar>>;

export interface GeneratorTrainer {
  readonly generator: Generator;
  readonly optimizers: Readonly<Record<string, Adam>>;
  /**
   * One training step on real batch x [B, ...inputShape] with row weights
   * [B] summing to 1 (null = uniform); `seed` drives this step's noise.
   * WGAN-GP: `criticSteps` critic updates on x, then one generator update.
   * With `needLoss` false a VAE skips its loss ops and returns {} (WGAN-GP
   * always returns its losses).
   */
  step(x: Tensor, weights: Tensor1D | null, seed: number, needLoss?: boolean): GeneratorLosses;
  dispose(): void;
}

function flatSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Standard normal noise [n, dim] from `seed` (generated natively). */
function noise(n: number, dim: number, seed: number): Tensor2D {
  return statelessNormal([n, dim], seed) as Tensor2D;
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`Generator.sample: n must be a positive integer, got ${n}`);
}

function checkBatch(x: Tensor, inputShape: readonly number[], what: string): void {
  const want = inputShape.join(',');
  const ok =
    x.shape.slice(1).join(',') === want || (x.rank === 2 && x.shape[1] === flatSize(inputShape));
  if (!ok)
    throw new Error(
      `${what}: batch shape [${x.shape.join(', ')}] does not match the model's ` +
        `input shape [${want}]`,
    );
}

// --------------------------------------------------------------------------------------------- VAE

/**
 * Per-example VAE loss [B] (van de Ven: mean BCE over pixels + KL/#pixels),
 * with tf.js ops (differentiable): the reference the hand-written backward
 * pass is tested against.
 */
export function vaeLossPerExample(
  encW: readonly Tensor[],
  decW: readonly Tensor[],
  x2: Tensor2D,
  eps: Tensor2D,
): Tensor1D {
  const nEnc = encW.length / 2 - 1;
  const nDec = decW.length / 2;
  const latent = eps.shape[1];
  let h: Tensor = x2;
  for (let l = 0; l < nEnc; l++)
    h = dense(h, encW[2 * l] as Tensor, encW[2 * l + 1] as Tensor, 'relu');
  const stats = dense(h, encW[2 * nEnc] as Tensor, encW[2 * nEnc + 1] as Tensor, 'linear');
  const [mu, logvar] = tf.split(stats, [latent, latent], 1) as [Tensor2D, Tensor2D];
  const z = tf.add(mu, tf.mul(eps, tf.exp(tf.mul(logvar, 0.5))));
  let a: Tensor = z;
  for (let l = 0; l < nDec; l++)
    a = dense(
      a,
      decW[2 * l] as Tensor,
      decW[2 * l + 1] as Tensor,
      l === nDec - 1 ? 'linear' : 'relu',
    );
  return vaeLossTerms(x2, a, mu, logvar);
}

/** recon_i + KL_i from decoder logits `a`, μ and log σ² (tf.js ops). */
function vaeLossTerms(x2: Tensor, a: Tensor, mu: Tensor, logvar: Tensor): Tensor1D {
  const d = x2.shape[1] as number;
  // BCE(sigmoid(a), x) = softplus(a) − x·a, averaged over pixels
  const recon = tf.mean(tf.sub(tf.softplus(a), tf.mul(x2, a)), 1);
  const kl = tf.mul(
    tf.sum(tf.sub(tf.add(tf.exp(logvar), tf.square(mu)), tf.add(logvar, 1)), 1),
    0.5 / d,
  );
  return tf.add(recon, kl) as Tensor1D;
}

/** Decoder with native ops: z [n, latent] → probabilities [n, D]. */
function decodeFast(decW: readonly Tensor[], z: Tensor): Tensor2D {
  const nDec = decW.length / 2;
  let h = z;
  for (let l = 0; l < nDec; l++) {
    h = biasAdd(matMul(h, decW[2 * l] as Tensor), decW[2 * l + 1] as Tensor);
    h = ew(l === nDec - 1 ? 'Sigmoid' : 'Relu', h);
  }
  return h as Tensor2D;
}

/**
 * Loss (optional) and gradients of Σ_i w_i·(recon_i + KL_i) w.r.t. the
 * encoder and decoder tensors, by hand (reparameterisation z = μ + ε·σ):
 *   ∂/∂a = w/D·(sigmoid(a) − x);  ∂/∂μ = ∂z + w/D·μ;  ∂/∂logσ² = ½·∂z·ε·σ + ½·w/D·(σ² − 1).
 * `wcol` [B, 1] holds the row weights w_i.
 */
function vaeBackprop(
  encW: readonly Tensor[],
  decW: readonly Tensor[],
  x2: Tensor2D,
  eps: Tensor2D,
  wcol: Tensor2D,
  needLoss: boolean,
): { loss: Scalar | null; enc: Tensor[]; dec: Tensor[] } {
  const nEnc = encW.length / 2 - 1;
  const nDec = decW.length / 2;
  const latent = eps.shape[1];
  const d = x2.shape[1];
  const half = tf.scalar(0.5);
  const one = tf.scalar(1);
  const hs: Tensor[] = [x2];
  let h: Tensor = x2;
  for (let l = 0; l < nEnc; l++) {
    h = ew('Relu', biasAdd(matMul(h, encW[2 * l] as Tensor), encW[2 * l + 1] as Tensor));
    hs.push(h);
  }
  const stats = biasAdd(matMul(h, encW[2 * nEnc] as Tensor), encW[2 * nEnc + 1] as Tensor);
  const [mu, logvar] = split(stats, [latent, latent], 1) as [Tensor2D, Tensor2D];
  const std = ew('Exp', ew('Mul', logvar, half));
  const epsStd = ew('Mul', eps, std);
  const gs: Tensor[] = [ew('AddV2', mu, epsStd)];
  let g: Tensor = gs[0] as Tensor;
  for (let l = 0; l < nDec; l++) {
    g = biasAdd(matMul(g, decW[2 * l] as Tensor), decW[2 * l + 1] as Tensor);
    if (l < nDec - 1) g = ew('Relu', g);
    gs.push(g);
  }
  const a = g;
  const loss = needLoss
    ? (tf.sum(tf.mul(vaeLossTerms(x2, a, mu, logvar), tf.reshape(wcol, [-1]))) as Scalar)
    : null;
  const wD = ew('RealDiv', wcol, tf.scalar(d));
  const dec: Tensor[] = new Array<Tensor>(2 * nDec);
  let dc: Tensor = ew('Mul', ew('Sub', ew('Sigmoid', a), x2), wD);
  let dz: Tensor = dc;
  for (let l = nDec - 1; l >= 0; l--) {
    dec[2 * l] = matMul(gs[l] as Tensor, dc, true, false);
    dec[2 * l + 1] = biasAddGrad(dc);
    const back = matMul(dc, decW[2 * l] as Tensor, false, true);
    if (l > 0) dc = reluGrad(back, gs[l] as Tensor);
    else dz = back;
  }
  const dmu = ew('AddV2', dz, ew('Mul', mu, wD));
  const dlogvar = ew(
    'AddV2',
    ew('Mul', ew('Mul', dz, epsStd), half),
    ew('Mul', ew('Sub', ew('Square', std), one), ew('Mul', wD, half)),
  );
  let dh: Tensor = concat([dmu, dlogvar], 1);
  const enc: Tensor[] = new Array<Tensor>(2 * (nEnc + 1));
  for (let l = nEnc; l >= 0; l--) {
    enc[2 * l] = matMul(hs[l] as Tensor, dh, true, false);
    enc[2 * l + 1] = biasAddGrad(dh);
    if (l > 0) dh = reluGrad(matMul(dh, encW[2 * l] as Tensor, false, true), hs[l] as Tensor);
  }
  return { loss, enc, dec };
}

function makeVae(
  config: VaeConfig,
  inputShape: readonly number[],
  params: Record<string, ParamSet>,
  trainable: boolean,
): Generator {
  const d = flatSize(inputShape);
  const encSizes = [d, ...config.hidden];
  const decSizes = [config.latent, ...[...config.hidden].reverse(), d];
  const decoder = params.decoder as ParamSet;
  const frozenW = trainable ? null : tf.tidy(() => decoder.read());
  return Object.freeze({
    config,
    inputShape: Object.freeze([...inputShape]),
    trainable,
    params: Object.freeze(params),
    macs: Object.freeze({
      encoder:
        denseMacs(encSizes) +
        (config.hidden[config.hidden.length - 1] as number) * 2 * config.latent,
      decoder: denseMacs(decSizes),
    }),
    sample(n: number, seed: number): Tensor {
      checkN(n);
      return tf.tidy(() => {
        const p = decodeFast(frozenW ?? decoder.read(), noise(n, config.latent, seed));
        return inputShape.length === 1 ? p : tf.reshape(p, [n, ...inputShape]);
      });
    },
    dispose(): void {
      if (frozenW !== null) tf.dispose(frozenW);
      for (const p of Object.values(params)) p.dispose();
    },
  });
}

/**
 * VAE: encoder D → hidden… → (μ, log σ²) ∈ R^latent; decoder latent → reversed hidden… → D
 * (sigmoid).
 */
export function buildVae(
  config: VaeConfig,
  inputShape: readonly number[],
  seed: number,
): Generator {
  const d = flatSize(inputShape);
  const enc: ParamSpec[] = [];
  const encSizes = [d, ...config.hidden];
  for (let i = 1; i < encSizes.length; i++)
    enc.push(
      ...denseSpecs(`enc${i}`, encSizes[i - 1] as number, encSizes[i] as number, config.init),
    );
  enc.push(
    ...denseSpecs(
      'toZ',
      config.hidden[config.hidden.length - 1] as number,
      2 * config.latent,
      config.init,
    ),
  );
  const decSizes = [config.latent, ...[...config.hidden].reverse(), d];
  const dec: ParamSpec[] = [];
  for (let i = 1; i < decSizes.length; i++)
    dec.push(
      ...denseSpecs(`dec${i}`, decSizes[i - 1] as number, decSizes[i] as number, config.init),
    );
  return makeVae(
    config,
    inputShape,
    {
      encoder: createParams(enc, deriveSeed(seed, 'encoder')),
      decoder: createParams(dec, deriveSeed(seed, 'decoder')),
    },
    true,
  );
}

/** A VAE trainer, plus the gradient computation by hand or by autodiff (for tests). */
export interface VaeTrainer extends GeneratorTrainer {
  /**
   * Loss and gradients {encoder, decoder} for batch x with noise from `seed`; nothing is updated.
   */
  gradients(
    x: Tensor,
    weights: Tensor1D | null,
    seed: number,
    method: 'manual' | 'autodiff',
  ): { loss: Scalar; encoder: Tensor[]; decoder: Tensor[] };
}

export function createVaeTrainer(gen: Generator): VaeTrainer {
  if (gen.config.kind !== 'vae')
    throw new Error(`createVaeTrainer: generator is a '${gen.config.kind}', not 'vae'`);
  if (!gen.trainable) throw new Error('createVaeTrainer: this generator is a frozen snapshot');
  const config = gen.config;
  const encoder = gen.params.encoder as ParamSet;
  const decoder = gen.params.decoder as ParamSet;
  const d = flatSize(gen.inputShape);
  const optE = createAdam(encoder, config.optimizer);
  const optD = createAdam(decoder, config.optimizer);
  // Row weights as a [B, 1] column, cached while the caller passes the same weights tensor
  // (per task).
  let key: Tensor1D | number | null = null;
  let wcol: Tensor2D | null = null;
  const colOf = (weights: Tensor1D | null, b: number): Tensor2D => {
    const k = weights ?? b;
    if (k !== key || wcol === null || wcol.isDisposed) {
      wcol?.dispose();
      wcol =
        weights === null
          ? (tf.fill([b, 1], 1 / b) as Tensor2D)
          : (tf.reshape(weights, [b, 1]) as Tensor2D);
      key = k;
    }
    return wcol;
  };
  const prepare = (x: Tensor, weights: Tensor1D | null): { b: number; col: Tensor2D } => {
    checkBatch(x, gen.inputShape, 'VAE step');
    const b = x.shape[0];
    if (weights !== null && weights.shape[0] !== b)
      throw new Error(`VAE step: ${b} inputs but ${weights.shape[0]} weights`);
    return { b, col: colOf(weights, b) };
  };
  const manual = (x: Tensor, col: Tensor2D, b: number, seed: number, needLoss: boolean): Tensor[] =>
    tf.tidy(() => {
      const x2 = (x.rank === 2 ? x : tf.reshape(x, [b, d])) as Tensor2D;
      const r = vaeBackprop(
        encoder.read(),
        decoder.read(),
        x2,
        noise(b, config.latent, seed),
        col,
        needLoss,
      );
      return r.loss === null ? [...r.enc, ...r.dec] : [r.loss, ...r.enc, ...r.dec];
    });
  const nE = encoder.variables.length;
  return {
    generator: gen,
    optimizers: Object.freeze({ encoder: optE, decoder: optD }),
    step(x: Tensor, weights: Tensor1D | null, seed: number, needLoss = true): GeneratorLosses {
      const { b, col } = prepare(x, weights);
      const out = manual(x, col, b, seed, needLoss);
      const g = needLoss ? out.slice(1) : out;
      optE.apply(g.slice(0, nE));
      optD.apply(g.slice(nE));
      tf.dispose(g);
      return needLoss ? { loss: out[0] as Scalar } : {};
    },
    gradients(
      x: Tensor,
      weights: Tensor1D | null,
      seed: number,
      method: 'manual' | 'autodiff',
    ): { loss: Scalar; encoder: Tensor[]; decoder: Tensor[] } {
      const { b, col } = prepare(x, weights);
      if (method === 'manual') {
        const out = manual(x, col, b, seed, true);
        return {
          loss: out[0] as Scalar,
          encoder: out.slice(1, 1 + nE),
          decoder: out.slice(1 + nE),
        };
      }
      return tf.tidy(() => {
        const x2 = (x.rank === 2 ? x : tf.reshape(x, [b, d])) as Tensor2D;
        const eps = noise(b, config.latent, seed);
        const { value, grads } = tf.valueAndGrads(
          (...w: Tensor[]) =>
            tf.sum(
              tf.mul(
                vaeLossPerExample(w.slice(0, nE), w.slice(nE), x2, eps),
                tf.reshape(col, [-1]),
              ),
            ) as Scalar,
        )([...encoder.read(), ...decoder.read()]);
        return { loss: value, encoder: grads.slice(0, nE), decoder: grads.slice(nE) };
      });
    },
    dispose(): void {
      optE.dispose();
      optD.dispose();
      wcol?.dispose();
    },
  };
}

// ----------------------------------------------------------------------------------------- WGAN-GP

/**
 * One linear layer y = x∗W + b of a WGAN-GP network as native ops, with the
 * maps a hand-written backward pass needs (shapes per example; n = batch).
 * ∗ is a matrix product (dense) or a stride-2 'same' convolution (conv), or
 * its transpose (the generator's transposed convolutions).
 */
interface NativeLayer {
  /** x [n, ...in] → x∗W + b [n, ...out]. */
  forward(x: Tensor, w: Tensor, b: Tensor): Tensor;
  /** x∗W without the bias. */
  linear(x: Tensor, w: Tensor): Tensor;
  /** ∂⟨dy, x∗W⟩/∂x: dy [n, ...out] → [n, ...in] (the transposed map). */
  backInput(dy: Tensor, w: Tensor): Tensor;
  /** ∂⟨dy, x∗W⟩/∂W for x [n, ...in], dy [n, ...out]. */
  backFilter(x: Tensor, dy: Tensor): Tensor;
  /** ∂⟨dy, b⟩/∂b: dy summed over all but the channel axis. */
  backBias(dy: Tensor): Tensor;
}

/** LeakyReLU slope of the critics' hidden layers (nn.ts `leakyRelu`). */
const ALPHA = 0.2;
const rows = (x: Tensor): number => x.shape[0];
const flat = (x: Tensor): Tensor => (x.rank === 2 ? x : reshape(x, [rows(x), -1]));
const shaped = (x: Tensor, shape: readonly number[]): Tensor =>
  shape.length === 1 ? x : reshape(x, [rows(x), ...shape]);

function denseLayer(inShape: readonly number[], outShape: readonly number[]): NativeLayer {
  return {
    forward: (x, w, b) => shaped(biasAdd(matMul(flat(x), w), b), outShape),
    linear: (x, w) => shaped(matMul(flat(x), w), outShape),
    backInput: (dy, w) => shaped(matMul(flat(dy), w, false, true), inShape),
    backFilter: (x, dy) => matMul(flat(x), flat(dy), true, false),
    backBias: (dy) => biasAddGrad(flat(dy)),
  };
}

/** Stride-2 'same' convolution, filter [k, k, inC, outC]; `inShape` [h, w, inC]. */
function convLayer(inShape: readonly number[], filterShape: readonly number[]): NativeLayer {
  return {
    forward: (x, w, b) => biasAdd(conv2d(x, w, 2), b),
    linear: (x, w) => conv2d(x, w, 2),
    backInput: (dy, w) => conv2dBackpropInput([rows(dy), ...inShape], w, dy, 2),
    backFilter: (x, dy) => conv2dBackpropFilter(x, filterShape, dy, 2),
    backBias: (dy) => biasAddGrad(dy),
  };
}

/** Stride-2 'same' transposed convolution, filter [k, k, outC, inC]; `outShape` [h, w, outC]. */
function convTransposeLayer(
  outShape: readonly number[],
  filterShape: readonly number[],
): NativeLayer {
  const linear = (x: Tensor, w: Tensor): Tensor =>
    conv2dBackpropInput([rows(x), ...outShape], w, x, 2);
  return {
    forward: (x, w, b) => biasAdd(linear(x, w), b),
    linear,
    backInput: (dy, w) => conv2d(dy, w, 2),
    backFilter: (x, dy) => conv2dBackpropFilter(dy, filterShape, x, 2),
    backBias: (dy) => biasAddGrad(dy),
  };
}

/** Row constants of the hand-written WGAN-GP passes for one batch size and row weights. */
interface GanConsts {
  /** Ones [B, 1]: ∂ΣD/∂D. */
  readonly ones: Tensor;
  /** ∂(W-distance term)/∂D on [real; fake] [2B, 1]: −w_i, then 1/B. */
  readonly dy: Tensor;
  /** Row weights w [B, 1]. */
  readonly w: Tensor;
  /** 2λ·w [B, 1]. */
  readonly w2l: Tensor;
  readonly lambda: Tensor;
  readonly one: Tensor;
  readonly tiny: Tensor;
}

/** Generator forward pass with native ops: [z, h_1, …, samples] (hidden ReLU, output sigmoid). */
function genForward(layers: readonly NativeLayer[], gw: readonly Tensor[], z: Tensor): Tensor[] {
  const hs: Tensor[] = [z];
  layers.forEach((layer, l) => {
    const a = layer.forward(hs[l] as Tensor, gw[2 * l] as Tensor, gw[2 * l + 1] as Tensor);
    hs.push(ew(l === layers.length - 1 ? 'Sigmoid' : 'Relu', a));
  });
  return hs;
}

/**
 * The WGAN-GP critic loss and its parameter gradients, by hand:
 * [loss, penalty, ∂W_1, ∂b_1, …, ∂W_L, ∂b_L]. The same loss as the autodiff
 * reference in createWganGpTrainer (tested equal to 1e-5):
 *
 *   ℒ = Σ_i D(x̃_i)/B − Σ_i w_i·D(x_i) + λ·Σ_i w_i·(n_i − 1)²,
 *   n_i = sqrt(‖g_i‖² + 1e-12),
 *
 * x real, x̃ = G(z) fake, g_i = ∇ₓD(x̂_i) at x̂ = x̃ + ε·(x − x̃). The critic is
 * D = a_L, a_l = h_{l−1}∗W_l + b_l, h_l = φ(a_l), h_0 = x, φ = LeakyReLU(0.2).
 *
 * Input gradient (one backward pass of Σ_i D(x̂_i); ∗ᵀ is the layer's transposed map):
 *   p_L = 1,  p_l = φ′(a_l) ⊙ (p_{l+1} ∗ᵀ W_{l+1}),  g = p_1 ∗ᵀ W_1.
 * Penalty: G_0 = ∂ℒ_gp/∂g = 2λ·w_i·(n_i − 1)/n_i · g_i. φ′ is piecewise constant
 * (its derivative is 0 wherever it exists, as in autodiff), so g is linear in
 * each W_l with the p's held fixed, and the chain rule through
 * q_{l−1} = p_l ∗ᵀ W_l gives, sweeping forward l = 1 … L,
 *   ∂ℒ_gp/∂W_l = (the filter gradient of G_{l−1} against p_l),
 *   G_l = φ′(a_l) ⊙ (G_{l−1} ∗ W_l):
 * G_{l−1} is ∂ℒ_gp/∂q_{l−1} and travels forward through the linear maps
 * without biases; the biases get nothing from the penalty. For a dense layer
 * the filter gradient is G_{l−1}ᵀ·p_l, for a convolution
 * Conv2DBackpropFilter(G_{l−1}, p_l).
 * The W-distance terms are ordinary backprop of Σ_r dy_r·D(row_r) on [x; x̃]
 * with dy = (−w, 1/B).
 */
function criticBackprop(
  layers: readonly NativeLayer[],
  cw: readonly Tensor[],
  xr: Tensor,
  fake: Tensor,
  xhat: Tensor,
  c: GanConsts,
): Tensor[] {
  const nL = layers.length;
  const layer = (l: number): NativeLayer => layers[l] as NativeLayer;
  const wOf = (l: number): Tensor => cw[2 * l] as Tensor;
  const bOf = (l: number): Tensor => cw[2 * l + 1] as Tensor;
  // forward: hA on [real; fake], hB on x̂ (hidden layers only: the penalty needs φ′ there)
  const hA: Tensor[] = [concat([xr, fake], 0)];
  const hB: Tensor[] = [xhat];
  for (let l = 0; l < nL - 1; l++) {
    hA.push(nLeakyRelu(layer(l).forward(hA[l] as Tensor, wOf(l), bOf(l)), ALPHA));
    hB.push(nLeakyRelu(layer(l).forward(hB[l] as Tensor, wOf(l), bOf(l)), ALPHA));
  }
  const out = layer(nL - 1).forward(hA[nL - 1] as Tensor, wOf(nL - 1), bOf(nL - 1));
  // g = ∇ₓ̂ Σ D(x̂); p[l] = ∂ΣD/∂a_l
  const p = new Array<Tensor>(nL);
  p[nL - 1] = c.ones;
  for (let l = nL - 1; l > 0; l--) {
    p[l - 1] = leakyReluGrad(layer(l).backInput(p[l] as Tensor, wOf(l)), hB[l] as Tensor, ALPHA);
  }
  const gx = layer(0).backInput(p[0] as Tensor, wOf(0));
  const g2 = flat(gx);
  const norm = sqrt(ew('AddV2', sum(ew('Square', g2), [1], true), c.tiny));
  const dev = ew('Sub', norm, c.one);
  const gp = reshape(matMul(c.w, ew('Square', dev), true, false), []);
  const wdist = reshape(matMul(c.dy, out, true, false), []);
  const loss = ew('AddV2', wdist, ew('Mul', gp, c.lambda));
  const g0 = ew('Mul', g2, ew('Mul', ew('RealDiv', dev, norm), c.w2l));
  let G = gx.rank === 2 ? g0 : reshape(g0, gx.shape);
  const grads = new Array<Tensor>(2 * nL);
  let d: Tensor = c.dy;
  for (let l = nL - 1; l >= 0; l--) {
    grads[2 * l] = layer(l).backFilter(hA[l] as Tensor, d);
    grads[2 * l + 1] = layer(l).backBias(d);
    if (l > 0) d = leakyReluGrad(layer(l).backInput(d, wOf(l)), hA[l] as Tensor, ALPHA);
  }
  for (let l = 0; l < nL; l++) {
    grads[2 * l] = ew('AddV2', grads[2 * l] as Tensor, layer(l).backFilter(G, p[l] as Tensor));
    if (l < nL - 1) G = leakyReluGrad(layer(l).linear(G, wOf(l)), hB[l + 1] as Tensor, ALPHA);
  }
  return [loss, gp, ...grads];
}

/**
 * The generator loss −Σ_i D(G(z_i))/n and its gradients w.r.t. the
 * generator's parameters, by hand: [loss, ∂W_1, ∂b_1, …] (ordinary backprop
 * through the critic to its input, the sigmoid, and the generator).
 */
function generatorBackprop(
  gLayers: readonly NativeLayer[],
  cLayers: readonly NativeLayer[],
  gw: readonly Tensor[],
  cw: readonly Tensor[],
  z: Tensor,
  negMean: Tensor,
): Tensor[] {
  const hG = genForward(gLayers, gw, z);
  const nG = gLayers.length;
  const nC = cLayers.length;
  const cLayer = (l: number): NativeLayer => cLayers[l] as NativeLayer;
  const cW = (l: number): Tensor => cw[2 * l] as Tensor;
  const hC: Tensor[] = [hG[nG] as Tensor];
  for (let l = 0; l < nC - 1; l++) {
    hC.push(nLeakyRelu(cLayer(l).forward(hC[l] as Tensor, cW(l), cw[2 * l + 1] as Tensor), ALPHA));
  }
  const out = cLayer(nC - 1).forward(hC[nC - 1] as Tensor, cW(nC - 1), cw[2 * nC - 1] as Tensor);
  const loss = reshape(matMul(negMean, out, true, false), []);
  let d: Tensor = negMean;
  for (let l = nC - 1; l >= 0; l--) {
    d = cLayer(l).backInput(d, cW(l));
    if (l > 0) d = leakyReluGrad(d, hC[l] as Tensor, ALPHA);
  }
  d = sigmoidGrad(hG[nG] as Tensor, d);
  const grads = new Array<Tensor>(2 * nG);
  for (let l = nG - 1; l >= 0; l--) {
    const layer = gLayers[l] as NativeLayer;
    grads[2 * l] = layer.backFilter(hG[l] as Tensor, d);
    grads[2 * l + 1] = layer.backBias(d);
    if (l > 0) d = reluGrad(layer.backInput(d, gw[2 * l] as Tensor), hG[l] as Tensor);
  }
  return [loss, ...grads];
}

interface GanNets {
  /** z [n, latent] → samples [n, ...inputShape] in [0, 1]. */
  readonly gen: (w: readonly Tensor[], z: Tensor) => Tensor;
  /** x [n, ...inputShape] → critic values [n]. */
  readonly critic: (w: readonly Tensor[], x: Tensor) => Tensor1D;
  readonly genSpecs: readonly ParamSpec[];
  readonly criticSpecs: readonly ParamSpec[];
  /** The same networks as native-op layers (the hand-written passes). */
  readonly genLayers: readonly NativeLayer[];
  readonly criticLayers: readonly NativeLayer[];
  readonly macs: { generator: number; critic: number };
}

function mlpGan(config: WganGpConfig, inputShape: readonly number[]): GanNets {
  const d = flatSize(inputShape);
  const gSizes = [config.latent, ...config.hidden, d];
  const cSizes = [d, ...[...config.hidden].reverse(), 1];
  const genSpecs: ParamSpec[] = [];
  const criticSpecs: ParamSpec[] = [];
  for (let i = 1; i < gSizes.length; i++)
    genSpecs.push(
      ...denseSpecs(`g${i}`, gSizes[i - 1] as number, gSizes[i] as number, config.init),
    );
  for (let i = 1; i < cSizes.length; i++)
    criticSpecs.push(
      ...denseSpecs(`c${i}`, cSizes[i - 1] as number, cSizes[i] as number, config.init),
    );
  const nG = gSizes.length - 1;
  const nC = cSizes.length - 1;
  const genLayers: NativeLayer[] = [];
  const criticLayers: NativeLayer[] = [];
  for (let i = 1; i <= nG; i++) {
    const out = i === nG ? inputShape : [gSizes[i] as number];
    genLayers.push(denseLayer([gSizes[i - 1] as number], out));
  }
  for (let i = 1; i <= nC; i++) {
    const inShape = i === 1 ? inputShape : [cSizes[i - 1] as number];
    criticLayers.push(denseLayer(inShape, [cSizes[i] as number]));
  }
  return {
    genSpecs,
    criticSpecs,
    genLayers,
    criticLayers,
    macs: { generator: denseMacs(gSizes), critic: denseMacs(cSizes) },
    gen: (w, z) => {
      let h = z;
      for (let l = 0; l < nG; l++)
        h = dense(h, w[2 * l] as Tensor, w[2 * l + 1] as Tensor, l === nG - 1 ? 'sigmoid' : 'relu');
      return tf.reshape(h, [-1, ...inputShape]);
    },
    critic: (w, x) => {
      let h: Tensor = tf.reshape(x, [-1, d]);
      for (let l = 0; l < nC; l++)
        h = dense(
          h,
          w[2 * l] as Tensor,
          w[2 * l + 1] as Tensor,
          l === nC - 1 ? 'linear' : 'leakyRelu',
        );
      return tf.reshape(h, [-1]) as Tensor1D;
    },
  };
}

function dcgan(config: WganGpConfig, inputShape: readonly number[]): GanNets {
  const [s, , c] = inputShape as [number, number, number];
  const s4 = s / 4;
  const [c1, c2] = config.hidden as [number, number];
  const k = 4;
  const genSpecs: ParamSpec[] = [
    ...denseSpecs('g_fc', config.latent, s4 * s4 * c2, config.init),
    ...convSpecs('g_up1', k, c2, c1, config.init, true),
    ...convSpecs('g_up2', k, c1, c, config.init, true),
  ];
  const criticSpecs: ParamSpec[] = [
    ...convSpecs('c_conv1', k, c, c1, config.init),
    ...convSpecs('c_conv2', k, c1, c2, config.init),
    ...denseSpecs('c_fc', s4 * s4 * c2, 1, config.init),
  ];
  const half = s / 2;
  return {
    genSpecs,
    criticSpecs,
    genLayers: [
      denseLayer([config.latent], [s4, s4, c2]),
      convTransposeLayer([half, half, c1], [k, k, c1, c2]),
      convTransposeLayer([s, s, c], [k, k, c, c1]),
    ],
    criticLayers: [
      convLayer([s, s, c], [k, k, c, c1]),
      convLayer([half, half, c1], [k, k, c1, c2]),
      denseLayer([s4, s4, c2], [1]),
    ],
    macs: {
      generator:
        config.latent * s4 * s4 * c2 + half * half * k * k * c2 * c1 + s * s * k * k * c1 * c,
      critic: half * half * k * k * c * c1 + s4 * s4 * k * k * c1 * c2 + s4 * s4 * c2,
    },
    gen: (w, z) => {
      const n = z.shape[0];
      const h0 = tf.reshape(dense(z, w[0] as Tensor, w[1] as Tensor, 'relu'), [
        n,
        s4,
        s4,
        c2,
      ]) as Tensor4D;
      const h1 = tf.relu(
        tf.add(
          tf.conv2dTranspose(h0, w[2] as Tensor4D, [n, half, half, c1], 2, 'same'),
          w[3] as Tensor,
        ),
      ) as Tensor4D;
      return tf.sigmoid(
        tf.add(tf.conv2dTranspose(h1, w[4] as Tensor4D, [n, s, s, c], 2, 'same'), w[5] as Tensor),
      );
    },
    critic: (w, x) => {
      const x4 = (x.rank === 4 ? x : tf.reshape(x, [-1, s, s, c])) as Tensor4D;
      const h1 = leakyRelu(
        tf.add(tf.conv2d(x4, w[0] as Tensor4D, 2, 'same'), w[1] as Tensor),
      ) as Tensor4D;
      const h2 = leakyRelu(tf.add(tf.conv2d(h1, w[2] as Tensor4D, 2, 'same'), w[3] as Tensor));
      return tf.reshape(
        dense(tf.reshape(h2, [-1, s4 * s4 * c2]), w[4] as Tensor, w[5] as Tensor, 'linear'),
        [-1],
      ) as Tensor1D;
    },
  };
}

function ganNets(config: WganGpConfig, inputShape: readonly number[]): GanNets {
  if (config.arch === 'mlp') return mlpGan(config, inputShape);
  const [h, w, c] = inputShape;
  if (inputShape.length !== 3 || c === undefined || h !== w || (h as number) % 4 !== 0) {
    throw new Error(
      `buildWganGp: arch 'dcgan' needs square images [H, H, C] with H divisible by 4, ` +
        `got [${inputShape.join(', ')}]`,
    );
  }
  return dcgan(config, inputShape);
}

function makeWgan(
  config: WganGpConfig,
  inputShape: readonly number[],
  params: Record<string, ParamSet>,
  trainable: boolean,
): Generator {
  const nets = ganNets(config, inputShape);
  const g = params.generator as ParamSet;
  const frozenW = trainable ? null : tf.tidy(() => g.read());
  return Object.freeze({
    config,
    inputShape: Object.freeze([...inputShape]),
    trainable,
    params: Object.freeze(params),
    macs: Object.freeze({ ...nets.macs }),
    sample(n: number, seed: number): Tensor {
      checkN(n);
      return tf.tidy(() => {
        // native ops (the same ops tf.js's nets.gen runs, without its per-op bookkeeping)
        const hs = genForward(nets.genLayers, frozenW ?? g.read(), noise(n, config.latent, seed));
        return hs[hs.length - 1] as Tensor;
      });
    },
    dispose(): void {
      if (frozenW !== null) tf.dispose(frozenW);
      for (const p of Object.values(params)) p.dispose();
    },
  });
}

/**
 * WGAN-GP with an MLP or DCGAN-style generator and critic (Gulrajani et al. 2017; Shin et al. 2017
 * §4).
 */
export function buildWganGp(
  config: WganGpConfig,
  inputShape: readonly number[],
  seed: number,
): Generator {
  const nets = ganNets(config, inputShape);
  return makeWgan(
    config,
    inputShape,
    {
      generator: createParams(nets.genSpecs, deriveSeed(seed, 'generator')),
      critic: createParams(nets.criticSpecs, deriveSeed(seed, 'critic')),
    },
    true,
  );
}

/** The parts of a WGAN-GP trainer, exposed separately for the benchmark and tests. */
export interface WganGpTrainer extends GeneratorTrainer {
  /** One critic update on real x [B, ...] (weights [B] or null); returns {critic, gp}. */
  criticStep(x: Tensor, weights: Tensor1D | null, seed: number): GeneratorLosses;
  /** One generator update with n samples; returns {generator}. */
  generatorStep(n: number, seed: number): GeneratorLosses;
  /**
   * The critic loss, its penalty term and the critic's gradients for the
   * noise `seed` draws (as in criticStep), by the hand-written pass that
   * training uses or by tf.js autodiff (the reference, for tests); nothing
   * is updated.
   */
  criticGradients(
    x: Tensor,
    weights: Tensor1D | null,
    seed: number,
    method: 'manual' | 'autodiff',
  ): { critic: Scalar; gp: Scalar; grads: Tensor[] };
  /** The generator loss and the generator's gradients (as generatorStep); nothing is updated. */
  generatorGradients(
    n: number,
    seed: number,
    method: 'manual' | 'autodiff',
  ): { generator: Scalar; grads: Tensor[] };
}

export function createWganGpTrainer(gen: Generator): WganGpTrainer {
  if (gen.config.kind !== 'wgan-gp')
    throw new Error(`createWganGpTrainer: generator is a '${gen.config.kind}', not 'wgan-gp'`);
  if (!gen.trainable) throw new Error('createWganGpTrainer: this generator is a frozen snapshot');
  const config = gen.config;
  const nets = ganNets(config, gen.inputShape);
  const gP = gen.params.generator as ParamSet;
  const cP = gen.params.critic as ParamSet;
  const optG = createAdam(gP, config.generatorOptimizer);
  const optC = createAdam(cP, config.criticOptimizer);
  const lambda = config.gpWeight;
  const inputShape = gen.inputShape;

  // Row constants of the hand-written passes, cached while the caller passes the same weights
  // tensor (per task) and batch size.
  let key: Tensor1D | number | null = null;
  let consts: GanConsts | null = null;
  const constsOf = (weights: Tensor1D | null, b: number): GanConsts => {
    const k = weights ?? b;
    if (k !== key || consts === null || consts.w.isDisposed || consts.ones.shape[0] !== b) {
      if (consts !== null) tf.dispose(Object.values(consts));
      const t = tf
        .tidy(() => {
          const w = weights === null ? tf.fill([b, 1], 1 / b) : tf.reshape(weights, [b, 1]);
          const dy = tf.concat([tf.neg(w), tf.fill([b, 1], 1 / b)], 0);
          const scalars = [tf.scalar(lambda), tf.scalar(1), tf.scalar(1e-12)];
          return [tf.ones([b, 1]), dy, w, tf.mul(w, 2 * lambda), ...scalars];
        })
        .map((x) => tf.keep(x));
      const at = (i: number): Tensor => t[i] as Tensor;
      consts = {
        ones: at(0),
        dy: at(1),
        w: at(2),
        w2l: at(3),
        lambda: at(4),
        one: at(5),
        tiny: at(6),
      };
      key = k;
    }
    return consts;
  };
  // The generator step's −1/n column, cached per n.
  let negMean: Tensor | null = null;
  const negMeanOf = (n: number): Tensor => {
    if (negMean === null || negMean.isDisposed || negMean.shape[0] !== n) {
      negMean?.dispose();
      negMean = tf.keep(tf.fill([n, 1], -1 / n));
    }
    return negMean;
  };

  const prepare = (x: Tensor, weights: Tensor1D | null): number => {
    checkBatch(x, inputShape, 'WGAN-GP critic step');
    const b = x.shape[0];
    if (weights !== null && weights.shape[0] !== b) {
      throw new Error(`WGAN-GP critic step: ${b} inputs but ${weights.shape[0]} weights`);
    }
    return b;
  };
  /** [critic loss, gp, ...critic gradients] (hand-written). */
  const manualCritic = (x: Tensor, weights: Tensor1D | null, seed: number): Tensor[] => {
    const b = prepare(x, weights);
    const c = constsOf(weights, b);
    return tf.tidy(() => {
      const xr = x.shape.length === inputShape.length + 1 ? x : reshape(x, [b, ...inputShape]);
      const z = noise(b, config.latent, deriveSeed(seed, 'z'));
      const hs = genForward(nets.genLayers, gP.read(), z);
      const fake = hs[hs.length - 1] as Tensor;
      const eps = statelessUniform([b, ...inputShape.map(() => 1)], deriveSeed(seed, 'eps'));
      const xhat = ew('AddV2', fake, ew('Mul', eps, ew('Sub', xr, fake)));
      return criticBackprop(nets.criticLayers, cP.read(), xr, fake, xhat, c);
    });
  };
  /** The same by tf.js autodiff (double backprop through the penalty): the reference. */
  const autodiffCritic = (x: Tensor, weights: Tensor1D | null, seed: number): Tensor[] => {
    const b = prepare(x, weights);
    return tf.tidy(() => {
      const xr = x.shape.length === inputShape.length + 1 ? x : tf.reshape(x, [b, ...inputShape]);
      const fake = nets.gen(gP.read(), noise(b, config.latent, deriveSeed(seed, 'z')));
      const eps = statelessUniform([b, ...inputShape.map(() => 1)], deriveSeed(seed, 'eps'));
      const xhat = tf.add(fake, tf.mul(eps, tf.sub(xr, fake)));
      const w = weights ?? tf.fill([b], 1 / b);
      let gp: Scalar | null = null;
      const { value, grads } = tf.valueAndGrads((...cw: Tensor[]) => {
        const both = nets.critic(cw, tf.concat([xr, fake], 0));
        const [cReal, cFake] = tf.split(both, [b, b]) as [Tensor1D, Tensor1D];
        const wdist = tf.sub(tf.mean(cFake), tf.sum(tf.mul(cReal, w)));
        const gx = tf.grad((xh: Tensor) => tf.sum(nets.critic(cw, xh)))(xhat);
        const norm = tf.sqrt(tf.add(tf.sum(tf.square(tf.reshape(gx, [b, -1])), 1), 1e-12));
        // kept: valueAndGrads disposes the forward pass's intermediates, and gp is returned
        gp = tf.keep(tf.sum(tf.mul(tf.square(tf.sub(norm, 1)), w)) as Scalar);
        return tf.add(wdist, tf.mul(gp, lambda)) as Scalar;
      })(cP.read());
      return [value, gp as unknown as Scalar, ...grads];
    });
  };
  const manualGenerator = (n: number, seed: number): Tensor[] => {
    const nm = negMeanOf(n);
    return tf.tidy(() => {
      const z = noise(n, config.latent, seed);
      return generatorBackprop(nets.genLayers, nets.criticLayers, gP.read(), cP.read(), z, nm);
    });
  };
  const autodiffGenerator = (n: number, seed: number): Tensor[] =>
    tf.tidy(() => {
      const z = noise(n, config.latent, seed);
      const cw = cP.read();
      const { value, grads } = tf.valueAndGrads(
        (...gw: Tensor[]) => tf.neg(tf.mean(nets.critic(cw, nets.gen(gw, z)))) as Scalar,
      )(gP.read());
      return [value, ...grads];
    });

  const criticStep = (x: Tensor, weights: Tensor1D | null, seed: number): GeneratorLosses => {
    const out = manualCritic(x, weights, seed);
    const grads = out.slice(2);
    optC.apply(grads);
    tf.dispose(grads);
    return { critic: out[0] as Scalar, gp: out[1] as Scalar };
  };

  const generatorStep = (n: number, seed: number): GeneratorLosses => {
    const out = manualGenerator(n, seed);
    const grads = out.slice(1);
    optG.apply(grads);
    tf.dispose(grads);
    return { generator: out[0] as Scalar };
  };

  return {
    generator: gen,
    optimizers: Object.freeze({ generator: optG, critic: optC }),
    criticStep,
    generatorStep,
    criticGradients(x, weights, seed, method) {
      const out = (method === 'manual' ? manualCritic : autodiffCritic)(x, weights, seed);
      return { critic: out[0] as Scalar, gp: out[1] as Scalar, grads: out.slice(2) };
    },
    generatorGradients(n, seed, method) {
      const out = (method === 'manual' ? manualGenerator : autodiffGenerator)(n, seed);
      return { generator: out[0] as Scalar, grads: out.slice(1) };
    },
    step(x: Tensor, weights: Tensor1D | null, seed: number): GeneratorLosses {
      let last: GeneratorLosses = {};
      for (let i = 0; i < config.criticSteps; i++) {
        tf.dispose(Object.values(last));
        last = criticStep(x, weights, deriveSeed(seed, 'critic', i));
      }
      const g = generatorStep(x.shape[0], deriveSeed(seed, 'generator'));
      return { ...last, ...g };
    },
    dispose(): void {
      optG.dispose();
      optC.dispose();
      if (consts !== null) tf.dispose(Object.values(consts));
      negMean?.dispose();
    },
  };
}

/** Builds the generator `config` describes, for samples of shape `inputShape`. */
export function buildGenerator(
  config: GeneratorConfig,
  inputShape: readonly number[],
  seed: number,
): Generator {
  switch (config.kind) {
    case 'vae':
      return buildVae(config, inputShape, seed);
    case 'wgan-gp':
      return buildWganGp(config, inputShape, seed);
    default:
      throw new Error(
        'buildGenerator: unknown generator kind ' +
          `${JSON.stringify((config as { kind: unknown }).kind)}; use 'vae' or 'wgan-gp'`,
      );
  }
}

/** The trainer (optimiser state + step) for a live generator. */
export function createGeneratorTrainer(gen: Generator): GeneratorTrainer {
  if (!gen.trainable)
    throw new Error(
      'createGeneratorTrainer: this generator is a frozen snapshot; ' +
        'train the live generator instead',
    );
  return gen.config.kind === 'vae' ? createVaeTrainer(gen) : createWganGpTrainer(gen);
}

/**
 * A frozen copy of `gen` for replay: its own non-trainable variable with the
 * sampling network's weights (VAE decoder / WGAN-GP generator). Training `gen`
 * cannot change it.
 */
export function snapshotGenerator(gen: Generator): Generator {
  if (gen.config.kind === 'vae') {
    return makeVae(
      gen.config,
      gen.inputShape,
      { decoder: cloneParams(gen.params.decoder as ParamSet, false) },
      false,
    );
  }
  return makeWgan(
    gen.config,
    gen.inputShape,
    { generator: cloneParams(gen.params.generator as ParamSet, false) },
    false,
  );
}
