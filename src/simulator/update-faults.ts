import type { SimulateOptions } from './options.ts';
import { deriveSeed, seededRng } from './random.ts';

/** What goes wrong when one device updates (resolved from the simulate options). */
export interface DeviceUpdateFault {
  /** The new slot fails its health check: the device falls back and reports rolled-back. */
  unhealthy: boolean;
  /** Metadata and artifacts come through this base URL instead of the command's (a mirror the attacker runs). */
  mirror: string | null;
  /** Only updates to this version are affected; null: every update. */
  onlyVersion: string | null;
}

/**
 * The fault of device `index` (id `id`). `--update-failure-rate` draws from the device's own stream of
 * --seed (a label of its own, so the reports it makes do not change), so a run can be reproduced.
 */
export function updateFaultFor(o: SimulateOptions, index: number, id: string): DeviceUpdateFault {
  const f = o.updateFaults;
  if (!f) return { unhealthy: false, mirror: null, onlyVersion: null };
  const drawn = f.failureRate > 0 && seededRng(deriveSeed(o.seed, `${id}#update-fault`)).next() < f.failureRate;
  return {
    unhealthy: drawn || f.failUpdate.includes(index),
    // The last mirror naming a device wins, as a later flag overrides an earlier one.
    mirror: f.mirrors.findLast((m) => m.deviceIndexes.includes(index))?.url ?? null,
    onlyVersion: f.onlyVersion,
  };
}

/** True when `fault` applies to an update to `version`. */
export function faultApplies(fault: DeviceUpdateFault, version: string | undefined): boolean {
  return fault.onlyVersion === null || fault.onlyVersion === version;
}

/** One line for the log: which devices are set up to fail, so a user can match the rollout's view. */
export function describeFaults(faults: DeviceUpdateFault[]): string | null {
  const unhealthy = faults.flatMap((f, i) => (f.unhealthy ? [i] : []));
  const mirrored = faults.flatMap((f, i) => (f.mirror ? [i] : []));
  if (unhealthy.length === 0 && mirrored.length === 0) return null;
  const list = (xs: number[]) => `[${xs.slice(0, 32).join(',')}${xs.length > 32 ? ',…' : ''}]`;
  const scope = faults[0]?.onlyVersion ? ` (updates to ${faults[0].onlyVersion} only)` : '';
  const parts = [
    unhealthy.length ? `${unhealthy.length} devices fail their health check ${list(unhealthy)}` : '',
    mirrored.length ? `${mirrored.length} fetch through a mirror ${list(mirrored)}` : '',
  ];
  return `update faults${scope}: ${parts.filter(Boolean).join('; ')}`;
}
