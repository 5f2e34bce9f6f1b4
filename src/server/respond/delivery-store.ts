import type { AnyDb, SqlDialect, Store } from '../store/store.types.ts';
import type { DeliveryStatus, WebhookDelivery } from './model.ts';

export type DeliveryTables = {
  webhook_deliveries: {
    id: string;
    url: string;
    event: string;
    alarm_id: string | null;
    device_id: string | null;
    created_at: number;
    next_attempt_at: number;
    attempts: number;
    status: string;
    last_status: number | null;
    last_error: string | null;
    updated_at: number;
  };
};
type Row = DeliveryTables['webhook_deliveries'];

const t = (db: AnyDb) => db.withTables<DeliveryTables>();

export interface NewDelivery {
  id: string;
  url: string;
  event: string;
  alarmId: string | null;
  deviceId: string | null;
  now: number;
}

/** A delivery the worker holds: `attempts` is already counted and fences the outcome write. */
export interface ClaimedDelivery {
  id: string;
  url: string;
  event: string;
  alarmId: string | null;
  deviceId: string | null;
  attempts: number;
}

export async function insertDelivery(db: AnyDb, d: NewDelivery): Promise<void> {
  await t(db)
    .insertInto('webhook_deliveries')
    .values({
      id: d.id,
      url: d.url,
      event: d.event,
      alarm_id: d.alarmId,
      device_id: d.deviceId,
      created_at: d.now,
      next_attempt_at: d.now,
      attempts: 0,
      status: 'pending',
      last_status: null,
      last_error: null,
      updated_at: d.now,
    })
    .execute();
}

/**
 * Claims up to `limit` due deliveries: counts the attempt and moves `next_attempt_at` to `leaseUntil`, so
 * no other worker picks them up while this one sends; if this process dies mid-send, the lease runs out
 * and another worker retries (at least once). On PostgreSQL `FOR UPDATE SKIP LOCKED` keeps two servers
 * from claiming the same row; the conditional UPDATE is the guard on SQLite (one writer at a time anyway).
 */
export async function claimDue(
  store: Store,
  now: number,
  leaseUntil: number,
  limit: number,
): Promise<ClaimedDelivery[]> {
  return store.transaction(async (tx) => {
    const rows = await dueQuery(tx, store.dialect, now, limit).execute();
    const claimed: ClaimedDelivery[] = [];
    for (const r of rows) {
      const res = await t(tx)
        .updateTable('webhook_deliveries')
        .set({ attempts: r.attempts + 1, next_attempt_at: leaseUntil, updated_at: now })
        .where('id', '=', r.id)
        .where('status', '=', 'pending')
        .where('attempts', '=', r.attempts)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) continue;
      claimed.push({
        id: r.id,
        url: r.url,
        event: r.event,
        alarmId: r.alarm_id,
        deviceId: r.device_id,
        attempts: r.attempts + 1,
      });
    }
    return claimed;
  });
}

function dueQuery(tx: AnyDb, dialect: SqlDialect, now: number, limit: number) {
  const q = t(tx)
    .selectFrom('webhook_deliveries')
    .select(['id', 'url', 'event', 'alarm_id', 'device_id', 'attempts'])
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .limit(limit);
  return dialect === 'postgres' ? q.forUpdate().skipLocked() : q;
}

export interface Outcome {
  status: DeliveryStatus;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  now: number;
}

/**
 * Records how the claimed attempt ended. False when the claim was lost (the lease ran out and another
 * worker took the delivery): that worker's result is the one that counts.
 */
export async function recordOutcome(db: AnyDb, c: ClaimedDelivery, o: Outcome): Promise<boolean> {
  const res = await t(db)
    .updateTable('webhook_deliveries')
    .set({
      status: o.status,
      next_attempt_at: o.nextAttemptAt,
      last_status: o.lastStatus,
      last_error: o.lastError,
      updated_at: o.now,
    })
    .where('id', '=', c.id)
    .where('status', '=', 'pending')
    .where('attempts', '=', c.attempts)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

const toDelivery = (r: Row): WebhookDelivery => ({
  id: r.id,
  origin: originOf(r.url),
  alarmId: r.alarm_id,
  deviceId: r.device_id,
  status: r.status as DeliveryStatus,
  attempts: r.attempts,
  createdAt: r.created_at,
  nextAttemptAt: r.next_attempt_at,
  lastStatus: r.last_status,
  lastError: r.last_error,
  updatedAt: r.updated_at,
});

/** The URL's origin only: its path or query may hold the receiver's token. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
}

/** Newest first. */
export async function listDeliveries(
  db: AnyDb,
  filter: { status?: DeliveryStatus | undefined; limit: number },
): Promise<WebhookDelivery[]> {
  let q = t(db).selectFrom('webhook_deliveries').selectAll();
  if (filter.status) q = q.where('status', '=', filter.status);
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map(toDelivery);
}
