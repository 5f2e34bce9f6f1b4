import { percentileOfSorted } from './robust-stats.ts';

/**
 * The cohort's latest value per device within a sliding window, for fleet-statistical thresholds: a
 * device is compared with the pN of its peers, so "normal" follows the fleet (a firmware update that
 * doubles everyone's traffic is not 1,000 alarms) while one device far above its peers stands out.
 * The sorted snapshot is recomputed when it is stale, not on every datapoint.
 */
export class CohortWindow {
  readonly #latest = new Map<string, { value: number; at: number }>();
  #sorted: number[] = [];
  #sortedAt = Number.NEGATIVE_INFINITY;
  #changes = 0;

  update(deviceId: string, value: number, at: number): void {
    this.#latest.set(deviceId, { value, at });
    this.#changes++;
  }

  remove(deviceId: string): void {
    this.#latest.delete(deviceId);
  }

  /** The p-th percentile of values seen within `windowMs` before `now`, and how many devices gave one. */
  percentile(p: number, now: number, windowMs: number): { value: number; cohort: number } {
    const stale = now - this.#sortedAt > windowMs / 20 || this.#changes > Math.max(16, this.#sorted.length / 10);
    if (stale) this.#refresh(now, windowMs);
    return { value: percentileOfSorted(this.#sorted, p), cohort: this.#sorted.length };
  }

  #refresh(now: number, windowMs: number): void {
    const values: number[] = [];
    for (const [id, e] of this.#latest) {
      if (now - e.at > windowMs) this.#latest.delete(id);
      else values.push(e.value);
    }
    this.#sorted = values.sort((a, b) => a - b);
    this.#sortedAt = now;
    this.#changes = 0;
  }
}
