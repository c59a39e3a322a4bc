/**
 * Seeded randomness for the engine. One experiment seed drives everything
 * (Shin et al. 2017 report means over runs; we make each run reproducible):
 * initialisers, batch order, permutations, replay noise and generator sampling
 * all take seeds *derived* from that one seed with {@link deriveSeed}, so any
 * stream can be re-created on its own (e.g. after resuming from a checkpoint)
 * without replaying the others.
 *
 * The generator is sfc32 (Small Fast Counter, 128-bit state), seeded through
 * splitmix32. It is not cryptographic; it is fast, portable and has no
 * module-level state.
 */

/** A seeded pseudo-random stream. Each call advances its private state. */
export interface Rng {
  /** The seed this stream was created from. */
  readonly seed: number;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal sample (Box–Muller). */
  normal(): number;
  /** `n` standard normal samples. */
  normalArray(n: number): Float32Array;
  /** `n` uniform samples in [lo, hi). */
  uniformArray(n: number, lo?: number, hi?: number): Float32Array;
  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array;
}

/** splitmix32 step: a well-mixed 32-bit hash of `x`. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Checks that `seed` is a usable seed (a finite integer) and returns it as uint32. */
export function checkSeed(seed: number, name = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new Error(`${name} must be an integer, got ${String(seed)}`);
  }
  return seed >>> 0;
}

/**
 * A seed derived from `seed` and a path of labels, e.g.
 * `deriveSeed(cfg.seed, 'batches', taskIndex)`. Different paths give
 * independent-looking seeds; the same path always gives the same seed.
 * The result is a non-negative 31-bit integer (usable as a tf.js op seed).
 */
export function deriveSeed(seed: number, ...path: readonly (string | number)[]): number {
  let h = mix32(checkSeed(seed));
  for (const p of path) {
    const v = typeof p === 'number' ? p >>> 0 : hashString(p);
    h = mix32(h ^ v ^ 0x5bd1e995);
  }
  return h & 0x7fffffff;
}

/** A new {@link Rng} seeded with `seed` (an integer). */
export function createRng(seed: number): Rng {
  const s0 = checkSeed(seed);
  let a = mix32(s0);
  let b = mix32(a ^ 0x1b873593);
  let c = mix32(b ^ 0xcc9e2d51);
  let d = 1;
  const nextUint32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextUint32();
  const next = (): number => nextUint32() / 4294967296;
  let spare: number | null = null;
  const normal = (): number => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = next();
    while (u <= 1e-12) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return {
    seed: s0,
    next,
    nextUint32,
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0)
        throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
      return Math.floor(next() * n);
    },
    normal,
    normalArray(n: number): Float32Array {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = normal();
      return out;
    },
    uniformArray(n: number, lo = 0, hi = 1): Float32Array {
      const out = new Float32Array(n);
      const w = hi - lo;
      for (let i = 0; i < n; i++) out[i] = lo + w * next();
      return out;
    },
    permutation(n: number): Int32Array {
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const t = p[i] as number;
        p[i] = p[j] as number;
        p[j] = t;
      }
      return p;
    },
  };
}

/**
 * Batch indices for `iterations` steps of `batchSize` over `count` examples:
 * epochs of fresh permutations, concatenated (a batch may straddle two epochs,
 * like a data loader that cycles). Returns one Int32Array per step, cheap
 * to upload as the index of a native-side gather.
 */
export interface BatchSampler {
  /** Indices of the next batch (length batchSize). */
  next(): Int32Array;
}

export function createBatchSampler(count: number, batchSize: number, seed: number): BatchSampler {
  if (!Number.isInteger(count) || count <= 0)
    throw new Error(`createBatchSampler: count must be a positive integer, got ${count}`);
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new Error(`createBatchSampler: batchSize must be a positive integer, got ${batchSize}`);
  const rng = createRng(seed);
  let perm = rng.permutation(count);
  let pos = 0;
  return {
    next(): Int32Array {
      const out = new Int32Array(batchSize);
      for (let i = 0; i < batchSize; i++) {
        if (pos === count) {
          perm = rng.permutation(count);
          pos = 0;
        }
        out[i] = perm[pos++] as number;
      }
      return out;
    },
  };
}
