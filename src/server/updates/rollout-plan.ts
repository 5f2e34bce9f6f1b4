import { createHash } from 'node:crypto';
import {
  DEVICE_UPDATE_STATES,
  type DeviceUpdateState,
  FAILED_STATES,
  FINISHED_STATES,
  type PhaseProgress,
  type Rollout,
  type RolloutDevice,
} from './model.ts';

/**
 * The pure part of a rollout: who is in which phase, and what the counts say. No I/O, no clock: the
 * engine (rollouts.ts) passes `now`, so every decision is testable with plain values.
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

export function countStates(devices: RolloutDevice[]): Record<DeviceUpdateState, number> {
  const counts = Object.fromEntries(DEVICE_UPDATE_STATES.map((s) => [s, 0])) as Record<DeviceUpdateState, number>;
  for (const d of devices) counts[d.state]++;
  return counts;
}

export function phaseProgress(rollout: Rollout, devices: RolloutDevice[]): PhaseProgress[] {
  return rollout.phases.map((percent, phase) => {
    const inPhase = devices.filter((d) => d.phase === phase);
    return {
      phase,
      percent,
      devices: inPhase.length,
      finished: inPhase.filter((d) => FINISHED_STATES.has(d.state)).length,
      succeeded: inPhase.filter((d) => d.state === 'succeeded').length,
      failed: inPhase.filter((d) => FAILED_STATES.has(d.state)).length,
    };
  });
}

/**
 * The abort criterion (hawkBit's error threshold, AWS IoT Jobs' abortConfig): once at least
 * `minFinished` devices finished, a failure share above `maxFailurePct` stops the rollout. Returns the
 * reason, or null to go on.
 */
export function abortReason(rollout: Rollout, devices: RolloutDevice[]): string | null {
  const finished = devices.filter((d) => FINISHED_STATES.has(d.state));
  const failed = finished.filter((d) => FAILED_STATES.has(d.state));
  if (finished.length < rollout.minFinished || finished.length === 0) return null;
  const pct = (failed.length * 100) / finished.length;
  if (pct <= rollout.maxFailurePct) return null;
  const codes = new Map<string, number>();
  for (const d of failed) codes.set(d.reason ?? 'UNKNOWN', (codes.get(d.reason ?? 'UNKNOWN') ?? 0) + 1);
  const top = [...codes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([c, n]) => `${c}×${n}`);
  return (
    `failure rate ${pct.toFixed(1)}% (${failed.length} of ${finished.length} finished) exceeded ` +
    `${rollout.maxFailurePct}% after at least ${rollout.minFinished} finished; reasons: ${top.join(', ')}`
  );
}

/** Every device of phases up to `phase` finished. */
export function phaseDone(devices: RolloutDevice[], phase: number): boolean {
  return devices.filter((d) => d.phase <= phase).every((d) => FINISHED_STATES.has(d.state));
}
