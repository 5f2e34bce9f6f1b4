import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from '../../protocol/commands.ts';
import { FleetwardError, isFleetwardError } from '../../protocol/errors.ts';
import type { UpdateState, UpdateStatus } from '../../protocol/update-status.ts';
import { type UpdateErrorCode, updateError } from './errors.ts';
import type { FetchLimits } from './resumable-fetcher.ts';
import { type SlotContent, type SlotName, type SlotState, Slots } from './slots.ts';
import { fetchVerifiedTarget, type VerifiedTarget } from './tuf-client.ts';

export type UpdateCommand = Extract<Command, { type: 'update' }>;

export interface UpdaterOptions {
  /** The agent's update directory: trusted TUF metadata, partial downloads, slots. */
  dir: string;
  /** Publishes one update-status message (the agent sends it on devices/{id}/update-status). */
  report: (status: UpdateStatus) => Promise<void> | void;
  /** "Restart into the new slot": a real device reboots here; tests and the simulator return. */
  restart?: (slot: SlotName, image: string) => Promise<void>;
  /** True when the system runs healthy from the new slot (e.g. a configured command exits 0). */
  healthCheck: (slot: SlotName, image: string) => Promise<boolean>;
  now: () => number;
  fetch?: FetchLimits;
}

/**
 * The device side of an update: verify with TUF before anything else, refuse a downgrade of the
 * securityVersion, write the inactive slot, switch, restart, check health, and fall back to the
 * previous slot when the check fails. Every state is reported.
 */
export class Updater {
  readonly #o: UpdaterOptions;
  readonly slots: Slots;
  #busy: Promise<void> | null = null;

  constructor(options: UpdaterOptions) {
    this.#o = options;
    this.slots = new Slots(join(options.dir, 'slots'));
  }

  /** What the device runs now (active slot content) and its anti-rollback floor. */
  async installed(): Promise<{ content: SlotContent | null; securityVersion: number }> {
    const s = await this.slots.load();
    return { content: s.active ? (s.slots[s.active] ?? null) : null, securityVersion: s.securityVersion };
  }

  /** Starts an update in the background; refuses (UPDATE_BUSY) while another runs. Resolves when accepted. */
  accept(cmd: UpdateCommand): Promise<void> {
    if (this.#busy) return Promise.reject(updateError('UPDATE_BUSY', 'an update is already running'));
    this.#busy = this.run(cmd).finally(() => {
      this.#busy = null;
    });
    return Promise.resolve();
  }

  /** Waits for the running update, if any (tests, shutdown). */
  async idle(): Promise<void> {
    await this.#busy;
  }

  /** Runs one update to its end; never throws: the outcome is reported. */
  async run(cmd: UpdateCommand): Promise<void> {
    const say = (state: UpdateState, extra: Partial<UpdateStatus> = {}) =>
      this.#o.report({
        v: 1,
        command: cmd.id,
        ...(cmd.rollout ? { rollout: cmd.rollout } : {}),
        release: cmd.release,
        state,
        at: this.#o.now(),
        ...extra,
      });
    try {
      await this.#install(cmd, say);
    } catch (err) {
      const code: UpdateErrorCode | string = isFleetwardError(err) ? err.code : 'UPDATE_INSTALL_FAILED';
      await say('failed', {
        code,
        detail: err instanceof FleetwardError ? err.message.slice(0, 200) : 'install failed',
      });
    }
  }

  async #install(cmd: UpdateCommand, say: (s: UpdateState, extra?: Partial<UpdateStatus>) => unknown): Promise<void> {
    if (!cmd.target) throw updateError('UPDATE_COMMAND_MISMATCH', 'the command names no TUF target');
    const state = await this.slots.load();
    const slot = this.slots.inactive(state);
    await this.slots.prepare(slot);
    await say('downloading');
    let verified: VerifiedTarget;
    try {
      verified = await fetchVerifiedTarget(
        {
          metadataUrl: cmd.metadataUrl,
          stateDir: this.#o.dir,
          fetch: this.#o.fetch,
          // Anti-rollback before a byte of the image is fetched: the facts are signed, the floor is ours.
          beforeDownload: (t) => checkSigned(cmd, t.custom, state.securityVersion),
        },
        cmd.target,
        this.slots.stagingPath(slot),
      );
    } catch (err) {
      await rm(this.slots.stagingPath(slot), { force: true });
      throw err;
    }
    await say('verifying');
    const securityVersion = checkSigned(cmd, verified.custom, state.securityVersion);
    await say('installing');
    await this.slots.install(slot);
    const content: SlotContent = {
      releaseId: cmd.release,
      version: cmd.version,
      securityVersion,
      sha256: verified.sha256,
    };
    await this.#trial(state, slot, content, cmd, say);
  }

  /** Switch, restart, health-check; commit or fall back. */
  async #trial(
    state: SlotState,
    slot: SlotName,
    content: SlotContent,
    cmd: UpdateCommand,
    say: (s: UpdateState, extra?: Partial<UpdateStatus>) => unknown,
  ) {
    const previous = state.active;
    const trial: SlotState = {
      ...state,
      active: slot,
      slots: { ...state.slots, [slot]: content },
      trial: { slot, previous, rollout: cmd.rollout ?? null, command: cmd.id },
    };
    await this.slots.save(trial);
    await say('rebooting');
    await this.#o.restart?.(slot, this.slots.imagePath(slot));
    await this.#settle(trial, say);
  }

  /** After the restart: health check decides between commit and fallback. Also run on agent start. */
  async #settle(s: SlotState, say: (st: UpdateState, extra?: Partial<UpdateStatus>) => unknown): Promise<void> {
    const t = s.trial!;
    const content = s.slots[t.slot]!;
    const healthy = await this.#o.healthCheck(t.slot, this.slots.imagePath(t.slot)).catch(() => false);
    if (healthy) {
      // Only a healthy release raises the anti-rollback floor (as Android's rollback index does).
      await this.slots.save({
        ...s,
        securityVersion: Math.max(s.securityVersion, content.securityVersion),
        trial: null,
      });
      await say('succeeded', { securityVersion: content.securityVersion });
      return;
    }
    const back: SlotState = { ...s, active: t.previous, trial: null };
    await this.slots.save(back);
    await this.#o.restart?.(t.previous ?? t.slot, t.previous ? this.slots.imagePath(t.previous) : '');
    await say('rolled-back', {
      code: 'UPDATE_HEALTH_CHECK_FAILED',
      detail: 'the new slot failed its health check',
      securityVersion: s.securityVersion,
    });
  }

  /** On agent start: an update interrupted between switch and health check is finished or undone now. */
  async recover(): Promise<void> {
    const s = await this.slots.load();
    if (!s.trial) return;
    const content = s.slots[s.trial.slot]!;
    const say = (state: UpdateState, extra: Partial<UpdateStatus> = {}) =>
      this.#o.report({
        v: 1,
        ...(s.trial?.command ? { command: s.trial.command } : {}),
        ...(s.trial?.rollout ? { rollout: s.trial.rollout } : {}),
        release: content.releaseId,
        state,
        at: this.#o.now(),
        ...extra,
      });
    await this.#settle(s, say);
  }
}

/**
 * The signed facts against the command and the floor. Throws UPDATE_COMMAND_MISMATCH,
 * UPDATE_SECURITY_VERSION_DOWNGRADE; returns the signed security version.
 */
function checkSigned(cmd: UpdateCommand, custom: Record<string, unknown>, floor: number): number {
  const sv = custom.securityVersion;
  if (typeof sv !== 'number' || !Number.isInteger(sv) || sv < 0) {
    throw updateError('UPDATE_COMMAND_MISMATCH', 'the signed target carries no securityVersion');
  }
  if (
    (cmd.securityVersion !== undefined && cmd.securityVersion !== sv) ||
    (custom.version !== undefined && custom.version !== cmd.version)
  ) {
    throw updateError('UPDATE_COMMAND_MISMATCH', 'the command contradicts the signed target', {
      details: { signed: sv },
    });
  }
  if (sv < floor) {
    throw updateError('UPDATE_SECURITY_VERSION_DOWNGRADE', `securityVersion ${sv} is below the installed ${floor}`, {
      details: { signed: sv, installed: floor },
    });
  }
  return sv;
}
