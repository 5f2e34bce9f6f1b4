/**
 * Seeded randomness: the simulator's whole output (reports, boots, attacks) follows from --seed, so a
 * run can be reproduced and detection results compared. mulberry32: tiny, fast, good enough for
 * behaviour models (not for anything secret).
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** A stable 32-bit mix of a seed and a label (FNV-1a), so each device gets its own stream. */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export const between = (r: Rng, min: number, max: number): number => min + r.next() * (max - min);
export const intBetween = (r: Rng, min: number, max: number): number => Math.floor(between(r, min, max + 1));
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;
export const chance = (r: Rng, p: number): boolean => r.next() < p;

/** Multiplicative noise around 1 (log-normal, sigma in log space): traffic is never negative. */
export function noise(r: Rng, sigma: number): number {
  // Box–Muller.
  const u = 1 - r.next();
  const v = r.next();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.exp(sigma * z - (sigma * sigma) / 2);
}

/** Poisson-distributed count (Knuth; for the small means used here). */
export function poisson(r: Rng, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = r.next();
  while (p > limit) {
    k++;
    p *= r.next();
  }
  return k;
}

/** A UUID-shaped id from the stream (boot ids). */
export function uuidFrom(r: Rng): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(r.next() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}
