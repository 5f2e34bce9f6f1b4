import type { Confidence } from '../model.ts';
import { MAD_TO_SIGMA, mad, median } from './robust-stats.ts';

/**
 * Per-device learned baselines: for each metric, recent samples kept per hour of day (UTC), so a
 * device that is busy at 09:00 and quiet at 03:00 is judged against its own rhythm. The estimate is a
 * median and a MAD-based scale, pooled over the neighbouring hours, falling back to all of the device's
 * hours and then to the cohort while the device's own history is short: that is what makes a baseline
 * useful after one day rather than after the fourteen Device Defender's ML Detect needs.
 */
export interface HourBucket {
  /** When the newest sample was taken (samples closer than `gapMs` are thinned out). */
  lastAt: number;
  values: number[];
}

export interface MetricBaseline {
  firstAt: number;
  lastAt: number;
  /** Samples accepted in all. */
  count: number;
  hours: HourBucket[];
}

export interface SampleOptions {
  /** Samples kept per hour of day (oldest dropped). */
  cap: number;
  /** Minimum time between two samples kept in one bucket, ms: spreads a bucket over several days. */
  gapMs: number;
}

/** A device's own buckets: 24 samples per hour of day, at most one per 2.5 min → about 1.6 days per bucket. */
export const DEVICE_SAMPLES: SampleOptions = { cap: 24, gapMs: 150_000 };
/** A cohort's pooled buckets: many devices feed them, so keep more and thin out nothing. */
export const COHORT_SAMPLES: SampleOptions = { cap: 512, gapMs: 0 };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Fewer samples than this are no baseline at all. */
export const MIN_SAMPLES = 8;

export function newBaseline(at: number): MetricBaseline {
  return {
    firstAt: at,
    lastAt: at,
    count: 0,
    hours: Array.from({ length: 24 }, () => ({ lastAt: 0, values: [] })),
  };
}

export function hourOfDay(at: number): number {
  return Math.floor((at % DAY_MS) / HOUR_MS);
}

/** Adds one sample (mutates `b`). Non-finite values are ignored. */
export function addSample(b: MetricBaseline, at: number, value: number, opts: SampleOptions): void {
  if (!Number.isFinite(value)) return;
  const bucket = b.hours[hourOfDay(at)]!;
  b.lastAt = Math.max(b.lastAt, at);
  if (bucket.values.length > 0 && at - bucket.lastAt < opts.gapMs) return;
  bucket.values.push(value);
  if (bucket.values.length > opts.cap) bucket.values.shift();
  bucket.lastAt = at;
  b.count++;
}

export interface BaselineEstimate {
  median: number;
  /** Robust standard deviation, floored so a flat history does not make every wiggle an anomaly. */
  scale: number;
  confidence: Confidence;
  source: 'own-hour' | 'own-all' | 'cohort';
  samples: number;
}

function pooledHours(b: MetricBaseline, hour: number): number[] {
  const out: number[] = [];
  for (const h of [hour - 1, hour, hour + 1]) out.push(...b.hours[(h + 24) % 24]!.values);
  return out;
}

/**
 * The expected value at `at`: own hour-of-day (±1 h) when there are enough samples, else all of the
 * device's hours, else the cohort's hour-of-day. A history younger than `trainingMs` is not used (a
 * device's first busy hour is not an anomaly); null while nothing is trained. Confidence: high after a
 * week of own history, medium after a day, low before or from fallbacks.
 */
export function estimate(
  own: MetricBaseline | undefined,
  cohort: MetricBaseline | undefined,
  at: number,
  minScale: number,
  trainingMs: number,
): BaselineEstimate | null {
  const hour = hourOfDay(at);
  if (own && at - own.firstAt >= trainingMs) {
    const age = at - own.firstAt;
    const hourly = pooledHours(own, hour);
    if (hourly.length >= MIN_SAMPLES) {
      const confidence: Confidence = age >= 7 * DAY_MS ? 'high' : age >= DAY_MS ? 'medium' : 'low';
      return summarize(hourly, confidence, 'own-hour', minScale);
    }
    const all = own.hours.flatMap((x) => x.values);
    if (all.length >= MIN_SAMPLES) return summarize(all, 'low', 'own-all', minScale);
  }
  if (cohort && at - cohort.firstAt >= trainingMs) {
    const hourly = pooledHours(cohort, hour);
    if (hourly.length >= MIN_SAMPLES) return summarize(hourly, 'low', 'cohort', minScale);
  }
  return null;
}

function summarize(
  values: number[],
  confidence: Confidence,
  source: BaselineEstimate['source'],
  minScale: number,
): BaselineEstimate {
  const m = median(values);
  const scale = Math.max(MAD_TO_SIGMA * mad(values, m), 0.1 * Math.abs(m), minScale);
  return { median: m, scale, confidence, source, samples: values.length };
}

const CONFIDENCE_RANK: Record<Confidence, number> = { low: 0, medium: 1, high: 2 };

export function confidenceAtLeast(have: Confidence, want: Confidence): boolean {
  return CONFIDENCE_RANK[have] >= CONFIDENCE_RANK[want];
}

/**
 * How many robust standard deviations from the median make an anomaly. A high-sensitivity behaviour
 * fires sooner; a low-confidence baseline (young device, fallback) demands a larger deviation, which
 * is how a day-old baseline stays useful without flooding operators with false alarms.
 */
export function deviationLimit(sensitivity: 'low' | 'medium' | 'high', confidence: Confidence): number {
  const k = sensitivity === 'high' ? 4 : sensitivity === 'medium' ? 6 : 9;
  return confidence === 'low' ? k * 2 : k;
}
