import { createHash } from 'node:crypto';
import {
  DEVICE_UPDATE_STATES,
  type DeviceUpdateState,
  FAILED_STATES,
  FINISHED_STATES,
  type PhaseProgress,
  type Rollout,
  type StateCount,
} from './model.ts';

/**
 * The pure part of a rollout: who is in which phase, and what the counts say. No I/O, no clock: the
 * driver (rollout-driver.ts) passes `now`, so every decision is testable with plain values.
 */

/** A stable pseudo-random order: the same rollout always picks the same first 1 %, unbiased by id order. */
export function orderDevices(rolloutId: string, deviceIds: string[]): string[] {
  const key = (id: string) => createHash('sha256').update(`${rolloutId}\0${id}`).digest('hex');
  return deviceIds
    .map((id) => ({ id, k: key(id) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.id);
}

/** The phase of the device at `ordinal` among `total`: the first phase whose cumulative share covers it. */
export function phaseOf(ordinal: number, total: number, phases: number[]): number {
  for (let k = 0; k < phases.length; k++) {
    // At least one device per phase, so a 1 % first phase of 50 devices still tests on one.
    if (ordinal < Math.max(1, Math.ceil((phases[k]! * total) / 100))) return k;
  }
  return phases.length - 1;
}

/** Phases are cumulative percentages, strictly ascending, each 1..100, ending at 100. */
export function validPhases(phases: number[]): boolean {
  return (
    phases.length >= 1 &&
    phases.length <= 20 &&
    phases.every((p, i) => Number.isInteger(p) && p >= 1 && p <= 100 && (i === 0 || p > phases[i - 1]!)) &&
    phases.at(-1) === 100
  );
}

/** Counts per state, from the per-(phase, state) aggregate. */
export function countStates(tally: StateCount[]): Record<DeviceUpdateState, number> {
  const counts = Object.fromEntries(DEVICE_UPDATE_STATES.map((s) => [s, 0])) as Record<DeviceUpdateState, number>;
  for (const c of tally) counts[c.state] += c.n;
  return counts;
}

export function phaseProgress(rollout: Rollout, tally: StateCount[]): PhaseProgress[] {
  return rollout.phases.map((percent, phase) => {
    const inPhase = tally.filter((c) => c.phase === phase);
    const sum = (keep: (s: DeviceUpdateState) => boolean) =>
      inPhase.filter((c) => keep(c.state)).reduce((n, c) => n + c.n, 0);
    return {
      phase,
      percent,
      devices: sum(() => true),
      finished: sum((s) => FINISHED_STATES.has(s)),
      succeeded: sum((s) => s === 'succeeded'),
      failed: sum((s) => FAILED_STATES.has(s)),
    };
  });
}

/** Finished and failed devices of a rollout: what the abort criterion looks at. */
export interface FailureTally {
  finished: number;
  failed: number;
}

/**
 * The abort criterion (hawkBit's error threshold, AWS IoT Jobs' abortConfig): once at least
 * `minFinished` devices finished, a failure share above `maxFailurePct` stops the rollout.
 */
export function shouldAbort(rollout: Rollout, t: FailureTally): boolean {
  if (t.finished < rollout.minFinished || t.finished === 0) return false;
  return (t.failed * 100) / t.finished > rollout.maxFailurePct;
}

/** Why the rollout stopped, with the most frequent failure codes devices reported. */
export function abortReason(rollout: Rollout, t: FailureTally, top: Array<{ reason: string; n: number }>): string {
  const pct = (t.failed * 100) / t.finished;
  return (
    `failure rate ${pct.toFixed(1)}% (${t.failed} of ${t.finished} finished) exceeded ` +
    `${rollout.maxFailurePct}% after at least ${rollout.minFinished} finished; reasons: ${top.map((x) => `${x.reason}×${x.n}`).join(', ')}`
  );
}

/** The states in which a device has not finished: a phase is done when none of its devices is in one. */
export const UNFINISHED_STATES: DeviceUpdateState[] = DEVICE_UPDATE_STATES.filter((s) => !FINISHED_STATES.has(s));
