import { randomBytes } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { DeviceStatus, RegistryService } from '../registry/index.ts';
import type { AnyDb, Store } from '../store/store.types.ts';
import * as db from './action-store.ts';
import { originOf } from './delivery-store.ts';
import type { WebhookOutbox } from './delivery-worker.ts';
import type {
  Alarm,
  IdentityPort,
  MitigationAction,
  MitigationRecord,
  RespondErrorCode,
  UpdatesPort,
} from './model.ts';

/** The zone a quarantined device is moved to (network policy keys on it; the broker keys on the status). */
export const QUARANTINE_ZONE = 'quarantine';

export interface MitigationDeps {
  store: Store;
  ledger: LedgerService;
  bus: Bus;
  clock: Clock;
  registry: RegistryService;
  outbox: DeviceOutbox | null;
  identity: IdentityPort | null;
  updates: UpdatesPort | null;
  webhook: WebhookOutbox;
}

const fail = (code: RespondErrorCode, message: string, details: Record<string, unknown>, cause?: unknown) =>
  new FleetwardError<RespondErrorCode>(code, message, { details, cause });

type NoticeOutcome = 'sent' | 'failed' | 'no-transport';

export function commandId(clock: Clock): string {
  return `c-${clock.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Acting on one device: quarantine and release, revocation, forced update, webhook notification. */
export class MitigationService {
  readonly #d: MitigationDeps;

  constructor(deps: MitigationDeps) {
    this.#d = deps;
  }

  /**
   * Quarantine: status `quarantined` (the broker then allows only update-status and command-results up
   * and commands down), zone `quarantine`, and a quarantine notice to the device. Idempotent.
   * Status, zone and the mitigation record change in one transaction; the notice and the events follow
   * the commit. Throws DEVICE_NOT_FOUND.
   */
  async quarantine(
    deviceId: string,
    reason: string,
    ctx: ActionContext,
    alarmId: string | null = null,
  ): Promise<MitigationRecord> {
    const { registry } = this.#d;
    await registry.getDevice(deviceId);
    const done = await this.#d.store.transaction(async (tx) => {
      const device = await registry.findDeviceIn(tx, deviceId);
      if (device?.status === 'quarantined') {
        const last = await db.lastApplied(tx, deviceId, 'quarantine');
        if (last) return { record: last, changed: false };
      }
      await registry.setDeviceStatusIn(tx, deviceId, 'quarantined', reason, ctx, { zone: QUARANTINE_ZONE });
      const record = await this.#recordIn(tx, deviceId, 'quarantine', alarmId, ctx, 'applied', {
        reason,
        previousStatus: device?.status,
        previousZone: device?.zone,
        notice: 'pending',
      });
      return { record, changed: true };
    });
    if (!done.changed) return done.record;
    await registry.announceUpdated(deviceId);
    const record = await this.#noticeSent(done.record, await this.#notice(deviceId, 'quarantined', reason), ctx);
    await this.#d.bus.publish('device.quarantined', { deviceId, reason });
    return record;
  }

  /**
   * Restores the status and zone the device had before quarantine, in one transaction with its record;
   * the notice and the event follow the commit. Throws DEVICE_NOT_FOUND, MITIGATION_FAILED.
   */
  async releaseQuarantine(deviceId: string, reason: string, ctx: ActionContext): Promise<MitigationRecord> {
    const { registry } = this.#d;
    await registry.getDevice(deviceId);
    const done = await this.#d.store.transaction(async (tx) => {
      const device = await registry.findDeviceIn(tx, deviceId);
      if (device?.status !== 'quarantined') {
        throw fail('MITIGATION_FAILED', 'the device is not quarantined', { deviceId });
      }
      const last = await db.lastApplied(tx, deviceId, 'quarantine');
      const prevStatus = last?.details.previousStatus as DeviceStatus | undefined;
      const status: DeviceStatus = prevStatus === 'registered' ? 'registered' : 'active';
      const zone = typeof last?.details.previousZone === 'string' ? last.details.previousZone : 'default';
      await registry.setDeviceStatusIn(tx, deviceId, status, reason, ctx, { zone });
      return this.#recordIn(tx, deviceId, 'release-quarantine', null, ctx, 'applied', {
        reason,
        status,
        zone,
        notice: 'pending',
      });
    });
    await registry.announceUpdated(deviceId);
    const record = await this.#noticeSent(done, await this.#notice(deviceId, 'released', reason), ctx);
    await this.#d.bus.publish('device.quarantine.released', { deviceId });
    return record;
  }

  /**
   * Records whether the notice reached the device. Written after the state change committed: a crash
   * before this leaves `notice: 'pending'`, which is the truth (we do not know whether it was sent).
   */
  async #noticeSent(record: MitigationRecord, notice: NoticeOutcome, ctx: ActionContext): Promise<MitigationRecord> {
    const next: MitigationRecord = { ...record, details: { ...record.details, notice } };
    await this.#d.store.transaction(async (tx) => {
      await db.updateMitigationDetails(tx, record.id, next.details, this.#d.clock.now());
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'mitigation.notice',
        target: `device:${record.deviceId}`,
        result: notice === 'failed' ? 'failed' : 'ok',
        details: { mitigationId: record.id, notice },
      });
    });
    return next;
  }

  /** Revokes the device's certificates (identity ends its sessions). Throws MITIGATION_UNAVAILABLE, MITIGATION_FAILED. */
  async revoke(
    deviceId: string,
    reason: string,
    ctx: ActionContext,
    alarmId: string | null = null,
  ): Promise<MitigationRecord> {
    await this.#d.registry.getDevice(deviceId);
    const identity = this.#d.identity;
    if (!identity) throw fail('MITIGATION_UNAVAILABLE', 'certificate revocation is not available', { deviceId });
    return this.#run(deviceId, 'revoke', alarmId, ctx, { reason }, () => identity.revokeDevice(deviceId, reason, ctx));
  }

  /** Forces an update through the updates capability. Throws MITIGATION_UNAVAILABLE, MITIGATION_FAILED. */
  async forceUpdate(
    deviceId: string,
    reason: string,
    ctx: ActionContext,
    alarmId: string | null = null,
  ): Promise<MitigationRecord> {
    await this.#d.registry.getDevice(deviceId);
    const updates = this.#d.updates;
    if (!updates) throw fail('MITIGATION_UNAVAILABLE', 'forced updates are not available', { deviceId });
    return this.#run(deviceId, 'force-update', alarmId, ctx, { reason }, () =>
      updates.forceUpdate(deviceId, reason, ctx),
    );
  }

  /**
   * Queues the alarm for the profile's webhook inside `tx`, the transaction that opens the alarm: the
   * notification exists if and only if the alarm does, and survives restarts (delivery-worker.ts sends
   * it). Without a webhook secret nothing is queued and the mitigation is recorded as failed.
   */
  async notifyIn(tx: AnyDb, alarm: Alarm, url: string, ctx: ActionContext): Promise<MitigationRecord> {
    const { webhook } = this.#d;
    // The URL may carry a token in its query: only its origin goes on record.
    const origin = originOf(url);
    if (!webhook.configured) {
      return this.#recordIn(tx, alarm.deviceId, 'notify', alarm.id, ctx, 'failed', {
        origin,
        failure: 'not-configured',
      });
    }
    const event = { type: 'alarm.raised', alarm };
    const deliveryId = await webhook.enqueueIn(tx, url, event, { alarmId: alarm.id, deviceId: alarm.deviceId });
    return this.#recordIn(tx, alarm.deviceId, 'notify', alarm.id, ctx, 'applied', { origin, deliveryId, queued: true });
  }

  async list(deviceId: string, limit = 100): Promise<MitigationRecord[]> {
    await this.#d.registry.getDevice(deviceId);
    return db.listMitigations(this.#d.store.db, deviceId, limit);
  }

  async #run(
    deviceId: string,
    action: MitigationAction,
    alarmId: string | null,
    ctx: ActionContext,
    details: Record<string, unknown>,
    fn: () => Promise<unknown>,
  ): Promise<MitigationRecord> {
    try {
      const result = await fn();
      return this.#record(deviceId, action, alarmId, ctx, 'applied', { ...details, result: summarize(result) });
    } catch (err) {
      const code = err instanceof FleetwardError ? err.code : 'INTERNAL';
      await this.#record(deviceId, action, alarmId, ctx, 'failed', { ...details, code });
      throw fail('MITIGATION_FAILED', `${action} failed`, { deviceId, code }, err);
    }
  }

  async #notice(deviceId: string, state: 'quarantined' | 'released', reason: string): Promise<NoticeOutcome> {
    const outbox = this.#d.outbox;
    if (!outbox) return 'no-transport';
    const { clock } = this.#d;
    try {
      await outbox.sendCommand(deviceId, {
        v: 1,
        id: commandId(clock),
        issuedAt: clock.now(),
        type: 'quarantine-notice',
        state,
        reason: reason.slice(0, 256),
      });
      return 'sent';
    } catch {
      return 'failed';
    }
  }

  async #record(
    deviceId: string,
    action: MitigationAction,
    alarmId: string | null,
    ctx: ActionContext,
    state: MitigationRecord['state'],
    details: Record<string, unknown>,
  ): Promise<MitigationRecord> {
    return this.#d.store.transaction((tx) => this.#recordIn(tx, deviceId, action, alarmId, ctx, state, details));
  }

  async #recordIn(
    tx: AnyDb,
    deviceId: string,
    action: MitigationAction,
    alarmId: string | null,
    ctx: ActionContext,
    state: MitigationRecord['state'],
    details: Record<string, unknown>,
  ): Promise<MitigationRecord> {
    const now = this.#d.clock.now();
    const record: MitigationRecord = {
      id: `mi-${now.toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`,
      deviceId,
      action,
      alarmId,
      actor: ctx.actor,
      state,
      details,
      createdAt: now,
    };
    await db.insertMitigation(tx, record);
    await this.#d.ledger.appendIn(tx, {
      ...ctx,
      action: `mitigation.${action}`,
      target: `device:${deviceId}`,
      result: state === 'applied' ? 'ok' : 'failed',
      details: { mitigationId: record.id, alarmId, ...details },
    });
    return record;
  }
}

/** Only small, safe facts of a port's answer go on record (never a certificate or a token). */
function summarize(result: unknown): unknown {
  if (result === null || typeof result !== 'object') return result ?? null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result)) if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  return out;
}
