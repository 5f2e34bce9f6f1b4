/** What every `bench/*.bench.ts` returns: figures as ratios against a baseline measured in the same run. */
export interface BenchResult {
  name: string;
  rows: Array<Record<string, string | number>>;
  summary: string;
}

/** Median wall time of `fn` over `runs` runs, in milliseconds. */
export async function medianMs(fn: () => Promise<unknown>, runs = 15): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
