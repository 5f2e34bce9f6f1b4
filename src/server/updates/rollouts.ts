import { randomBytes } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { UpdateStatus } from '../../protocol/update-status.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import { type ActionContext, type LedgerService, SYSTEM_ACTOR } from '../ledger/index.ts';
import type { Device, RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import {
  FAILED_STATES,
  type Rollout,
  type RolloutDevice,
  type RolloutProgress,
  type RolloutStatus,
  type RolloutTarget,
  type UpdatesErrorCode,
} from './model.ts';
import type { ReleaseService } from './releases.ts';
import * as members from './rollout-device-store.ts';
import { publishRolloutChanged, RolloutDriver } from './rollout-driver.ts';
import { RolloutLocks } from './rollout-lock.ts';
import { countStates, orderDevices, phaseOf, phaseProgress, validPhases } from './rollout-plan.ts';
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

/** Devices per progress page at most, and failures shown with it. */
export const PROGRESS_PAGE = 500;
const FAILURES_SHOWN = 200;

export interface DevicePage {
  /** The ordinal after which the page starts (the previous page's `nextDevices`). */
  after?: number | undefined;
  limit?: number | undefined;
}

export interface RolloutProgressPage extends RolloutProgress {
  devices: RolloutDevice[];
  nextDevices: number | null;
  failures: RolloutDevice[];
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
  readonly #locks = new RolloutLocks();
  readonly #driver: RolloutDriver;

  constructor(deps: RolloutDeps) {
    this.#d = deps;
    this.#driver = new RolloutDriver({ ...deps, locks: this.#locks });
  }

  /** The transport that carries commands, and where devices fetch TUF metadata (known once the server listens). */
  useOutbox(outbox: DeviceOutbox, metadataUrl: () => string): void {
    this.#driver.useOutbox(outbox, metadataUrl);
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
      await members.insertRolloutDevices(tx, rows);
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

  /**
   * Counts per state and per phase (one GROUP BY), plus one bounded page of devices in ordinal order
   * after `after` (`nextDevices` continues) and the first failures: what `fleetward rollout status`
   * prints. Throws ROLLOUT_NOT_FOUND.
   */
  async progress(id: string, page: DevicePage = {}): Promise<RolloutProgressPage> {
    const rollout = await this.get(id);
    const release = await this.#d.releases.getRelease(rollout.releaseId);
    const q = this.#d.store.db;
    const tally = await members.countByPhaseAndState(q, id);
    const limit = Math.min(Math.max(page.limit ?? PROGRESS_PAGE, 1), PROGRESS_PAGE);
    const rows = await members.pageRolloutDevices(q, id, page.after ?? -1, limit + 1);
    const devices = rows.slice(0, limit);
    return {
      rollout,
      release: {
        id: release.id,
        version: release.version,
        securityVersion: release.securityVersion,
        advisory: release.advisory,
      },
      total: tally.reduce((n, c) => n + c.n, 0),
      counts: countStates(tally),
      phases: phaseProgress(rollout, tally),
      devices,
      nextDevices: rows.length > limit ? devices[devices.length - 1]!.ordinal : null,
      failures: await members.listDevicesIn(q, id, [...FAILED_STATES], FAILURES_SHOWN),
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
  tick(): Promise<void> {
    return this.#driver.tick();
  }

  /** A device's update-status report (see RolloutDriver.handleStatus). */
  handleStatus(deviceId: string, s: UpdateStatus): Promise<void> {
    return this.#driver.handleStatus(deviceId, s);
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
          if (await members.findRolloutDevice(tx, r.id, deviceId)) return;
          const ordinal = (await members.maxOrdinal(tx, r.id)) + 1;
          const now = this.#d.clock.now();
          await members.insertRolloutDevices(tx, [
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

  #changed(r: Rollout): Promise<void> {
    return publishRolloutChanged(this.#d.bus, r);
  }

  #locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(id, fn);
  }

  #advance(id: string): Promise<void> {
    return this.#driver.advance(id);
  }
}

function matches(target: RolloutTarget, d: Pick<Device, 'id' | 'productId' | 'group' | 'tags' | 'status'>): boolean {
  if (!ELIGIBLE.has(d.status) || d.productId !== target.productId) return false;
  if (target.group && d.group !== target.group) return false;
  if (target.tags?.some((t) => !d.tags.includes(t))) return false;
  if (target.deviceIds?.length && !target.deviceIds.includes(d.id)) return false;
  return true;
}
