/**
 * Robust statistics for baselines: the median and the median absolute deviation (MAD) ignore the odd
 * spike that a mean and standard deviation would chase (Rousseeuw & Croux 1993). 1.4826 × MAD estimates
 * the standard deviation of normally distributed data.
 */
export const MAD_TO_SIGMA = 1.4826;

/** Median of `values` (not modified); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median absolute deviation around `center` (the median when omitted). */
export function mad(values: readonly number[], center = median(values)): number {
  return median(values.map((v) => Math.abs(v - center)));
}

/**
 * The p-th percentile (0…100) by linear interpolation between closest ranks (NIST/Excel PERCENTILE.INC);
 * NaN for none. `sorted` must be ascending.
 */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted(
    [...values].sort((a, b) => a - b),
    p,
  );
}
