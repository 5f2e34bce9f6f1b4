import { randomBytes } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { Bus, BusEvents } from '../bus/bus.types.ts';
import type { Evidence } from '../detect/index.ts';
import { type ActionContext, type LedgerService, SYSTEM_ACTOR } from '../ledger/index.ts';
import type { AnyDb, Store } from '../store/store.types.ts';
import type { AlarmFeed } from './alarm-feed.ts';
import * as db from './alarm-store.ts';
import type { Alarm, AlarmFilter, RespondErrorCode } from './model.ts';

const fail = (code: RespondErrorCode, message: string, details: Record<string, unknown>) =>
  new FleetwardError<RespondErrorCode>(code, message, { details });

/** Time-ordered ids: listing newest-first is a walk of the primary key. */
function alarmId(at: number): string {
  return `al-${at.toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`;
}

export interface RaiseOutcome {
  alarm: Alarm;
  /** False when de-duplicated into an alarm already open. */
  created: boolean;
  /** True when a suppression is in force: no mitigation, no notification. */
  suppressed: boolean;
}

/** Alarms: raised by detection, de-duplicated, suppressed, acknowledged and cleared; every change ledgered and streamed. */
export class AlarmService {
  readonly #store: Store;
  readonly #ledger: LedgerService;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly feed: AlarmFeed;

  constructor(store: Store, ledger: LedgerService, bus: Bus, clock: Clock, feed: AlarmFeed) {
    this.#store = store;
    this.#ledger = ledger;
    this.#bus = bus;
    this.#clock = clock;
    this.feed = feed;
  }

  /**
   * A detection fired: opens an alarm, or folds it into the open one with the same key (de-duplication).
   * `onOpened` runs inside the same transaction for a new, unsuppressed alarm (the webhook outbox writes
   * its notification there, so the two commit together or not at all).
   */
  async raise(
    e: BusEvents['alarm.raised'],
    onOpened?: (tx: AnyDb, alarm: Alarm) => Promise<void>,
  ): Promise<RaiseOutcome> {
    const now = this.#clock.now();
    const outcome = await this.#store.transaction(async (tx): Promise<RaiseOutcome> => {
      const key = db.dedupKey(e);
      const open = await db.findOpenAlarm(tx, key);
      const evidence = e.evidence as Evidence;
      if (open) {
        const alarm: Alarm = { ...open, lastRaisedAt: e.at, raiseCount: open.raiseCount + 1, evidence };
        await db.updateAlarm(tx, alarm);
        return { alarm, created: false, suppressed: isSuppressed(alarm, now) };
      }
      const sup = await db.activeSuppression(tx, key, now);
      const alarm: Alarm = {
        id: alarmId(e.at),
        deviceId: e.deviceId,
        profileId: e.profileId,
        behaviour: e.behaviour,
        kind: e.kind,
        severity: e.severity,
        state: 'active',
        raisedAt: e.at,
        lastRaisedAt: e.at,
        raiseCount: 1,
        acknowledgedAt: null,
        acknowledgedBy: null,
        clearedAt: null,
        clearedBy: null,
        clearReason: null,
        suppressedUntil: sup?.until ?? null,
        suppressionReason: sup?.reason ?? null,
        evidence,
      };
      await db.insertAlarm(tx, alarm);
      await this.#ledger.appendIn(tx, {
        ...SYSTEM_ACTOR,
        action: 'alarm.raise',
        target: `device:${e.deviceId}`,
        result: 'ok',
        details: {
          alarmId: alarm.id,
          profileId: e.profileId,
          behaviour: e.behaviour,
          severity: e.severity,
          suppressed: !!sup,
        },
      });
      if (!sup && onOpened) await onOpened(tx, alarm);
      return { alarm, created: true, suppressed: !!sup };
    });
    this.feed.emit(outcome.created ? 'raised' : 'repeated', outcome.alarm);
    return outcome;
  }

  /** The condition ended on its own (consecutive clean datapoints). No open alarm: nothing to do. */
  async clearByDetection(e: BusEvents['alarm.cleared']): Promise<Alarm | null> {
    const alarm = await this.#store.transaction(async (tx) => {
      const open = await db.findOpenAlarm(tx, db.dedupKey(e));
      if (!open) return null;
      const next: Alarm = {
        ...open,
        state: 'cleared',
        clearedAt: e.at,
        clearedBy: 'system',
        clearReason: 'condition ended',
      };
      await db.updateAlarm(tx, next);
      await this.#ledger.appendIn(tx, {
        ...SYSTEM_ACTOR,
        action: 'alarm.clear',
        target: `device:${e.deviceId}`,
        result: 'ok',
        details: { alarmId: open.id, reason: 'condition ended' },
      });
      return next;
    });
    if (alarm) this.feed.emit('cleared', alarm);
    return alarm;
  }

  /** Throws ALARM_NOT_FOUND. */
  async get(id: string): Promise<Alarm> {
    const a = await db.findAlarm(this.#store.db, id);
    if (!a) throw fail('ALARM_NOT_FOUND', 'no such alarm', { id });
    return a;
  }

  async list(
    filter: AlarmFilter,
    after: string | undefined,
    limit: number,
  ): Promise<{ items: Alarm[]; next: string | null }> {
    const rows = await db.listAlarms(this.#store.db, filter, after, limit + 1);
    const items = rows.slice(0, limit);
    return { items, next: rows.length > limit ? items[items.length - 1]!.id : null };
  }

  /** active → acknowledged. Throws ALARM_NOT_FOUND, ALARM_STATE_CONFLICT. */
  async acknowledge(id: string, ctx: ActionContext): Promise<Alarm> {
    return this.#change(id, ['active'], 'acknowledged', ctx, (a, now) => ({
      ...a,
      state: 'acknowledged',
      acknowledgedAt: now,
      acknowledgedBy: ctx.actor,
    }));
  }

  /**
   * Suppresses this alarm and any re-raise of the same (device, profile, behaviour) for `durationMs`:
   * a known maintenance window or an accepted risk, with its reason on record. Throws ALARM_NOT_FOUND,
   * ALARM_STATE_CONFLICT (already cleared).
   */
  async suppress(id: string, reason: string, durationMs: number, ctx: ActionContext): Promise<Alarm> {
    const until = this.#clock.now() + Math.max(1, durationMs);
    return this.#change(
      id,
      ['active', 'acknowledged'],
      'suppressed',
      ctx,
      async (a, now, tx) => {
        await db.insertSuppression(tx, {
          id: `sup-${randomBytes(8).toString('hex')}`,
          dedup_key: db.dedupKey(a),
          reason,
          until,
          created_by: ctx.actor,
          created_at: now,
        });
        return { ...a, suppressedUntil: until, suppressionReason: reason };
      },
      { reason, until },
    );
  }

  /** Any open state → cleared by an operator; detection forgets its count so a persisting condition re-raises. */
  async clear(id: string, reason: string, ctx: ActionContext): Promise<Alarm> {
    const alarm = await this.#change(
      id,
      ['active', 'acknowledged'],
      'cleared',
      ctx,
      (a, now) => ({
        ...a,
        state: 'cleared',
        clearedAt: now,
        clearedBy: ctx.actor,
        clearReason: reason,
      }),
      { reason },
    );
    await this.#bus.publish('alarm.closed', {
      deviceId: alarm.deviceId,
      profileId: alarm.profileId,
      behaviour: alarm.behaviour,
    });
    return alarm;
  }

  async #change(
    id: string,
    from: Alarm['state'][],
    verb: 'acknowledged' | 'suppressed' | 'cleared',
    ctx: ActionContext,
    apply: (a: Alarm, now: number, tx: Parameters<Parameters<Store['transaction']>[0]>[0]) => Alarm | Promise<Alarm>,
    details: Record<string, unknown> = {},
  ): Promise<Alarm> {
    const action = { acknowledged: 'alarm.acknowledge', suppressed: 'alarm.suppress', cleared: 'alarm.clear' }[verb];
    const alarm = await this.#store.transaction(async (tx) => {
      const a = await db.findAlarm(tx, id);
      if (!a) throw fail('ALARM_NOT_FOUND', 'no such alarm', { id });
      if (!from.includes(a.state))
        throw fail('ALARM_STATE_CONFLICT', `a ${a.state} alarm cannot be ${verb}`, { id, state: a.state });
      const next = await apply(a, this.#clock.now(), tx);
      await db.updateAlarm(tx, next);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action,
        target: `device:${a.deviceId}`,
        result: 'ok',
        details: { alarmId: id, ...details },
      });
      return next;
    });
    this.feed.emit(verb, alarm);
    return alarm;
  }
}

function isSuppressed(a: Alarm, now: number): boolean {
  return a.suppressedUntil !== null && a.suppressedUntil > now;
}
