import { randomBytes } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import { COMMAND_VERSION } from '../../protocol/commands.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { UpdateStatus } from '../../protocol/update-status.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import { type ActionContext, type LedgerService, SYSTEM_ACTOR } from '../ledger/index.ts';
import type { Device, RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import {
  type DeviceUpdateState,
  FAILED_STATES,
  FINISHED_STATES,
  type Release,
  type Rollout,
  type RolloutDevice,
  type RolloutProgress,
  type RolloutStatus,
  type RolloutTarget,
  type UpdatesErrorCode,
} from './model.ts';
import type { ReleaseService } from './releases.ts';
import {
  abortReason,
  countStates,
  orderDevices,
  phaseDone,
  phaseOf,
  phaseProgress,
  validPhases,
} from './rollout-plan.ts';
import * as db from './rollout-store.ts';

const fail = (code: UpdatesErrorCode, message: string, details?: Record<string, unknown>) =>
  new FleetwardError<UpdatesErrorCode>(code, message, details ? { details } : undefined);

export interface NewRollout {
  releaseId: string;
  target?: Partial<RolloutTarget> | undefined;
  phases?: number[] | undefined;
  soakMs?: number | undefined;
  maxFailurePct?: number | undefined;
  minFinished?: number | undefined;
  autoRollback?: boolean | undefined;
}

export interface RolloutDeps {
  store: Store;
  ledger: LedgerService;
  registry: RegistryService;
  releases: ReleaseService;
  bus: Bus;
  clock: Clock;
}

/** Devices that can take an update now: enrolled and not contained. */
const ELIGIBLE: ReadonlySet<string> = new Set(['active']);

/**
 * Staged rollouts: phases of growing share with a soak time, abort criteria that stop the rollout by
 * themselves, pause/resume/cancel by hand, and late-enrolled devices joining. Decisions run on the
 * injected Clock (tick) and on every device status; one rollout is evaluated by one caller at a time.
 */
export class RolloutService {
  readonly #d: RolloutDeps;
  #outbox: DeviceOutbox | null = null;
  #metadataUrl: () => string = () => '';
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(deps: RolloutDeps) {
    this.#d = deps;
  }

  /** The transport that carries commands, and where devices fetch TUF metadata (known once the server listens). */
  useOutbox(outbox: DeviceOutbox, metadataUrl: () => string): void {
    this.#outbox = outbox;
    this.#metadataUrl = metadataUrl;
  }

  /**
   * Starts a rollout of a published release that passes its gate. Throws RELEASE_NOT_FOUND,
   * RELEASE_NOT_PUBLISHED, RELEASE_GATE_FAILED, ROLLOUT_INVALID, ROLLOUT_NO_DEVICES.
   */
  async create(input: NewRollout, ctx: ActionContext): Promise<Rollout> {
    const release = await this.#d.releases.getRelease(input.releaseId);
    const target: RolloutTarget = { ...input.target, productId: input.target?.productId ?? release.productId };
    if (target.productId !== release.productId)
      throw fail('ROLLOUT_INVALID', "the target product is not the release's");
    const phases = input.phases ?? [1, 10, 50, 100];
    if (!validPhases(phases))
      throw fail('ROLLOUT_INVALID', 'phases: ascending percentages from 1 to 100, ending at 100');
    await this.#d.releases.assertRollable(release, ctx);
    const devices = await this.#matchingDevices(target);
    if (devices.length === 0) throw fail('ROLLOUT_NO_DEVICES', 'no enrolled device matches the target');
    const now = this.#d.clock.now();
    const rollout: Rollout = {
      id: `ro-${randomBytes(6).toString('hex')}`,
      releaseId: release.id,
      target,
      phases,
      soakMs: input.soakMs ?? 10 * 60_000,
      maxFailurePct: input.maxFailurePct ?? 20,
      minFinished: input.minFinished ?? 5,
      autoRollback: input.autoRollback ?? false,
      status: 'running',
      phase: 0,
      phaseStartedAt: now,
      phaseFinishedAt: null,
      reason: null,
      previousReleaseId: (await this.#d.releases.previousRelease(release))?.id ?? null,
      createdAt: now,
      updatedAt: now,
      createdBy: ctx.actor,
    };
    const ordered = orderDevices(
      rollout.id,
      devices.map((d) => d.id),
    );
    const rows: RolloutDevice[] = ordered.map((deviceId, ordinal) => ({
      rolloutId: rollout.id,
      deviceId,
      ordinal,
      phase: phaseOf(ordinal, ordered.length, phases),
      state: 'pending',
      reason: null,
      updatedAt: now,
    }));
    await this.#d.store.transaction(async (tx) => {
      await db.insertRollout(tx, rollout);
      await db.insertRolloutDevices(tx, rows);
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'rollout.create',
        target: `rollout:${rollout.id}`,
        result: 'ok',
        details: { releaseId: release.id, devices: rows.length, phases, target, advisory: release.advisory },
      });
    });
    await this.#changed(rollout);
    await this.#advance(rollout.id);
    return this.get(rollout.id);
  }

  async #matchingDevices(target: RolloutTarget): Promise<Device[]> {
    const out: Device[] = [];
    let after: string | undefined;
    do {
      const page = await this.#d.registry.listDevices(
        { productId: target.productId, group: target.group, tags: target.tags },
        after,
        1000,
      );
      out.push(...page.items.filter((d) => matches(target, d)));
      after = page.next ?? undefined;
    } while (after);
    return out;
  }

  /** Throws ROLLOUT_NOT_FOUND. */
  async get(id: string): Promise<Rollout> {
    const r = await db.findRollout(this.#d.store.db, id);
    if (!r) throw fail('ROLLOUT_NOT_FOUND', 'no such rollout', { id });
    return r;
  }

  async list(filter: { status?: RolloutStatus[]; productId?: string }, after: string | undefined, limit: number) {
    const rows = await db.listRollouts(this.#d.store.db, filter, after, limit + 1);
    const items = rows.slice(0, limit);
    return { items, next: rows.length > limit ? items[items.length - 1]!.id : null };
  }

  /** Counts per state and per phase: what `fleetward rollout status` prints. Throws ROLLOUT_NOT_FOUND. */
  async progress(id: string): Promise<RolloutProgress & { devices: RolloutDevice[] }> {
    const rollout = await this.get(id);
    const release = await this.#d.releases.getRelease(rollout.releaseId);
    const devices = await db.listRolloutDevices(this.#d.store.db, id);
    return {
      rollout,
      release: {
        id: release.id,
        version: release.version,
        securityVersion: release.securityVersion,
        advisory: release.advisory,
      },
      total: devices.length,
      counts: countStates(devices),
      phases: phaseProgress(rollout, devices),
      devices,
    };
  }

  /** Throws ROLLOUT_NOT_FOUND, ROLLOUT_STATE_CONFLICT. */
  pause(id: string, ctx: ActionContext): Promise<Rollout> {
    return this.#transition(id, ['running'], 'paused', 'rollout.pause', ctx, null);
  }

  async resume(id: string, ctx: ActionContext): Promise<Rollout> {
    await this.#transition(id, ['paused'], 'running', 'rollout.resume', ctx, null);
    await this.#advance(id);
    return this.get(id);
  }

  /** Stops by hand: no more commands; devices mid-update finish what they started. */
  cancel(id: string, ctx: ActionContext): Promise<Rollout> {
    return this.#transition(id, ['running', 'paused'], 'cancelled', 'rollout.cancel', ctx, `cancelled by ${ctx.actor}`);
  }

  async #transition(
    id: string,
    from: RolloutStatus[],
    to: RolloutStatus,
    action: string,
    ctx: ActionContext,
    reason: string | null,
  ): Promise<Rollout> {
    const next = await this.#locked(id, () =>
      this.#d.store.transaction(async (tx) => {
        const r = await db.findRollout(tx, id);
        if (!r) throw fail('ROLLOUT_NOT_FOUND', 'no such rollout', { id });
        if (!from.includes(r.status)) {
          throw fail('ROLLOUT_STATE_CONFLICT', `the rollout is ${r.status}`, { status: r.status });
        }
        const n: Rollout = { ...r, status: to, reason: reason ?? r.reason, updatedAt: this.#d.clock.now() };
        await db.updateRollout(tx, n);
        await this.#d.ledger.appendIn(tx, {
          ...ctx,
          action,
          target: `rollout:${id}`,
          result: 'ok',
          details: { from: r.status, to },
        });
        return n;
      }),
    );
    await this.#changed(next);
    return next;
  }

  /** One turn of the scheduler: soak timers and retries of commands that could not be sent. */
  async tick(): Promise<void> {
    const running = await db.listRollouts(this.#d.store.db, { status: ['running'] }, undefined, 10_000);
    for (const r of running) await this.#advance(r.id);
  }

  /**
   * A device's update-status report. Reports for other releases or rollouts are ignored, and a
   * finished device stays finished (QoS 1 may repeat). Finishing states are recorded in the ledger
   * with the device's reason code — that is where refused attacks show up.
   */
  async handleStatus(deviceId: string, s: UpdateStatus): Promise<void> {
    if (!s.rollout) return;
    const rolloutId = s.rollout;
    const finished = await this.#locked(rolloutId, async () => {
      const r = await db.findRollout(this.#d.store.db, rolloutId);
      const d = r && (await db.findRolloutDevice(this.#d.store.db, rolloutId, deviceId));
      if (!r || !d) return false;
      const next = nextState(r, d, s);
      if (!next) return false;
      return this.#d.store.transaction(async (tx) => {
        await db.setDeviceState(tx, rolloutId, [deviceId], next, s.code ?? null, this.#d.clock.now());
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
    if (finished) await this.#advance(rolloutId);
  }

  /** A device enrolled: it joins every running or paused rollout whose target it matches, in the current phase. */
  async onDeviceJoined(deviceId: string): Promise<void> {
    const device = await this.#d.registry.getDevice(deviceId);
    if (!ELIGIBLE.has(device.status)) return;
    const open = await db.listRollouts(
      this.#d.store.db,
      { status: ['running', 'paused'], productId: device.productId },
      undefined,
      1000,
    );
    for (const r of open.filter((x) => matches(x.target, device))) {
      await this.#locked(r.id, () =>
        this.#d.store.transaction(async (tx) => {
          if (await db.findRolloutDevice(tx, r.id, deviceId)) return;
          const ordinal = (await db.maxOrdinal(tx, r.id)) + 1;
          const now = this.#d.clock.now();
          await db.insertRolloutDevices(tx, [
            { rolloutId: r.id, deviceId, ordinal, phase: r.phase, state: 'pending', reason: null, updatedAt: now },
          ]);
          await this.#d.ledger.appendIn(tx, {
            ...SYSTEM_ACTOR,
            action: 'rollout.join',
            target: `rollout:${r.id}`,
            result: 'ok',
            details: { deviceId },
          });
        }),
      );
      await this.#advance(r.id);
    }
  }

  /** Abort criteria, phase completion and soak, then commands to the devices whose turn it is. */
  async #advance(id: string): Promise<void> {
    const sendTo = await this.#locked(id, async () => {
      const r = await db.findRollout(this.#d.store.db, id);
      if (r?.status !== 'running') return null;
      const devices = await db.listRolloutDevices(this.#d.store.db, id);
      const reason = abortReason(r, devices);
      if (reason) return this.#abort(r, devices, reason);
      const next = await this.#stepPhase(r, devices);
      if (next.status !== 'running') return null;
      const due = devices.filter((d) => d.state === 'pending' && d.phase <= next.phase).map((d) => d.deviceId);
      if (due.length === 0) return null;
      await db.setDeviceState(this.#d.store.db, id, due, 'sent', null, this.#d.clock.now());
      const release = await this.#d.releases.getRelease(next.releaseId);
      return { rollout: next, release, devices: due, onFailure: 'pending' as const };
    });
    if (sendTo) await this.#send(sendTo.rollout, sendTo.release, sendTo.devices, sendTo.onFailure);
  }

  /** Marks the phase finished, then after the soak moves to the next one (or completes the rollout). */
  async #stepPhase(r: Rollout, devices: RolloutDevice[]): Promise<Rollout> {
    if (!phaseDone(devices, r.phase)) return r;
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
    if (action) await this.#changed(next);
    return next;
  }

  /** Halts the rollout with its reason; with auto-rollback, the previous release goes to the devices reached. */
  async #abort(r: Rollout, devices: RolloutDevice[], reason: string) {
    const now = this.#d.clock.now();
    const next: Rollout = { ...r, status: 'aborted', reason, updatedAt: now };
    const reached = devices.filter((d) => d.state !== 'pending' && !FAILED_STATES.has(d.state)).map((d) => d.deviceId);
    const previous =
      r.autoRollback && r.previousReleaseId ? await this.#d.releases.getRelease(r.previousReleaseId) : null;
    await this.#d.store.transaction(async (tx) => {
      await db.updateRollout(tx, next);
      if (previous) await db.setDeviceState(tx, r.id, reached, 'reverting', null, now);
      await this.#d.ledger.appendIn(tx, {
        ...SYSTEM_ACTOR,
        action: 'rollout.abort',
        target: `rollout:${r.id}`,
        result: 'ok',
        details: { reason, autoRollback: previous ? { releaseId: previous.id, devices: reached.length } : null },
      });
    });
    await this.#changed(next);
    if (!previous || reached.length === 0) return null;
    return { rollout: next, release: previous, devices: reached, onFailure: 'reverting' as const };
  }

  /** Sends the update command; a device the transport cannot reach now goes back to `onFailure` for the next tick. */
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
      await db.setDeviceState(this.#d.store.db, r.id, failed, onFailure, 'SEND_FAILED', this.#d.clock.now());
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

  async #changed(r: Rollout): Promise<void> {
    await this.#d.bus.publish('rollout.changed', {
      rolloutId: r.id,
      releaseId: r.releaseId,
      status: r.status,
      phase: r.phase,
      reason: r.reason,
    });
  }

  /** Serializes work on one rollout within this process. */
  #locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#locks.get(id) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => {});
    this.#locks.set(id, tail);
    void tail.then(() => {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    });
    return run;
  }
}

function matches(target: RolloutTarget, d: Pick<Device, 'id' | 'productId' | 'group' | 'tags' | 'status'>): boolean {
  if (!ELIGIBLE.has(d.status) || d.productId !== target.productId) return false;
  if (target.group && d.group !== target.group) return false;
  if (target.tags?.some((t) => !d.tags.includes(t))) return false;
  if (target.deviceIds?.length && !target.deviceIds.includes(d.id)) return false;
  return true;
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
