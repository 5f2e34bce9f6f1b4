import { execFile } from 'node:child_process';
import { isFleetwardError } from '../../protocol/errors.ts';
import type { SlotName } from './slots.ts';
import type { UpdateCommand, Updater } from './updater.ts';

/** The command result for an `update` command: accepted (progress follows on update-status) or refused now. */
export interface UpdateOutcome {
  status: 'ok' | 'rejected' | 'failed';
  code?: string;
  detail?: string;
}

/** The agent's `update` command action (command-handler.ts CommandActions.update) backed by an Updater. */
export function updateAction(updater: Updater): (cmd: UpdateCommand) => Promise<UpdateOutcome> {
  return async (cmd) => {
    try {
      await updater.accept(cmd);
      return { status: 'ok', detail: 'accepted; progress on update-status' };
    } catch (err) {
      return { status: 'rejected', code: isFleetwardError(err) ? err.code : 'UPDATE_BUSY' };
    }
  };
}

/**
 * A health check that runs a configured command with the slot's image path in FLEETWARD_SLOT_IMAGE;
 * exit status 0 within `timeoutMs` means healthy. No shell: argv is executed as given.
 */
export function commandHealthCheck(
  argv: string[],
  timeoutMs = 60_000,
): (slot: SlotName, image: string) => Promise<boolean> {
  const [cmd, ...args] = argv;
  if (!cmd) return async () => true;
  return (slot, image) =>
    new Promise((resolve) => {
      execFile(
        cmd,
        args,
        { timeout: timeoutMs, env: { ...process.env, FLEETWARD_SLOT: slot, FLEETWARD_SLOT_IMAGE: image } },
        (err) => resolve(!err),
      );
    });
}
