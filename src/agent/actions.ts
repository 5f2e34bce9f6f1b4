import { join } from 'node:path';
import type { CommandActions } from './command-handler.ts';
import { enrollDevice } from './enroll.ts';
import { loadIdentity } from './identity-files.ts';
import { writeFileDurable } from './state-file.ts';

/** What a quarantine notice leaves on the device, for local software (and people) to read. */
export const QUARANTINE_FILE = 'quarantine.json';

/**
 * The agent's own command actions. Rotation enrolls a fresh key with the one-time token (identity's
 * enrollDevice, pinned to the CA we already trust) and replaces the files atomically; the next
 * connection uses them. The update action belongs to the OTA issue and is plugged in by it.
 */
export function defaultActions(
  dir: string,
  server: string | null,
  now: () => number,
  update?: CommandActions['update'],
): Omit<CommandActions, 'reportNow'> {
  return {
    async rotateCredentials(token) {
      if (!server) return { status: 'failed', code: 'AGENT_CONFIG_INVALID', detail: 'no --server to enroll with' };
      const current = await loadIdentity(dir);
      await enrollDevice({ server, token, deviceId: current.deviceId, outDir: dir, caPem: current.caPem });
      return { status: 'ok' };
    },
    async quarantineNotice(state, reason) {
      await writeFileDurable(join(dir, QUARANTINE_FILE), JSON.stringify({ state, reason, at: now() }));
      return { status: 'ok' };
    },
    update: update ?? (async () => ({ status: 'failed', code: 'UPDATE_UNAVAILABLE', detail: 'no updater installed' })),
  };
}
