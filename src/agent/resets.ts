import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RESET_REASONS, type ResetReason } from '../protocol/report.ts';
import { readJsonFile, writeFileDurable } from './state-file.ts';

/**
 * Resets are seen as a change of the kernel boot id between two runs of the agent. Why the device
 * restarted is only known when whoever restarted it said so first: a planned restart (update, user
 * request) writes the reboot marker naming its reason and the boot it was written in. A new boot with
 * no marker for the previous boot is `unknown` — an unexpected reset, as a crash, watchdog or power cut is.
 */
export const MARKER_FILE = 'reboot-reason.json';

export async function writeRebootMarker(dir: string, bootId: string, reason: ResetReason): Promise<void> {
  await writeFileDurable(join(dir, MARKER_FILE), JSON.stringify({ boot: bootId, reason }));
}

/**
 * The reset that happened between the previous run (`prevBootId`) and now, or null when the boot is
 * the same or there was no previous run. Consumes the marker.
 */
export async function detectReset(dir: string, prevBootId: string | null, bootId: string): Promise<ResetReason | null> {
  if (prevBootId === null || prevBootId === bootId) return null;
  const marker = (await readJsonFile(join(dir, MARKER_FILE))) as { boot?: unknown; reason?: unknown } | null;
  await rm(join(dir, MARKER_FILE), { force: true });
  // A marker from an older boot is stale (the planned restart never happened then); ignore it.
  if (marker && marker.boot === prevBootId && (RESET_REASONS as readonly unknown[]).includes(marker.reason)) {
    return marker.reason as ResetReason;
  }
  return 'unknown';
}
