/**
 * Seeded randomness. Everything the simulator draws comes from here, so a fleet is replayed
 * exactly from its seed: sequential streams from {@link prng}, and position-addressed noise
 * from {@link hashNoise} for values that must be computable at any instant without replaying
 * the stream (a room's temperature, needed both for readings and for its label).
 */

/** A seeded PRNG (mulberry32): uniform in [0, 1), so a failure can be replayed from the printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** MurmurHash3's finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a seed and a non-negative integer below 2^53 (e.g. an index or a timestamp). */
export function hash32(seed: number, x: number): number {
  const lo = x >>> 0;
  const hi = Math.floor(x / 4294967296) >>> 0;
  const h = fmix32((seed >>> 0) ^ Math.imul(lo, 0xcc9e2d51));
  return fmix32(h ^ Math.imul(hi ^ 0x9e3779b9, 0x1b873593));
}

/** Noise in [-1, 1) addressed by (seed, x): the same pair always gives the same value. */
export function hashNoise(seed: number, x: number): number {
  return hash32(seed, x) / 2147483648 - 1;
}

/** Draw helpers over a uniform source. */
export interface Draw {
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number;
  /** Integer uniform in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** An element drawn by weight; `weights` has the length of `items`. */
  weighted<T>(items: readonly T[], weights: readonly number[]): T;
  /** Shuffles in place (Fisher-Yates) and returns the array. */
  shuffle<T>(items: T[]): T[];
}

/** {@link Draw} over `next`, e.g. `draw(prng(seed))`. */
export function draw(next: () => number): Draw {
  return {
    uniform: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    weighted(items, weights) {
      const total = weights.reduce((a, b) => a + b, 0);
      let x = next() * total;
      for (let i = 0; i < items.length; i++) {
        x -= weights[i];
        if (x < 0) return items[i];
      }
      return items[items.length - 1];
    },
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j], items[i]];
      }
      return items;
    },
  };
}
