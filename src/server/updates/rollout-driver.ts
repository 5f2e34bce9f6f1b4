import { randomBytes } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import { COMMAND_VERSION } from '../../protocol/commands.ts';
import type { UpdateStatus } from '../../protocol/update-status.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import { type LedgerService, SYSTEM_ACTOR } from '../ledger/index.ts';
import type { Store } from '../store/store.types.ts';
import {
  type DeviceUpdateState,
  FAILED_STATES,
  FINISHED_STATES,
  type Release,
  type Rollout,
  type RolloutDevice,
} from './model.ts';
import type { ReleaseService } from './releases.ts';
import * as members from './rollout-device-store.ts';
import type { RolloutLocks } from './rollout-lock.ts';
import { abortReason, type FailureTally, shouldAbort, UNFINISHED_STATES } from './rollout-plan.ts';
import * as db from './rollout-store.ts';

export interface RolloutDriverDeps {
  store: Store;
  ledger: LedgerService;
  releases: ReleaseService;
  bus: Bus;
  clock: Clock;
  locks: RolloutLocks;
}

/** Devices per command batch: bounds memory and how long one batch holds the rollout's lock. */
const SEND_PAGE = 500;
/** States of devices the update reached (auto-rollback sends the previous release to them). */
const REACHED: DeviceUpdateState[] = ['sent', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded'];
const FINISHED = [...FINISHED_STATES];
const FAILED = [...FAILED_STATES];

type Cursor = { phase: number; ordinal: number };

/** Commands to send: devices in `from` up to `maxPhase`, moved to `claimAs` while the command is out. */
interface SendJob {
  rollout: Rollout;
  release: Release;
  from: DeviceUpdateState;
  claimAs: DeviceUpdateState;
  maxPhase: number;
  /** Where a device the transport could not reach goes back to (retried by the next tick when pending). */
  onFailure: DeviceUpdateState;
  /** Only while the rollout is running (a pause stops a phase mid-way). */
  whileRunning: boolean;
}

/**
 * Moves running rollouts along: device status reports, the scheduler's tick, abort criteria, phase
 * steps and update commands. Every decision reads aggregates (counts per state, an EXISTS per phase)
 * and fetches only the devices it acts on, in pages, so its cost does not grow with the fleet.
 */
export class RolloutDriver {
  readonly #d: RolloutDriverDeps;
  #outbox: DeviceOutbox | null = null;
  #metadataUrl: () => string = () => '';

  constructor(deps: RolloutDriverDeps) {
    this.#d = deps;
  }

  useOutbox(outbox: DeviceOutbox, metadataUrl: () => string): void {
    this.#outbox = outbox;
    this.#metadataUrl = metadataUrl;
  }

  /** One turn of the scheduler: soak timers and retries of commands that could not be sent. */
  async tick(): Promise<void> {
    const running = await db.listRollouts(this.#d.store.db, { status: ['running'] }, undefined, 10_000);
    for (const r of running) await this.advance(r.id);
  }

  /**
   * A device's update-status report. Reports for other releases or rollouts are ignored, and a
   * finished device stays finished (QoS 1 may repeat). Finishing states are recorded in the ledger
   * with the device's reason code — that is where refused attacks show up.
   */
  async handleStatus(deviceId: string, s: UpdateStatus): Promise<void> {
    if (!s.rollout) return;
    const rolloutId = s.rollout;
    const finished = await this.#d.locks.run(rolloutId, async () => {
      const r = await db.findRollout(this.#d.store.db, rolloutId);
      const d = r && (await members.findRolloutDevice(this.#d.store.db, rolloutId, deviceId));
      if (!r || !d) return false;
      const next = nextState(r, d, s);
      if (!next) return false;
      return this.#d.store.transaction(async (tx) => {
        await members.setDeviceState(tx, rolloutId, [deviceId], next, s.code ?? null, this.#d.clock.now());
        if (!FINISHED_STATES.has(next) && next !== 'reverted') return false;
        await this.#d.ledger.appendIn(tx, {
          actor: `device:${deviceId}`,
          source: null,
          action: 'update.result',
          target: `rollout:${rolloutId}`,
          result: next === 'succeeded' || next === 'reverted' ? 'ok' : 'failed',
          details: { release: s.release, state: next, code: s.code ?? null, detail: s.detail ?? null },
        });
        return true;
      });
    });
    if (finished) await this.advance(rolloutId);
  }

  /** Abort criteria, phase completion and soak, then commands to the devices whose turn it is. */
  async advance(id: string): Promise<void> {
    const job = await this.#d.locks.run(id, async (): Promise<SendJob | null> => {
      const r = await db.findRollout(this.#d.store.db, id);
      if (r?.status !== 'running') return null;
      const tally = await this.#failureTally(id);
      if (shouldAbort(r, tally)) return this.#abort(r, tally);
      const next = await this.#stepPhase(r);
      if (next.status !== 'running') return null;
      const release = await this.#d.releases.getRelease(next.releaseId);
      return {
        rollout: next,
        release,
        from: 'pending',
        claimAs: 'sent',
        maxPhase: next.phase,
        onFailure: 'pending',
        whileRunning: true,
      };
    });
    if (job) await this.#sendAll(job);
  }

  async #failureTally(id: string): Promise<FailureTally> {
    const counts = await members.countInStates(this.#d.store.db, id, FINISHED);
    let finished = 0;
    let failed = 0;
    for (const [state, n] of counts) {
      finished += n;
      if (FAILED_STATES.has(state)) failed += n;
    }
    return { finished, failed };
  }

  /** Marks the phase finished, then after the soak moves to the next one (or completes the rollout). */
  async #stepPhase(r: Rollout): Promise<Rollout> {
    if (await members.anyInPhases(this.#d.store.db, r.id, UNFINISHED_STATES, r.phase)) return r;
    const now = this.#d.clock.now();
    let next: Rollout = r;
    let action: string | null = null;
    if (r.phaseFinishedAt === null) next = { ...r, phaseFinishedAt: now, updatedAt: now };
    const last = r.phase === r.phases.length - 1;
    if (last) {
      next = { ...next, status: 'succeeded', updatedAt: now };
      action = 'rollout.complete';
    } else if (now - (next.phaseFinishedAt ?? now) >= r.soakMs) {
      next = { ...next, phase: r.phase + 1, phaseStartedAt: now, phaseFinishedAt: null, updatedAt: now };
      action = 'rollout.phase';
    }
    if (next === r) return r;
    await this.#d.store.transaction(async (tx) => {
      await db.updateRollout(tx, next);
      if (action) {
        await this.#d.ledger.appendIn(tx, {
          ...SYSTEM_ACTOR,
          action,
          target: `rollout:${r.id}`,
          result: 'ok',
          details: { phase: next.phase, percent: next.phases[next.phase] },
        });
      }
    });
    if (action) await publishRolloutChanged(this.#d.bus, next);
    return next;
  }

  /** Halts the rollout with its reason; with auto-rollback, the previous release goes to the devices reached. */
  async #abort(r: Rollout, tally: FailureTally): Promise<SendJob | null> {
    const now = this.#d.clock.now();
    const reason = abortReason(r, tally, await members.topReasons(this.#d.store.db, r.id, FAILED, 3));
    const next: Rollout = { ...r, status: 'aborted', reason, updatedAt: now };
    const previous =
      r.autoRollback && r.previousReleaseId ? await this.#d.releases.getRelease(r.previousReleaseId) : null;
    const reached = await this.#d.store.transaction(async (tx) => {
      await db.updateRollout(tx, next);
      // One set-based UPDATE: the devices reached are never loaded into memory here.
      const n = previous ? await members.moveStates(tx, r.id, REACHED, 'reverting', now) : 0;
      await this.#d.ledger.appendIn(tx, {
        ...SYSTEM_ACTOR,
        action: 'rollout.abort',
        target: `rollout:${r.id}`,
        result: 'ok',
        details: { reason, autoRollback: previous ? { releaseId: previous.id, devices: n } : null },
      });
      return n;
    });
    await publishRolloutChanged(this.#d.bus, next);
    if (!previous || reached === 0) return null;
    const maxPhase = r.phases.length - 1;
    return {
      rollout: next,
      release: previous,
      from: 'reverting',
      claimAs: 'reverting',
      maxPhase,
      onFailure: 'reverting',
      whileRunning: false,
    };
  }

  /** Sends in pages: each page is claimed under the lock, then sent outside it. */
  async #sendAll(job: SendJob): Promise<void> {
    let cursor: Cursor | null = null;
    for (;;) {
      const after: Cursor | null = cursor;
      const page: RolloutDevice[] = await this.#d.locks.run(job.rollout.id, () => this.#claimPage(job, after));
      const last = page.at(-1);
      if (!last) return;
      cursor = { phase: last.phase, ordinal: last.ordinal };
      await this.#send(
        job.rollout,
        job.release,
        page.map((d) => d.deviceId),
        job.onFailure,
      );
    }
  }

  async #claimPage(job: SendJob, after: Cursor | null): Promise<RolloutDevice[]> {
    const id = job.rollout.id;
    if (job.whileRunning && (await db.findRollout(this.#d.store.db, id))?.status !== 'running') return [];
    const page = await members.pageInState(this.#d.store.db, id, job.from, job.maxPhase, after, SEND_PAGE);
    if (page.length && job.claimAs !== job.from) {
      const ids = page.map((d) => d.deviceId);
      await members.setDeviceState(this.#d.store.db, id, ids, job.claimAs, null, this.#d.clock.now());
    }
    return page;
  }

  /** Sends the update command; a device the transport cannot reach now goes back to `onFailure`. */
  async #send(r: Rollout, release: Release, deviceIds: string[], onFailure: DeviceUpdateState): Promise<void> {
    const outbox = this.#outbox;
    const failed: string[] = [];
    for (const deviceId of deviceIds) {
      try {
        if (!outbox) throw new Error('no device transport');
        await outbox.sendCommand(deviceId, this.#command(r, release));
      } catch {
        failed.push(deviceId);
      }
    }
    if (failed.length)
      await members.setDeviceState(this.#d.store.db, r.id, failed, onFailure, 'SEND_FAILED', this.#d.clock.now());
  }

  #command(r: Rollout, release: Release) {
    return {
      v: COMMAND_VERSION,
      id: `upd-${randomBytes(8).toString('hex')}`,
      issuedAt: this.#d.clock.now(),
      type: 'update' as const,
      release: release.id,
      version: release.version,
      metadataUrl: this.#metadataUrl(),
      target: release.targetPath,
      securityVersion: release.securityVersion,
      rollout: r.id,
      // The advisory travels with the update (EN 303 645 5.3-8: say what the update fixes).
      advisory: release.advisory,
    };
  }
}

/** Tells subscribers (dashboard streams, webhooks) a rollout changed status or phase. */
export async function publishRolloutChanged(bus: Bus, r: Rollout): Promise<void> {
  await bus.publish('rollout.changed', {
    rolloutId: r.id,
    releaseId: r.releaseId,
    status: r.status,
    phase: r.phase,
    reason: r.reason,
  });
}

/** The state a report moves the device to, or null to ignore it. */
function nextState(r: Rollout, d: RolloutDevice, s: UpdateStatus): DeviceUpdateState | null {
  if (d.state === 'reverting' && s.release === r.previousReleaseId) {
    if (s.state === 'succeeded') return 'reverted';
    return s.state === 'failed' || s.state === 'rolled-back' ? 'failed' : null;
  }
  if (s.release !== r.releaseId || FINISHED_STATES.has(d.state) || d.state === 'reverting' || d.state === 'reverted') {
    return null;
  }
  return s.state;
}
